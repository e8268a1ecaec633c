"""What the AppTest files share: start the app, open a page, find a button, a figure or a table,
poll until a condition holds, train to the end, and watch the session's run through its directory."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core import data, pool, runs, windows

from ..conftest import tiny_spec

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def new_app(spec=None, **query) -> AppTest:
    """The app, not run yet, with `spec` in the session and `query` in the address."""
    at = AppTest.from_file(APP, default_timeout=120)
    if spec is not None:
        at.session_state["spec"] = spec
    for key, value in query.items():
        at.query_params[key] = value
    return at


def open_page(page: str, spec=None) -> AppTest:
    """A fresh app on the tiny spec (or `spec`), switched to pages/<page>.py, with no exception."""
    at = new_app(spec or tiny_spec())
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    """The (first) button labelled `label`."""
    return next(b for b in at.button if b.label == label)


def param(at: AppTest, key: str) -> str:
    """One value of the address's query string."""
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def figures(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page by title (Streamlit bolds titles: strip the tags)."""
    out = {}
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        title = fig["layout"].get("title", {}).get("text", "").replace("<b>", "").replace("</b>", "")
        out[title] = fig
    return out


def values(v) -> np.ndarray:
    """A figure array from its JSON: a list, or Plotly's {"dtype", "bdata"[, "shape"]} encoding."""
    if isinstance(v, dict):
        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return out.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else out
    return np.asarray(v)


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The first dataframe on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def loss_points(at: AppTest) -> int:
    """Epochs drawn on the Loss chart (0 when there is none)."""
    fig = figures(at).get("Loss")
    return len(fig["data"][0].get("x", [])) if fig else 0


def status(at: AppTest) -> str:
    """The run's "Status: ..." line, whichever colour it has; "" when there is none."""
    texts = [e.value for e in [*at.info, *at.success, *at.warning, *at.error] if str(e.value).startswith("Status:")]
    return texts[0] if texts else ""


def poll(at: AppTest, until, timeout: float = 90.0) -> None:
    """Rerun the page until `until(at)` holds; fail on an exception or after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return
        time.sleep(0.3)
    raise AssertionError(f"condition not met; status {status(at)!r}")


class SessionRun:
    """The session's run as a test watches it: through its run directory, as the pages do."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.path = runs.default_root() / run_id

    @property
    def spec(self):
        return runs.read_run(self.path)[0]

    def snapshot(self):
        return runs.read_run(self.path)[1]

    @property
    def running(self) -> bool:
        return not (self.path / "run.json").is_file()

    def join(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while self.running and time.time() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        pool.shared().stop(self.run_id, self.path)

    @property
    def windowed(self):
        spec = self.spec
        return windows.make(data.load(spec.data), spec)


def session_run(at: AppTest) -> SessionRun | None:
    """The session's current run, or None before the first Train."""
    run_id = at.session_state["run_id"] if "run_id" in at.session_state else None
    return SessionRun(run_id) if run_id else None


def train_to_the_end(at: AppTest) -> None:
    """Click Train and poll until the session's run has ended."""
    button(at, "Train").click().run()
    poll(at, lambda a: not session_run(a).running)
    at.run()  # the run may have ended after this rerun drew it: draw the finished page
    assert not at.exception, at.exception


def stop_job(at: AppTest) -> None:
    """Stop the session's run, if any, and wait for it to end."""
    job = session_run(at)
    if job is not None:
        job.stop()
        job.join(30)


def record_downloads(monkeypatch) -> dict[str, tuple[str | None, object]]:
    """Deferred download buttons (st.download_button given a function) by their deferred_file_id:
    (file name, the function). AppTest cannot click a download, so a test calls the function itself."""
    seen: dict[str, tuple[str | None, object]] = {}
    real = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = real(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        seen[file_id] = (file_name, data_callable)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return seen


def runs_section(spec, section: str) -> AppTest:
    """A fresh app on `spec`, on the Runs page, with `section` (History, Race, Sweep, Backtest, Import) open."""
    at = new_app(spec)
    at.run()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value(section).run()
    assert not at.exception, at.exception
    return at
