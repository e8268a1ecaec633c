"""The Backtest section of the Runs page: folds through the app's pool, the verdict, the charts."""
from __future__ import annotations

import json
import time

from ..conftest import tiny_spec
from .helpers import button, figures, record_downloads, runs_section, table
from ui import backtest_views


def backtest_page(spec):
    return runs_section(spec, "Backtest")


def _started_job(run_store, timeout: float = 60.0):
    """The backtest whose thread has queued its first fold: the click starts the thread, which plans
    the folds and submits them a moment later (reading the jobs at once raced with it on a busy box)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in list(backtest_views._backtests().values()):
            if job.folds and job.folds[0].run_id and (run_store / job.folds[0].run_id).is_dir():
                return job
        time.sleep(0.05)
    raise AssertionError(f"no backtest queued its first fold within {timeout:.0f} s")


def test_a_backtest_trains_its_folds_and_shows_the_verdict_charts_and_files(run_store, monkeypatch):
    downloads = record_downloads(monkeypatch)
    at = backtest_page(tiny_spec(split={"val": 20, "test": 20}))
    at.number_input(key="backtest_folds").set_value(3).run()
    button(at, "Run the backtest").click().run()
    assert not at.exception, at.exception
    job = _started_job(run_store)
    job.join(180)
    at.run()
    shown = table(at, "model RMSE")
    assert list(shown["fold"]) == ["1", "2", "3", "all"]
    verdict = next(m.value for m in [*at.success, *at.warning] if "folds" in m.value)
    assert verdict.startswith("The model beat persistence in ") and "of 3 folds" in verdict
    titles = set(figures(at))
    assert "Test RMSE per fold" in titles and "Each fold's test block" in titles
    assert len(figures(at)["Test RMSE per fold"]["data"][0]["x"]) == 3
    assert shown.iloc[-1][["OWA", "split 80%"]].notna().all()  # the "all" row showed "None" there
    assert {b.label for b in at.get("download_button")} >= {"backtest.csv", "backtest.json"}
    saved = json.loads(next(f for name, f in downloads.values() if name and name.endswith(".json"))())
    assert saved["seconds"] > 0 and saved["folds"] == 3  # docs/cli.md's keys, "seconds" included
    assert set(at.session_state["session_runs"]) >= {f.run_id for f in job.folds}  # Inspect and Compare offer them


def test_a_setup_too_short_for_the_folds_is_refused_with_the_numbers():
    at = backtest_page(tiny_spec(split={"val": 20, "test": 20}))
    at.number_input(key="backtest_folds").set_value(8).run()
    button(at, "Run the backtest").click().run()
    assert any("too few for 8 folds" in w.value for w in at.warning)


def test_the_all_row_pools_owa_and_coverage_instead_of_showing_none():
    import math

    import pandas as pd

    folds = pd.DataFrame({"test_targets": [100, 300], "owa": [2.0, 1.0], "split_80_coverage": [60.0, 80.0],
                          "aci_80_coverage": [80.0, math.nan]})
    pooled = backtest_views.pooled_scorecard(folds)
    assert pooled == {"OWA": 1.25, "split 80%": 75.0, "ACI 80%": 80.0}  # weighted by test targets; NaN skipped
