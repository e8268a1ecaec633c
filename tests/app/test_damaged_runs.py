"""A run directory damaged on disk (a string RMSE in metrics.json, elapsed_seconds "zzz" in run.json,
text in history.csv) lists in Runs -> History next to the workspace's other runs, opens on Train and
deletes, with no exception: pages never trust a run file's types (core/runfiles.py)."""
from __future__ import annotations

import json

import pandas as pd

from ..conftest import tiny_spec
from .helpers import button, new_app
from .test_hostile_links import plant, trained  # noqa: F401  (the module's tiny trained run)

TOKEN = "damaged-token-123"


def break_files(run_dir) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["test"]["rmse"] = "abc"
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "elapsed_seconds": "zzz"}))
    history = pd.read_csv(run_dir / "history.csv", dtype=str)
    history.loc[0, "loss"] = "abc"
    (run_dir / "history.csv").write_text(history.to_csv(index=False))


def test_a_damaged_run_lists_opens_and_deletes(trained, run_store):  # noqa: F811
    good = plant(trained, run_store, TOKEN, "20260101-000000-aaaaaa")
    bad = plant(trained, run_store, TOKEN, "20260102-000000-bbbbbb", saved_at="2026-01-02T00:00:00")
    break_files(run_store / bad)
    at = new_app(tiny_spec(), ws=TOKEN)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    listed = at.dataframe[0].value["run"].tolist()
    assert good in listed and bad in listed  # one damaged run does not take the history down
    at.selectbox(key="runs_one").set_value(bad).run()
    assert any("a damaged file" in c.value for c in at.caption)  # its status says so
    button(at, "Open on Train").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run_id"] == bad
    shown = [e.value for e in [*at.success, *at.info, *at.warning, *at.error]]
    assert any("elapsed_seconds is 'zzz'" in v for v in shown), shown
    at.switch_page("pages/runs.py").run()
    at.selectbox(key="runs_one").set_value(bad).run()
    at.button(key="runs_delete").click().run()
    assert not at.exception, at.exception
    assert not (run_store / bad).exists() and (run_store / good).is_dir()
