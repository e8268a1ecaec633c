"""The Sweep section of the Runs page: search cells, units, window and learning rate with Optuna.

The search runs in the server as a core.sweep.Sweep whose trials go through the app's worker pool
(so sweeps and single runs share RNNLAB_MAX_WORKERS), each trial an ordinary run of this workspace.
The study lives in a journal file of the run store; Optuna's own Plotly figures draw it.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import charts, describe, runs
from core.errors import sentence
from core.spec import CELLS

from . import address, session_runs, spec_state, views

UNITS = ["8", "16", "32", "64", "128", "16, 16", "32, 32", "64, 32"]
LEARNING_RATES = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2]


@st.cache_resource(show_spinner=False)
def _sweeps() -> dict:
    """The server's sweeps by workspace: a refreshed page finds its sweep again (it runs in the server)."""
    return {}


def _space(spec, disabled: bool = False) -> tuple[dict, list[str]]:
    """The space the widgets describe, and the problems with it (empty when it can run)."""
    space, problems = {}, []
    # The two lists across the page: in half a column at 800 px the chosen items hid behind a fade.
    cells = st.multiselect("Cells", list(CELLS), default=list(CELLS), key="sweep_cells", disabled=disabled,
                           help="Which recurrent cells the search may pick.")
    units = st.multiselect("Units per layer", UNITS, default=["16", "32", "64", "32, 32"], key="sweep_units", disabled=disabled,
                           help="Each choice is one architecture: '32, 32' is two stacked layers of 32.")
    a, b = st.columns(2)
    with a:
        lo, hi = st.slider("Window length", 5, 120, (10, 60), step=5, key="sweep_window", disabled=disabled,
                           help="The search picks a multiple of 5 in this range.")
    with b:
        lr = st.select_slider("Learning rate", LEARNING_RATES, value=(1e-4, 1e-2), key="sweep_lr", disabled=disabled,
                              format_func=lambda v: f"{v:g}", help="Searched on a log scale between the two.")
    if not cells:
        problems.append("pick at least one cell")
    if not units:
        problems.append("pick at least one choice of units")
    if len(cells) > 1:
        space["model.cell"] = {"choices": cells}
    if len(units) > 1:
        space["model.units"] = {"choices": [[int(u) for u in text.split(",")] for text in units]}
    if hi > lo:
        space["window.length"] = {"int": [lo, hi], "step": 5}
    if lr[1] > lr[0]:
        space["train.learning_rate"] = {"float": [lr[0], lr[1]], "log": True}
    fixed = {}
    if len(cells) == 1:
        fixed["model"] = {"cell": cells[0]}
    if len(units) == 1:
        fixed.setdefault("model", {})["units"] = [int(u) for u in units[0].split(",")]
    if hi == lo:
        fixed["window"] = {"length": lo}
    if lr[1] == lr[0]:
        fixed["train"] = {"learning_rate": lr[0]}
    if not space and not problems:
        problems.append("every field has one value: widen a range or pick more choices")
    st.session_state["sweep_fixed"] = fixed
    return space, problems


def sweep_section() -> None:
    """Set up and start a sweep, then watch its trials and Optuna's figures."""
    from core import pool

    spec = spec_state.get_spec()
    workspace = address.workspace()
    current = _sweeps().get(workspace)
    busy = current is not None and current.alive
    st.markdown("Search the architecture on the current setup with **Optuna** (TPE sampler; trials worse than the "
                "median at an epoch are pruned). Every trial is a run here, so History, Compare and Inspect work on "
                "it. The search sees only the **validation** data; the best trial's test score is shown once, at the "
                f"end. Setup: {describe.escape(describe.describe(spec))}")
    # The widgets stay drawn (disabled while a sweep runs): Streamlit forgets a widget's value when it is not drawn.
    space, problems = _space(spec, disabled=busy)
    c1, c2, c3 = st.columns([1, 1, 2])
    trials = c1.number_input("Trials", 2, 200, 12, key="sweep_trials", disabled=busy,
                             help="How many settings to try. Each trains for the setup's epochs, or less when pruned.")
    limit = pool.shared().max_workers
    workers = c2.number_input("At once", 1, limit, min(2, limit), key="sweep_workers", disabled=busy,
                              help=f"Trials that train at the same time (this server allows {limit}: "
                                   "RNNLAB_MAX_WORKERS). Runs of other visitors share the same workers.")
    with c3:
        if busy:
            if st.button("Stop the sweep", icon=":material/stop:", help="No new trials; the ones training stop and are saved."):
                current.stop()
        elif st.button("Start the sweep", type="primary", icon=":material/travel_explore:", disabled=bool(problems),
                       help="Trials appear below as they finish."):
            error = _start(spec, space, int(trials), int(workers), workspace)
            if error:
                st.warning(describe.escape(error), icon=":material/block:")
            else:
                st.rerun()
    if problems and not busy:
        st.caption("To start: " + describe.escape("; ".join(problems)) + ".")
    current = _sweeps().get(workspace)
    if current is not None:
        _live(current)


def _start(spec, space: dict, trials: int, workers: int, workspace: str) -> str | None:
    """Check the space and start the sweep in the server; an error message, or None."""
    from core import data, pool, sweep

    busy = session_runs.busy()
    if busy:
        return busy
    try:
        base = spec.replace(**st.session_state.get("sweep_fixed", {}))
        name = f"app-{workspace[:8]}-{time.strftime('%Y%m%d-%H%M%S')}"
        setup = sweep.plan(base, space, session_runs.root(), trials, name=name)
    except (sweep.SweepError, ValueError) as exc:
        return f"The sweep cannot start: {sentence(str(exc))}"
    _sweeps()[workspace] = setup.start(pool.shared(), min(workers, pool.shared().max_workers), workspace=workspace,
                                       csv_root=str(data.uploads_dir().resolve()), storage_text="journal")
    return None


TRIAL_FACTS = ("trial", "state", "value", "seconds", "pruned at epoch", "run", "note")
TRIAL_FORMATS = {"value": "{:.4f}", "seconds": "{:.1f}", "pruned at epoch": "{:.0f}"}


def trials_frame(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The trials table as the page shows it: what each trial is (trial, state, its score, then its settings)
    first, so the settings stay on screen at 1400 px, then seconds, run and note; a column with nothing in it
    is left out (the note is empty unless a trial failed) and a missing value is blank, not "None"."""
    settings = [c for c in table.columns if c not in TRIAL_FACTS]
    order = ["trial", "state", "value", *settings, "seconds", "pruned at epoch", "run", "note"]
    out = table[[c for c in order if c in table.columns]].copy()
    for column in list(out.columns):
        empty = out[column].isna() | (out[column].astype(str).str.strip() == "")
        if empty.all():
            out = out.drop(columns=column)
        elif empty.any() or column in TRIAL_FORMATS:
            form = TRIAL_FORMATS.get(column, "{}")
            out[column] = [("" if e else form.format(v)) for v, e in zip(out[column], empty)]
    return out.rename(columns={"value": metric})


def _live(job) -> None:
    running = job.alive

    @st.fragment(run_every=1.0 if running else None)
    def live() -> None:
        from core import sweep

        study = job.study
        table = pd.DataFrame(sweep.trials_table(study))
        counted = len(sweep.counted(study))
        training = dict(job.running)
        for run_id in training.values():
            session_runs.remember(run_id)
        state = ("stopped" if job.stopped else "running") if job.alive else ("stopped" if job.stopped else "done")
        st.progress(min(1.0, counted / job.trials),
                    text=f"Sweep {study.study_name}: {counted} of {job.trials} trials ended · {len(training)} "
                         f"training now · {state} · objective {job.metric} (validation)")
        # The loss curves of the trials training now and the latest ones that ended (up to 8): a chart that
        # only showed running trials was empty between trials and before each one's first epoch.
        recent = [r for r in sweep.trials_table(study) if r["run"]][-8:]
        histories = {}
        for row in recent:
            history = runs.read_history(session_runs.root() / row["run"])
            if history and history.get("loss"):
                histories[f"trial {row['trial']} ({'training' if row['trial'] in training else row['state']})"] = history
        if histories:
            st.plotly_chart(charts.loss_overlay_figure(histories), width="stretch", key=f"sweep_loss_{len(histories)}")
        if len(table):
            st.dataframe(trials_frame(table, job.metric), hide_index=True, width="stretch",
                         column_config={"state": st.column_config.TextColumn(width="small"),
                                        "note": st.column_config.TextColumn(width="large")})
        if running and not job.alive:
            st.rerun()

    live()
    if not job.alive:
        _results(job)


def _results(job) -> None:
    """Optuna's figures, the best trial's settings (loadable) and its test score with the verdict."""
    from core import sweep

    top = sweep.best(job.study)
    if top is None:
        st.info("No trial completed, so there is no best setting. Look at the notes in the table above.")
        return
    settings = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in top["params"].items())
    st.success(f"Best: trial {top['number']}, {job.metric} {top['value']:.4f} (run {top['run_id']}) with {describe.escape(settings)}.",
               icon=":material/emoji_events:")
    if st.button("Use the best settings", icon=":material/tune:", key="sweep_use_best",
                 help="Load the best trial's settings into the editor (Data and Model pages)."):
        spec_state.set_spec(sweep.apply(job.base, top["params"]))
        spec_state.forget_widgets()
        st.session_state["sweep_loaded"] = True
        st.rerun()  # the setup line above and the sidebar show the new settings at once
    if st.session_state.pop("sweep_loaded", False):
        st.success("The best settings are now the current setup (Data and Model pages).", icon=":material/check:")
    path = runs.find(top["run_id"], session_runs.root()) if top["run_id"] else None
    report = sweep.test_report(path) if path is not None else None
    if report is not None:
        test = report["test"]
        if "rmse" in test:
            st.markdown(f"**Test, used once now:** RMSE {test['rmse']:.4f} against persistence "
                        f"{report['baselines'].get('naive', {}).get('rmse', float('nan')):.4f}: {describe.escape(report['verdict'])}.")
        else:
            st.markdown(f"**Test, used once now:** {describe.escape(report['verdict'])}.")
    _optuna_figures(job.study)


def _optuna_figures(study) -> None:
    """Optuna's own Plotly figures; each needs enough completed trials, and says so otherwise."""
    import optuna.visualization as vis

    figures = [("Optimization history", vis.plot_optimization_history), ("Parallel coordinates",
               vis.plot_parallel_coordinate), ("Parameter importances", vis.plot_param_importances),
               ("Slice plot", vis.plot_slice)]
    done = sum(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False))
    if done < 5:
        st.caption(f"Only {done} trials completed: these figures say little yet (importances especially need more "
                   "trials). Run a longer sweep to trust them.")
    tabs = st.tabs([name for name, _ in figures])
    for tab, (name, plot) in zip(tabs, figures):
        with tab:
            try:
                fig = views.figure_once((f"sweep-{name}", study.study_name, done), lambda plot=plot: plot(study))
                fig.update_layout(height=420, legend=charts.LEGEND)
                if name == "Optimization history":  # trial numbers are whole: no ticks at 0.2, 0.4, ...
                    fig.update_xaxes(tickformat="d", dtick=max(1, -(-len(study.trials) // 8)))
                st.plotly_chart(fig, width="stretch", key=f"sweep_fig_{name}")
            except (ValueError, RuntimeError) as exc:  # e.g. importances need two completed trials that differ
                st.caption(f"{name}: not enough completed trials yet ({describe.escape(exc)}).")
