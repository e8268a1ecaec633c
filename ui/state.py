"""Session state for the pages: the spec, widgets bound to it, cached data, the current run.

The spec in `st.session_state["spec"]` is the single source of truth. Widgets are bound to it
through `bind`, which seeds the widget's key from the spec whenever Streamlit has dropped the key
(it does so one run after a page switch), so values survive moving between pages.
"""
from __future__ import annotations

import dataclasses
import os
import re
import secrets
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import streamlit as st

from core import data, runs, windows
from core.spec import ExperimentSpec, SpecError

SPEC_KEY, RUN_KEY = "spec", "run_id"
WS_PARAM = "ws"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def workspace_token() -> str:
    """This visitor's workspace token: from ?ws= in the URL, or a new random one.

    Runs are stored with a hash of it, and the app lists, opens and deletes only the runs of the
    session's workspace, so on a shared deployment no visitor sees another's runs. The token
    stays in the URL, so a refresh or a bookmark keeps the runs; sharing a setup uses a link
    without it (see share_link).
    """
    token = st.session_state.get("workspace")
    if token is None:
        given = st.query_params.get(WS_PARAM)
        token = given if given and _TOKEN.match(given) else secrets.token_urlsafe(12)
        st.session_state["workspace"] = token
    return token


def workspace() -> str:
    """The workspace id runs of this session are stored under (a hash of the token)."""
    return runs.workspace_id(workspace_token())


def through_app() -> None:
    """Run every page through app.py's st.navigation (call first on each page).

    With a pages/ folder next to app.py, Streamlit serves a server's first script run the old
    multipage way until some run has called st.navigation: a first visitor with a deep link
    (/presets?present=1) got pages/presets.py on its own, without app.py (no sidebar, no page
    settings), and so did everyone after them until someone opened the root. Here such a run
    turns the old way off and runs app.py in its place, within the same run (so a click is not lost),
    and app.py's st.navigation draws this page.
    """
    import runpy

    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
        st.stop()


def sentence(message: str) -> str:
    """An error message as a sentence: no spec field prefix, a capital first letter, a full stop."""
    message = re.sub(r"^(data|window|split|model|train)\.[\w.\[\]]+: ", "", str(message).strip())
    first = message.split(" ", 1)[0]
    if first.isalpha():  # "the data has ..." -> "The data has ...", but never "prices.csv" -> "Prices.csv"
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def default_spec() -> ExperimentSpec:
    """$RNNLAB_DEFAULT_SPEC (a spec JSON file) if set and valid, else the built-in defaults."""
    path = os.environ.get("RNNLAB_DEFAULT_SPEC")
    if not path:
        return ExperimentSpec()
    try:
        return ExperimentSpec.from_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SpecError) as exc:
        st.error(f"RNNLAB_DEFAULT_SPEC={path} could not be used ({exc}); starting from the defaults.")
        return ExperimentSpec()


def get_spec() -> ExperimentSpec:
    """The session's spec. A new session opened on a share link starts from the link's setup; one
    opened on ?run=<id> (a refresh) from that run's."""
    if SPEC_KEY not in st.session_state:
        st.session_state[SPEC_KEY] = _spec_of_link() or _spec_of_url_run() or default_spec()
    return st.session_state[SPEC_KEY]


def _spec_of_link() -> ExperimentSpec | None:
    """The setup in the URL's query parameters ("model.cell=GRU&..."): a share link, or this
    visitor's own address after a refresh (the URL always carries the current setup)."""
    params = {key: st.query_params[key] for key in st.query_params if "." in key}
    if not params:
        return None
    shared = WS_PARAM not in st.query_params  # a refresh has the visitor's ws; a share link never does
    try:
        spec = check_outside_spec(ExperimentSpec.from_query(params))
    except SpecError as exc:
        for key in params:
            del st.query_params[key]
        why = sentence(str(exc))
        if exc.field:  # name the field, so a person knows which value in the link to fix
            why = f"{exc.field}: {why[:1].lower()}{why[1:]}"
        st.session_state["link_message"] = ("error", f"The link's setup could not be used: {why} "
                                                     "Starting from the defaults instead.")
        return None
    if shared:
        from ui.views import describe

        st.session_state["link_message"] = ("ok", f"Opened a shared setup: {describe(spec)}.")
    return spec


def _sync_spec_params() -> None:
    """Write the current setup into the URL (only fields that differ from the defaults), so a
    refresh or a bookmark keeps it."""
    wanted = get_spec().to_query()
    present = {key: st.query_params[key] for key in st.query_params if "." in key}
    if present == wanted:
        return
    for key in present:
        if key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if present.get(key) != value:
            st.query_params[key] = value


def share_link(spec: ExperimentSpec) -> str:
    """A link that opens the app with `spec`'s whole configuration (and not this visitor's runs)."""
    from urllib.parse import urlencode

    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    query = urlencode(spec.to_query())
    return base + ("?" + query if query else "")


def _spec_of_url_run() -> ExperimentSpec | None:
    run = current_run()  # reattaches the ?run= job (or saved run) to this session
    if run is not None:
        return run.spec
    broken = st.session_state.get("interrupted_run")
    path = runs.interrupted(broken, run_root()) if broken else None
    try:
        return ExperimentSpec.from_json((path / "spec.json").read_text()) if path is not None else None
    except (OSError, SpecError):
        return None


def set_spec(spec: ExperimentSpec) -> None:
    st.session_state[SPEC_KEY] = spec


def bind(widget: Callable[..., Any], section: str, name: str, label: str, **kwargs) -> Any:
    """Draw `widget` for spec.<section>.<name> and return its value.

    The value is written back by `update_spec`; `kwargs` go to the widget (help, min_value, ...).
    A `to_widget` kwarg converts the spec value for the widget (e.g. a list to text); `key`
    overrides the widget key (default "w.<section>.<name>").
    """
    key = kwargs.pop("key", f"w.{section}.{name}")
    to_widget = kwargs.pop("to_widget", lambda v: v)
    if key not in st.session_state:
        st.session_state[key] = to_widget(getattr(getattr(get_spec(), section), name))
    return widget(label, key=key, **kwargs)


def update_spec(**sections: dict[str, Any]) -> ExperimentSpec | None:
    """Apply widget values to the spec; show the SpecError and keep the old spec if they don't fit."""
    try:
        spec = get_spec().replace(**sections)
    except SpecError as exc:
        st.error(f"{sentence(str(exc))} The previous setting is kept.")
        return None
    set_spec(spec)
    return spec


TICKER_TTL = 3600  # seconds a downloaded ticker is reused in memory before asking again


@st.cache_data(show_spinner="Loading data...", max_entries=8, ttl=TICKER_TTL)
def _load_frame(data_json: str) -> pd.DataFrame:
    # Every read of a CSV in the app goes through here, so the upload-folder check sits where the
    # data is read: a spec that arrived by any route (link, import, bundle, ?run=, a preset) is covered.
    return data.load(ExperimentSpec.from_json(data_json).data, require_columns=False, csv_root=uploads_dir())


def load_frame(spec: ExperimentSpec) -> pd.DataFrame:
    """The spec's data, any columns (cached per data section). Raises DataError."""
    return _load_frame(ExperimentSpec(data=spec.data).to_json())


DATA_WIDGETS = ("w.data.target", "w.data.features", "w.data.date_column")


def use_data(**fields: Any) -> str | None:
    """Switch the spec to new data (a dataset, a ticker, a file) if it loads; else keep the old.

    The target and inputs carry over when the new data has those columns; otherwise the likely
    target (a close/price/value column) becomes target and only input. Returns an error message,
    or None when the switch worked.
    """
    spec = get_spec()
    defaults = {"name": None, "ticker": None, "path": None, "date_column": None, "start": None, "end": None,
                "params": {}}
    st.session_state.pop("data_error", None)
    try:
        candidate = spec.replace(data={**defaults, **fields})
        frame = load_frame(candidate)
    except (data.DataError, SpecError) as exc:
        st.session_state["data_error"] = exc  # the exception itself, e.g. a DateColumnError's columns
        return str(exc)
    numeric = data.numeric_columns(frame)
    builtin = data.BUILTINS.get(candidate.data.name or "") if candidate.data.source == "builtin" else None
    target = spec.data.target if spec.data.target in numeric else (builtin.target if builtin else
                                                                   data.default_target(frame))
    features = [f for f in spec.data.features if f in numeric] or [target]
    try:
        set_spec(candidate.replace(data={"target": target, "features": features}))
    except SpecError as exc:  # e.g. a column name with a control character in it
        st.session_state["data_error"] = exc
        return str(exc)
    for key in DATA_WIDGETS:
        st.session_state.pop(key, None)
    return None


def check_outside_spec(spec: ExperimentSpec) -> ExperimentSpec:
    """A spec that came from outside (a link, an imported file, a bundle) may name a CSV only if it
    was uploaded to this app: otherwise a link could make the server read any file it can see.
    Raises SpecError; returns the spec."""
    if spec.data.source == "csv" or spec.data.path:
        try:
            data.check_csv_path(spec.data.path, uploads_dir())
        except data.DataError as exc:
            raise SpecError("data.path", str(exc)) from None
    return spec


def uploads_dir() -> Path:
    """Where uploaded CSV files are kept, so a run's spec.data.path can be read again."""
    from core import tickers

    return tickers.cache_dir().parent / "uploads"


@st.cache_data(show_spinner="Making windows...", max_entries=8)
def _windowed(spec_json: str) -> windows.Windowed:
    spec = ExperimentSpec.from_json(spec_json)
    return windows.make(load_frame(spec), spec)


def windowed(spec: ExperimentSpec) -> windows.Windowed:
    """The spec's windows (cached per data, window and split sections, the mode, the task, the
    embedding, and the batch size, which stateful windows come in whole multiples of). Raises DataError."""
    from core.spec import ModelSpec, TrainSpec

    m = spec.model
    key = ExperimentSpec(data=spec.data, window=spec.window, split=spec.split,
                         model=ModelSpec(mode=m.mode, task=m.task, embedding_dim=m.embedding_dim),
                         train=TrainSpec(batch_size=spec.train.batch_size, loss=spec.train.loss))
    return _windowed(key.to_json())


def run_root() -> Path:
    return runs.default_root()


class Run:
    """A run of this workspace, read from its run directory: live while a worker trains it, then
    finished. The page never holds the training itself, so a refresh, another tab or another
    server process sees exactly the same run."""

    def __init__(self, path: Path):
        self.path, self.run_id = Path(path), Path(path).name
        self.spec = _run_spec(str(self.path), _mtime(self.path / "spec.json"))

    def _loaded(self):
        return _load_run(str(self.path), *(_mtime(self.path / n) for n in _WATCHED))

    def snapshot(self):
        snap = self._loaded()[1]
        if snap.status == "interrupted" and _pool_knows(self.run_id):
            # its worker just ended without a word; the pool is writing how (failed, stopped): keep polling
            return dataclasses.replace(snap, status="running", message="the worker ended; reading how the run ended")
        return snap

    def frame(self, snap=None) -> pd.DataFrame:
        return self._loaded()[2]

    def stop(self) -> None:
        from core import pool

        pool.shared().stop(self.run_id, self.path)


LiveRun = SavedRun = Run  # the names the pages knew; a run is read the same way live or saved

def _pool_knows(run_id: str) -> bool:
    from core import pool

    return pool.shared().knows(run_id)


_WATCHED = ("run.json", "live.json", "history.csv", "predictions.csv", "metrics.json", "forecast.csv")


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=64, show_spinner=False)
def _run_spec(path: str, mtime: int) -> ExperimentSpec:
    return ExperimentSpec.from_json((Path(path) / "spec.json").read_text())


@st.cache_resource(max_entries=32, show_spinner=False)
def _load_run(path: str, *mtimes: int):
    """runs.load, again only when one of the run's files changed (the page polls every second).
    A run whose files are gone or damaged (deleted, a failed save on a full disk) reads as failed."""
    try:
        return runs.load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        from core.snapshot import Snapshot

        gone = Snapshot(run_id=Path(path).name, status="failed",
                        message=f"this run's files are gone or damaged ({exc.__class__.__name__}); train again")
        return None, gone, pd.DataFrame(columns=runs.PREDICTION_COLUMNS)


@st.cache_resource(show_spinner=False)
def _attached(root: str) -> list[str]:
    from core import pool

    return pool.shared().attach(root)


def attach_workers() -> None:
    """Once per server process and run store: take up the runs a previous server left training
    (their workers outlive it) or queued. Runs whose worker is gone read as interrupted."""
    _attached(str(run_root().resolve()))


def find_run(run_id: str | None) -> Run | None:
    """A run of this workspace by id (live or saved), or None: another visitor's run is not found,
    not refused."""
    path = run_root() / (run_id or "")
    if not runs.valid_id(run_id) or not path.is_dir() or runs.owner(path) != workspace():
        return None
    if not ((path / "run.json").is_file() or (path / "live.json").is_file()):
        return None  # only started.json: a run of the days before workers, interrupted (see current_run)
    try:
        return Run(path)
    except (OSError, ValueError, KeyError):
        return None


def current_run() -> Run | None:
    """This session's run: the one it trained or opened, or the run named by ?run= in the URL."""
    run_id = st.session_state.get(RUN_KEY) or st.query_params.get("run")
    if not run_id:
        return None
    run = find_run(run_id)
    if run is None:
        broken = runs.interrupted(run_id, run_root())
        if broken is not None and runs.owner(broken) == workspace():
            st.session_state["interrupted_run"] = run_id
        else:
            st.session_state["missing_run"] = run_id
        st.session_state.pop(RUN_KEY, None)
        return None
    if st.session_state.get(RUN_KEY) != run_id:
        st.session_state[RUN_KEY] = run_id
        remember_run(run_id)
    return run


def keep_run_in_url() -> None:
    """Put this session's workspace token, run id and setup in the URL (?ws=, ?run=, ?model.cell=...),
    which a page switch clears."""
    _sync_spec_params()
    token = workspace_token()
    if st.query_params.get(WS_PARAM) != token:
        st.query_params[WS_PARAM] = token
    run_id = st.session_state.get(RUN_KEY)
    if run_id is not None and st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id


def start_training(spec: ExperimentSpec) -> str | None:
    """Queue a run of `spec` in the worker pool unless this session has one going. The data and
    windows are checked here first, so a mistake is reported before any worker starts. Returns an
    error message or None."""
    from core import pool

    prepared, error = _prepare(spec)
    if error:
        return error
    run_id = runs.new_run_id()
    try:
        pool.shared().submit(pool.Request(run_id, str((run_root() / run_id).resolve()), spec.to_dict(), workspace(),
                                          str(uploads_dir().resolve())))
    except OSError as exc:  # the run store cannot be written (a full disk, no permission)
        return (f"The run could not be started: {run_root()} cannot be written ({exc.strerror or exc}). Free some "
                "space or set RNNLAB_RUNS_DIR to another folder.")
    st.session_state[RUN_KEY] = run_id
    st.query_params["run"] = run_id
    remember_run(run_id)
    return None


def session_runs() -> list[str]:
    """Run ids trained in this browser session, or reopened in it from the URL, newest first (the
    runs one may compare with)."""
    return list(st.session_state.get("session_runs", []))


def remember_run(run_id: str) -> None:
    ids = [r for r in st.session_state.get("session_runs", []) if r != run_id]
    st.session_state["session_runs"] = [run_id, *ids][:20]


def layer_table(spec: ExperimentSpec) -> tuple[list[dict], int]:
    """(rows of name/type/output shape/parameters, total parameters) for the spec's model, counted
    from the spec (core/layers.py): the server draws it without importing TensorFlow."""
    from core import layers

    classes = vocab = 0
    if spec.model.task == "classification" or spec.model.embedding_dim:
        try:  # the class count and the vocabulary come from the data
            w = windowed(spec)
            classes, vocab = len(w.classes or ()), w.vocab
        except ValueError:
            pass  # the Data page says what is wrong with the data
    rows = layers.table(spec, (spec.window.length, len(spec.data.features)), classes, vocab)
    return rows, sum(r["parameters"] for r in rows)


def forget_widgets() -> None:
    """Drop the widget keys bound to the spec, so every widget shows the (new) spec's values."""
    for key in [k for k in st.session_state if str(k).startswith("w.")]:
        del st.session_state[key]


def open_run(run_id: str) -> bool:
    """Make a run of this workspace the session's current run (Train shows it, Inspect looks into it)."""
    if find_run(run_id) is None:
        return False
    st.session_state[RUN_KEY] = run_id
    st.query_params["run"] = run_id
    remember_run(run_id)
    return True


def forget_run(run_id: str) -> None:
    """After a delete: the session no longer shows or offers that run."""
    if st.session_state.get(RUN_KEY) == run_id:
        st.session_state.pop(RUN_KEY, None)
        st.query_params.pop("run", None)
    st.session_state["session_runs"] = [r for r in session_runs() if r != run_id]


def training_busy() -> str | None:
    """Why no new training may start now (one job or race at a time per session), or None."""
    run = current_run()
    race = st.session_state.get("cell_race")
    if (run is not None and run.snapshot().running) or (race is not None and race.running):
        return "A training run is already in progress. Stop it, or wait for it to finish, before you start another."
    return None


def _prepare(spec: ExperimentSpec) -> tuple[windows.Windowed | None, str | None]:
    """The spec's windows for a new training, or why none may start (one at a time; bad data)."""
    busy = training_busy()
    if busy:
        return None, busy
    try:
        return windowed(spec), None
    except ValueError as exc:  # DataError, SpecError, or a library error on odd data
        return None, sentence(str(exc))


def start_race(spec: ExperimentSpec) -> str | None:
    """Start the cell race (SimpleRNN, LSTM, GRU) on `spec`. Returns an error message or None."""
    from core.race import CellRace

    prepared, error = _prepare(spec)
    if error:
        return error
    race = CellRace(spec, prepared, run_root(), workspace(), csv_root=str(uploads_dir())).start()
    st.session_state["cell_race"] = race
    return None


def import_model(name: str, data: bytes) -> str:
    """Save an uploaded .keras model as a run evaluated on the current setup; returns its run id.
    Raises runs.ImportRefused."""
    import tempfile

    from core.runs import new_run_id

    runs.check_size(len(data), "model")  # before the data is prepared
    spec = get_spec()
    try:
        prepared = windowed(spec)
    except ValueError as exc:
        raise runs.ImportRefused(f"the current setup's data cannot be prepared: {sentence(str(exc))}") from None
    run_id = new_run_id()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        runs.import_model(path, spec, prepared, run_root() / run_id, run_id, workspace())
    remember_run(run_id)
    return run_id


def import_bundle(data: bytes) -> str:
    """Add an uploaded run bundle (.zip) to this workspace's runs; returns its new run id."""
    from core.runs import new_run_id

    run_id = runs.import_bundle(data, run_root(), workspace(), new_run_id(), csv_root=uploads_dir())
    remember_run(run_id)
    return run_id
