"""The Backtest section of the Runs page: the current setup refitted on K walk-forward folds.

The folds train through the app's worker pool (in parallel up to RNNLAB_MAX_WORKERS), each an
ordinary run of this workspace; a thread of the server waits for them, so a refresh finds the
backtest again. Stop ends its queued folds at once and its training ones after their batch, and
the results of the folds that finished are shown. Results: a row per fold against every baseline, the verdict, two charts, and
backtest.csv / backtest.json to download.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, data, describe, runs
from core.backtest_job import BacktestJob
from core.baselines import HELP, NAMES, PERSISTENCE, STATISTICAL

# Per fold, from each fold's metrics.json (docs/scorecard.md): OWA and the 80% coverage of each interval method.
SCORECARD_COLUMNS = {"OWA": "owa", "split 80%": "split_80_coverage", "ACI 80%": "aci_80_coverage",
                     "scaled 80%": "scaled_80_coverage"}
SCORECARD_HELP = {"OWA": "sMAPE and MASE relative to persistence's, averaged: below 1 beats persistence.",
                  "split 80%": "test coverage (%) of the split-conformal 80% band",
                  "ACI 80%": "test coverage (%) of the adaptive-conformal (ACI) 80% band",
                  "scaled 80%": "test coverage (%) of the volatility-scaled 80% band"}
from core.errors import sentence

from . import address, loads, session_runs, spec_state


@st.cache_resource(show_spinner=False)
def _backtests() -> dict:
    """The server's backtests by workspace."""
    return {}


def backtest_section() -> None:
    from core import pool

    spec = spec_state.get_spec()
    workspace = address.workspace()
    job = _backtests().get(workspace)
    st.markdown("A **walk-forward backtest** asks whether one good split was luck: the setup is trained again on "
                "K folds, each later than the last. Fold k trains on everything before its origin, validates on the "
                "block after it and tests on the next block, so the test blocks follow one another to the end of "
                f"the data. Setup: {describe.escape(describe.describe(spec))}")
    if spec.model.task == "classification":
        st.info("Backtests score forecasts of values; this setup classifies.", icon=":material/info:")
        return
    busy = job is not None and job.alive
    a, b = st.columns([1, 3], vertical_alignment="bottom")  # [1, 2, 3] cut the button to "Run the backt…" at 800 px
    k = a.number_input("Folds", 2, 8, 4, key="backtest_folds", disabled=busy,
                       help="How many test blocks, each the size of this setup's test split, walk back from the end.")
    if busy:
        if b.button("Stop the backtest", icon=":material/stop:", disabled=job.stopped,
                    help="Folds still queued end at once; folds training stop after their batch and are saved."):
            job.stop()
        start = False
    else:
        start = b.button("Run the backtest", type="primary", icon=":material/fast_rewind:",
                         help=f"Trains {int(k)} runs, up to {pool.shared().max_workers} at once (RNNLAB_MAX_WORKERS).")
    if start:
        error = _start(spec, int(k), workspace)
        if error:
            st.warning(describe.escape(error), icon=":material/block:")
        else:
            st.rerun()
    if job is not None:
        _live(job)


def _start(spec, folds: int, workspace: str) -> str | None:
    from core import backtest, pool

    busy = session_runs.busy()
    if busy:
        return busy
    try:
        plan = backtest.plan(spec, loads.load_frame(spec), folds)
    except ValueError as exc:  # DataError: too short, times of day; SpecError
        return f"The backtest cannot run: {sentence(str(exc))}"
    _backtests()[workspace] = BacktestJob(plan, pool.shared(), session_runs.root(), spec, workspace,
                                          str(data.uploads_dir().resolve())).start()
    return None


def _live(job: BacktestJob) -> None:
    running = job.alive

    @st.fragment(run_every=1.0 if running else None)
    def live() -> None:
        root = session_runs.root()
        rows = []
        for fold in job.folds:
            snap = runs.read_run(root / fold.run_id)[1] if fold.run_id and (root / fold.run_id).is_dir() \
                and runs.has_state(root / fold.run_id) else None
            if fold.run_id:
                session_runs.remember(fold.run_id)
            rows.append({"fold": fold.number, "trains before": fold.origin, "tests": f"{fold.test_start} to {fold.end}",
                         "training targets": fold.train_targets, "status": snap.message if snap else "queued",
                         "run": fold.run_id})
        done = sum(1 for f in job.folds if f.run_id and runs.has_ended(root / f.run_id))
        state = " · stopping" if job.stopped and job.alive else " · stopped" if job.stopped else ""
        st.progress(done / len(job.folds), text=f"Backtest {job.id}: {done} of {len(job.folds)} folds done{state}")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if job.error:
            st.error(f"The backtest stopped: {describe.escape(job.error)}")
        if running and not job.alive:
            st.rerun()

    live()
    if not job.alive and not job.error:
        _results(job)


def _finished(job: BacktestJob) -> list:
    """The folds whose run finished (after a Stop, some did not)."""
    root = session_runs.root()
    out = []
    for fold in job.folds:
        try:
            if fold.run_id and runs.read_run(root / fold.run_id)[1].status == "finished":
                out.append(fold)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def pooled_scorecard(table: pd.DataFrame) -> dict[str, float]:
    """The 'all' row's OWA and coverages: the folds' values weighted by their test targets, as the row's
    other scores are (a pooled coverage is exactly that). Without it the row showed "None" in each."""
    weights = table["test_targets"].to_numpy(float)
    out = {}
    for label, column in SCORECARD_COLUMNS.items():
        if column not in table:
            continue
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        ok = np.isfinite(values) & (weights > 0)
        if ok.any():
            out[label] = float(np.sum(weights[ok] * values[ok]) / np.sum(weights[ok]))
    return out


def _results(job: BacktestJob) -> None:
    from core import backtest

    root = session_runs.root()
    folds = _finished(job) if job.stopped else job.folds
    if job.stopped:
        st.warning(f"The backtest was stopped: {len(folds)} of {len(job.folds)} folds finished"
                   + (", and the results below are theirs only." if folds else ", so there is nothing to score. "
                      "Run it again to get a verdict."), icon=":material/stop_circle:")
        if not folds:
            return
    table, summary = backtest.results(folds, root, job.seconds)
    wins = summary["wins"]
    good = wins[PERSISTENCE] > len(table) / 2 and (wins["best_statistical"] or 0) > len(table) / 2
    (st.success if good else st.warning)(describe.escape(summary["verdict"]), icon=":material/balance:")
    shown_baselines = {NAMES[k]: k for k in (PERSISTENCE, *STATISTICAL)}  # their RMSE; what each is: core/baselines.py
    shown = pd.DataFrame({"fold": table["fold"], "tests": table["test_start"] + " to " + table["end"],
                          "model RMSE": table["rmse"]}
                         | {label: table.get(f"{k}_rmse") for label, k in shown_baselines.items()}
                         | {"model MASE": table["mase"], "direction %": table["direction"]}
                         | {label: table[c] for label, c in SCORECARD_COLUMNS.items() if c in table})
    overall = ({"fold": "all", "tests": f"{table['test_start'].iloc[0]} to {table['end'].iloc[-1]}",
                "model RMSE": summary["model"].get("rmse")}
               | {label: summary["baselines"].get(k, {}).get("rmse") for label, k in shown_baselines.items()}
               | {"model MASE": summary["model"].get("mase"), "direction %": summary["model"].get("direction")}
               | pooled_scorecard(table))
    shown = pd.concat([shown.astype({"fold": str}), pd.DataFrame([overall])], ignore_index=True)
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(
                     format="%.4f", help=f"RMSE of {c}: {HELP[shown_baselines[c]]}" if c in shown_baselines else None)
                     for c in ("model RMSE", *shown_baselines, "model MASE")}
                 | {"direction %": st.column_config.NumberColumn(format="%.1f")}
                 | {label: st.column_config.NumberColumn(format="%.3f" if label == "OWA" else "%.0f", help=SCORECARD_HELP[label])
                    for label in SCORECARD_COLUMNS})
    st.caption("RMSE in the target's units, on each fold's own test block; 'all' pools the folds (RMSE from the "
               f"squared errors, the rest weighted by targets). {' and '.join(NAMES[k] for k in STATISTICAL)} are "
               "fitted on each fold's training rows.")
    frames = {}
    for fold in folds:
        frame = runs.read_predictions(root / fold.run_id)
        if frame is not None:
            frames[fold.number] = frame[frame["split"] == "test"]
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.backtest_figure(frames, job.spec.data.target), width="stretch", key="backtest_chart")
    right.plotly_chart(charts.fold_error_figure(table), width="stretch", key="backtest_errors")
    row = st.container(horizontal=True)
    row.download_button("backtest.csv", table.to_csv(index=False).encode(), f"{job.id}.csv", "text/csv",
                      icon=":material/download:")
    row.download_button("backtest.json", lambda: backtest.to_json(summary).encode(),
                        f"{job.id}.json", "application/json", icon=":material/download:")
