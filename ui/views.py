"""Small pieces of UI that more than one page draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, data, describe, runs
from core.describe import escape
from core.errors import sentence
from core.spec import ExperimentSpec, SpecError
from ui import data_views, loads, scorecard_views, session_runs

MIN_EVAL_TARGETS = 30  # fewer validation or test targets than this make metrics noise
STATUS_STYLE = {runs.QUEUED: st.info, runs.RUNNING: st.info, runs.FINISHED: st.success, runs.STOPPED: st.warning,
                runs.FAILED: st.error, runs.INTERRUPTED: st.warning}


def sticky_choice(label: str, options: list[str], key: str, help: str | None = None) -> str:
    """A segmented control whose choice survives page switches (Streamlit drops widget keys one run
    after their widget disappears), and where clicking the chosen segment keeps it chosen."""
    saved_key = f"{key}-saved"
    saved = st.session_state.get(saved_key, options[0])
    if st.session_state.get(key) is None:
        st.session_state[key] = saved

    def keep() -> None:
        if st.session_state.get(key) is None:  # a click on the active segment deselects it
            st.session_state[key] = st.session_state.get(saved_key, options[0])
        st.session_state[saved_key] = st.session_state[key]

    choice = st.segmented_control(label, options, key=key, on_change=keep, help=help) or saved
    st.session_state[saved_key] = choice
    return choice


def setup_summary(spec: ExperimentSpec) -> None:
    st.markdown(describe.describe(spec, bold=True))
    cols = st.columns(2)
    cols[0].page_link("pages/data.py", label="Change data and window", icon=":material/table_chart:")
    cols[1].page_link("pages/model.py", label="Change model and training", icon=":material/account_tree:")


def preparation_error(spec: ExperimentSpec, model: bool = True) -> str | None:
    """Why the spec cannot train on its data, or None when it can: the windows cannot be cut or are
    over RNNLAB_MAX_WINDOW_MB, or (with `model`) the model is over RNNLAB_MAX_MODEL_PARAMS."""
    try:
        loads.preflight(spec) if model else loads.shapes(spec)
    except ValueError as exc:  # DataError, SpecError, or a library error on odd data
        return sentence(str(exc))
    return None


def data_preview(spec: ExperimentSpec, explain: bool = False, show_error: bool = True) -> None:
    """The target series with its train/val/test segments, and the shapes the network gets.

    `explain` adds the per-split table and one window drawn as a heatmap (the Data page). When the
    windows cannot be made, the series is still drawn, then the reason (unless `show_error` is off).
    Without `explain` (the Train page) a model over the parameter cap is reported here too.
    """
    try:
        frame = loads.load_frame(spec)
    except (data.DataError, SpecError) as exc:
        if show_error:
            st.error(escape(sentence(str(exc))))
        return
    error = preparation_error(spec, model=False)
    bounds = None
    if error is None:
        found = loads.shapes(spec)
        bounds = {s: found.first[s] for s in ("val", "test")}
    if spec.data.target in frame.columns:
        st.plotly_chart(charts.series_figure(frame[spec.data.target], bounds), width="stretch", key="series_chart")
    if error is None and not explain:
        error = preparation_error(spec)
    if error is not None:
        if show_error:
            st.error(escape(error))
        return
    if explain:
        data_views.shape_panel(spec, found)
    else:
        st.caption(found.shape_text())
    small = {s: n for s, n in found.counts.items() if s != "train" and n < MIN_EVAL_TARGETS}
    if small:
        st.warning(" and ".join(f"{s} has only {n} target{'s' if n != 1 else ''}" for s, n in small.items())
                   + f": metrics on so few points are mostly noise. Aim for at least {MIN_EVAL_TARGETS}.")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def progress(snap) -> None:
    """Progress bar 'Epoch x of N' with elapsed time and ETA, and the status line."""
    if snap.queued:
        st.progress(0.0, text=f"Queued · {snap.queue_position or 1} of {snap.queue_length or 1} waiting for a "
                              "free worker")
        from core import pool

        at_once = pool.shared().max_workers  # what the container fits (core/container.py) or RNNLAB_MAX_WORKERS
        st.info(f"Status: {escape(snap.message)}: this server trains {at_once} run{'s' if at_once != 1 else ''} at "
                "once; this one starts when a worker is free.", icon=":material/hourglass_top:")
        return
    text = f"Epoch {snap.epoch} of {snap.epochs}"
    if snap.running and snap.batches and snap.epoch < snap.epochs:
        text += f" · batch {snap.batch} of {snap.batches}"
    text += f" · {_duration(snap.elapsed)} elapsed"
    if snap.running:
        text += f" · ETA {_duration(snap.eta)}" if snap.eta is not None else " · ETA after epoch 2"
    st.progress(snap.progress, text=text)
    STATUS_STYLE.get(snap.status, st.info)(f"Status: {escape(snap.message)}")


def metrics_frame(metrics: dict, split: str, model_label: str, horizon: int = 1) -> pd.DataFrame:
    """Model and baselines, one row each, for `split` ("test" or "val")."""
    from core.baselines import STATISTICAL
    from core.evaluate import BASELINE_NAMES, METRICS

    baselines = metrics["baselines" if split == "test" else "val_baselines"]
    rows, index, long = [metrics[split]], [model_label], {}
    season = metrics.get("season")
    for key, values in baselines.items():
        named = metrics.get("naive_name", "persistence")
        name = BASELINE_NAMES.get(key, key) if key != "naive" or named == "persistence" else named
        if key == "naive" and named == "persistence":
            long[name] = charts.naive_label(horizon)
        if key in STATISTICAL and metrics.get("statistical", {}).get(key):
            name = metrics["statistical"][key]  # the model chosen by AIC on the training rows, e.g. ARIMA(1, 1, 0)
        if key == "seasonal_naive" and season:
            how = metrics.get("season_how", "")
            if how == "none found":
                name += " (none)"
                long[name] = "seasonal naive (no season found: = persistence)"
            else:
                name += f" ({season})"
                long[name] = (f"seasonal naive ({season} steps, "
                              f"{'detected' if how == 'detected' else 'set' if how in ('', 'set') else 'calendar'})")
        rows.append(values)
        index.append(name)
    # Short row names: at 800 px (a 470 px page) "seasonal naive (5 steps, calendar)" took a third of the
    # table's width; the long names go in a line under it (table.attrs["long_names"]).
    table = pd.DataFrame(rows, index=index)
    table = table[[m for m in METRICS if m in table.columns]].astype(float)  # None (no value) becomes NaN, shown as –
    table = table.rename(columns={"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "mape": "MAPE %", "smape": "sMAPE %",
                                  "mase": "MASE", "direction": "Direction %"})
    # MSE (target units squared, the widest numbers) last: where the page is too narrow for every column,
    # the one the others already say (RMSE squared) is the one scrolled off.
    table = table[[c for c in table.columns if c != "MSE"] + (["MSE"] if "MSE" in table.columns else [])]
    table.attrs["long_names"] = long
    return table


def compact(value: float) -> str:
    """A number with as many decimals as its size needs: 26379.865 -> "26,380", 162.419 -> "162.4",
    19.958 -> "19.96", 0.5331 -> "0.533"; a dash when there is none. Four significant digits tell
    a model from its baselines; the six-digit, three-decimal numbers did not fit at 800 px."""
    if value is None or not np.isfinite(value):
        return "–"
    size = abs(value)
    return (f"{value:,.0f}" if size >= 1000 else f"{value:.1f}" if size >= 100 else f"{value:.2f}" if size >= 1
            else f"{value:.3f}")


# Narrow columns for the metrics table: with compact numbers the 8 columns fit a 470 px page (800 px
# window, sidebar open). The headers keep their names (tests and the help read them); two get a shorter label.
METRIC_COLUMNS = {"_index": st.column_config.Column(width=118),
                  **{name: st.column_config.Column(width=54) for name in ("RMSE", "MAE", "MASE")},
                  "MAPE %": st.column_config.Column(width=62), "sMAPE %": st.column_config.Column("sMAPE", width=58),
                  "Direction %": st.column_config.Column("Dir. %", width=54, help="Direction %"),
                  "MSE": st.column_config.Column(width=62)}


METRIC_HELP = ("RMSE and MAE are in the target's units. MAPE % skips zero targets and shows – where the targets "
               "change sign or come near zero (a percentage of a value near zero says nothing); sMAPE % is symmetric (0-200). "
               "MASE divides MAE by the average change over the horizon in the training rows (below 1: better "
               "than that naive step). Direction % is how often the prediction moves the right way from the "
               "window's last value.")


def shown(table: pd.DataFrame, best_of: tuple[str, ...] = (), digits: int | None = 3):
    """Numbers as text with a dash for a missing value (Streamlit draws a styled NaN as "None"), the
    lowest of each `best_of` column shaded. `digits=None`: as many decimals as each number's size needs."""
    text = table.map(lambda v: ("–" if not (pd.notna(v) and np.isfinite(v)) else
                                compact(v) if digits is None else f"{v:.{digits}f}"))

    def shade(column: pd.Series) -> list[str]:
        values = table[column.name]
        if column.name not in best_of or not values.notna().any():
            return [""] * len(column)
        return ["background-color: #d8f0d8" if v == values.min() else "" for v in values]

    return text.style.apply(shade)


VERDICT_STYLE = {"wins": st.success, "ties": st.info, "loses": st.warning}


def metrics_table(snap, target: str, horizon: int = 1, learning_rate: float | None = None, cell: str = "model"
                  ) -> None:
    """The model's metrics next to every baseline, a one-line verdict, and the lag warning.

    While training runs the table shows the validation targets; the test metrics appear only when
    the run has ended, so nobody picks the stopping point by the test score.
    """
    if not snap.metrics:
        st.caption("Metrics appear with the first predictions.")
        return
    from core import evaluate

    split = "val" if snap.running and "val" in snap.metrics else "test"
    label = "validation" if split == "val" else "test"
    model = snap.metrics[split]
    naive = snap.metrics["baselines" if split == "test" else "val_baselines"]["naive"]
    table = metrics_frame(snap.metrics, split, f"{cell} (epoch {snap.predictions_epoch or snap.epoch})", horizon)
    st.markdown(f"**{label.capitalize()} metrics**" + (" (live; test metrics appear when training ends)"
                                                      if split == "val" else ""))
    st.dataframe(shown(table, best_of=("RMSE", "MAE"), digits=None), width="stretch", column_config=METRIC_COLUMNS)
    up = snap.metrics.get("up_share")
    named = "; ".join(table.attrs.get("long_names", {}).values())  # each starts with its row's short name
    st.caption((f"Rows in full: {named}. " if named else "") + METRIC_HELP + (f" On the test targets the value rose in {up:.0f}% of cases, so always predicting a "
                              f"rise would score {up:.0f}% Direction, always a fall {100 - up:.0f}%."
                              if split == "test" and up is not None else ""))
    ratio = model["rmse"] / naive["rmse"] if naive["rmse"] else float("nan")
    baseline = snap.metrics.get("naive_name", "persistence")
    compared = snap.metrics["baselines" if split == "test" else "val_baselines"]
    line = evaluate.full_verdict(cell, model, compared, baseline)
    # The box follows the whole verdict: green only when the model beats every baseline, not only persistence.
    VERDICT_STYLE[evaluate.outcome(model, compared)](f"On the {label} targets: {escape(line)}.", icon=":material/balance:")
    notes = scorecard_views.verdict_notes(snap.metrics) if split == "test" else ""  # OWA, direction against a coin
    if notes:
        st.caption(notes)
    with st.expander("What the baselines are"):
        st.markdown(evaluate.baseline_notes(compared, baseline))
    if ratio > 3:
        st.caption(f"That is far worse than repeating the last value. Common causes: test values outside the range "
                   f"seen in training (a trending series: try the diff or pct transform on the Data page), too few "
                   f"epochs, or a learning rate that is too high (now {learning_rate:g}).")
    elif ratio >= 1 and baseline == "persistence":
        st.caption("Persistence is hard to beat on series that move like a random walk, as day-to-day prices do: "
                   "try more epochs, a GRU, a shorter window, a lower learning rate or the diff transform, and "
                   "compare.")
    bands = snap.metrics.get("intervals")
    if split == "test" and bands:
        from core import intervals

        said = intervals.sentence(bands)
        covers = [((bands.get(str(level)) or {}).get("coverage"), level) for level in intervals.LEVELS]
        low = any(c is not None and np.isfinite(c) and c < level - 10 for c, level in covers)
        if said:
            st.caption("**Prediction intervals** (split conformal: the error sizes that 80% and 95% of the validation "
                       f"errors stayed under, drawn as bands on the charts). {said}"
                       + (" The bands held much less than their level: the test period behaves unlike the "
                          "validation period (a trend, a new regime), so trust this model's spread less there."
                          if low else ""))
    failures = evaluate.error_check(snap.metrics) if split == "test" else []
    if failures:
        st.warning(lag_level_words(failures), icon=":material/warning:")


def lag_level_words(failures: list[str]) -> str:
    """The lag and level check's box: evaluate.error_check's sentences start with "its ..." (its moves,
    its predictions), so each is capitalised; "The model its predictions sit ..." was the old text."""
    said = [f[:1].upper() + f[1:] for f in failures]
    if len(said) == 1:
        return f"Lag and level check: {said[0]}"
    return f"Lag and level check, {len(said)} different failures. " + " ".join(
        f"({i}) {f}" for i, f in enumerate(said, 1))


def sidebar_status() -> None:
    """The current run's progress in the sidebar, polled every 2 s while it runs."""
    run = session_runs.current()
    race = st.session_state.get("cell_race")
    if run is None and race is not None:  # a race trains runs of its own, not the session's current run
        done = sum(not entry.running for entry in race.started)
        st.caption(f"Cell race: {done} of {len(race.jobs)} cells trained" + (", training now" if race.running else "")
                   + ". Its runs are on **Runs**.")
        return
    if run is None:
        st.caption("No training run yet: open **Train** and click Train.")
        return
    was_running = run.snapshot().running

    @st.fragment(run_every=2.0 if was_running else None)
    def status() -> None:
        snap = run.snapshot()
        st.progress(snap.progress, text=escape(f"Run {snap.run_id}: {snap.message}"))
        if was_running and not snap.running:
            st.rerun()

    status()


def downloads(run) -> None:
    """Download buttons for what a saved run made (none when not one epoch was trained)."""
    snap = run.snapshot()
    if snap.status == runs.FAILED and snap.epoch == 0:
        return
    present = runs.downloads(run.path)
    if not present:
        return
    row = st.container(horizontal=True)  # each button as wide as its label; they wrap on a narrow screen
    for name, mime in present:
        row.download_button(name, runs.read_download(run.path, name), file_name=f"{run.run_id}-{name}",
                            mime=mime, icon=":material/download:", key=f"dl-{name}")


def figure_once(key: tuple, build):
    """The figure for `key`, built only when the key changes.

    The Train page polls every second but the data behind a chart changes less often (the loss
    once per epoch, predictions every few seconds), and building a Plotly figure holds the GIL
    for ~10-35 ms that the training thread would rather have. One figure per chart is kept.
    """
    slot = f"figure-{key[0]}"
    cached = st.session_state.get(slot)
    if cached is None or cached[0] != key:
        cached = (key, build())
        st.session_state[slot] = cached
    return cached[1]


def forecast_section(run, snap) -> None:
    """After a run: the forecast past the data and the test error by step ahead."""
    spec = run.spec
    if snap.status == runs.FAILED:
        return  # no forecast from weights that never trained, or trained into a NaN loss
    target = spec.data.target
    scorecard_views.intervals_section(run, snap)  # split, ACI and scaled bands: coverage, width, Winkler
    scorecard_views.horizon_section(snap)  # RMSE and MASE per step ahead, the model and every baseline
    if snap.forecast is None and snap.by_step is None:
        note = getattr(snap, "forecast_note", "")
        if note:
            st.caption(f"No forecast past the data: {escape(note)}.")
        return
    from core import forecast

    how = forecast.kind(spec)[0] or "direct"
    st.subheader("Forecast")
    left, right = st.columns(2)
    if snap.forecast is not None:
        recent = run.predictions_frame().tail(max(30, 6 * len(snap.forecast)))[["date", "truth"]]
        left.plotly_chart(charts.forecast_figure(recent, snap.forecast, target, how), width="stretch",
                          key="forecast_chart")
        left.caption(f"{len(snap.forecast)} steps from the last window of the data. "
                     + ("Each step is predicted from the steps before it, so errors feed back in." if how == "recursive"
                        else "One prediction gives every step at once."))
    if snap.by_step is not None:
        table = snap.by_step
        right.plotly_chart(charts.step_error_figure(table, target), width="stretch", key="step_error_chart")
        worse = table["rmse"].iloc[-1] / table["rmse"].iloc[0] if table["rmse"].iloc[0] else float("nan")
        test_windows = len(run.predictions_frame().query("split == 'test'"))
        used = int(table["windows"].iloc[0])
        over = (f"Over {used} evenly spaced test windows of {test_windows}" if used < test_windows
                else f"Over all {used} test windows")
        right.caption(f"{over} that have {len(table)} known steps after them. The model's error at step {len(table)} "
                      f"is {worse:.1f}× its error at step 1; persistence's is "
                      f"{table['naive_rmse'].iloc[-1] / max(table['naive_rmse'].iloc[0], 1e-12):.1f}×.")


def error_section(run, snap) -> None:
    """After a run: residuals, the error histogram and the lag check on the test targets."""
    frame = run.predictions_frame()
    if snap.metrics is None or not frame["prediction"].notna().any() or run.spec.model.task == "classification":
        return  # a classifier's errors are its confusion matrix
    target = run.spec.data.target
    st.subheader("Error analysis")
    # The residuals and their histogram get the full width, the lag check a row of its own: three charts in
    # one row ran their titles together and smeared the lag ticks at 800 px.
    st.plotly_chart(charts.error_figure(frame, target), width="stretch", key="error_chart")
    left, right = st.columns([3, 2])
    correlations = snap.metrics.get("lag_correlations")
    if correlations:
        left.plotly_chart(charts.lag_figure(correlations), width="stretch", key="lag_chart")
        lag = snap.metrics.get("lag")
        best = correlations.get(str(lag), float("nan")) if lag is not None else float("nan")
        if lag is None or not snap.metrics.get("lag_clear", True):
            right.caption(f"No shift lines up clearly (the best, {lag:+d}, has r = {best:.2f}): the predicted moves "
                          "hardly follow the real ones at any lag." if lag is not None else
                          "The predictions do not move, so there is no lag to check.")
        else:
            right.caption(f"The best lag is {lag:+d} (r = {best:.2f}). " + (
                "0 means the predicted moves happen when the real ones do." if lag == 0 else
                "+1 means the model mostly repeats the last value: its moves come one step after the real ones."
                if lag == 1 else "The predicted moves line up best with real moves at this shift."))
            if lag > 1 and lag != snap.metrics.get("naive_lag"):
                right.warning(f"The predicted moves line up best with the truth's moves {lag} steps **earlier**: the "
                              "model follows the series late instead of forecasting its moves, a smoothed version of "
                              "repeating the past.", icon=":material/warning:")
