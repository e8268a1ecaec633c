"""The Runs page's sections: the run history, the cell race and imports."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core import charts, data, describe, runs
from core.describe import escape
from core.errors import sentence
from core.spec import ExperimentSpec, SpecError

from . import address, launch, session_runs, spec_state

MAX_COMPARE = 8


def _table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["ratio"] = frame["rmse"] / frame["naive_rmse"]
    frame["epochs"] = [f"{e}/{n}" if e is not None else f"?/{n}" for e, n in zip(frame["epoch"], frame["epochs"])]
    frame["kind"] = [kind_text(r) for r in rows]
    frame["saved_at"] = [(t or "").replace("T", " ")[:16] for t in frame["saved_at"]]  # to the minute: not cut at 1400 px
    # What the run is and its scores come first, so they stay on screen in a narrow window (at 800 px the
    # run id first left room for the cell and the test RMSE only); the id, for Open below, comes last.
    columns = ["kind", "cell", "units", "rmse", "ratio", *(["owa"] if "owa" in frame else []), "naive_rmse"]
    if frame.get("accuracy") is not None and frame["accuracy"].notna().any():  # classifiers in the list
        columns.append("accuracy")
    columns += ["status", "data", "target", "setup", "epochs"]
    frame = frame[[*columns, "saved_at", "run_id"]]
    return frame.rename(columns={"run_id": "run", "rmse": "test RMSE", "naive_rmse": "persistence RMSE",
                                 "ratio": "RMSE / persistence", "owa": "OWA", "accuracy": "test accuracy %", "saved_at": "saved"})


TABLE_CONFIG = {"test RMSE": st.column_config.NumberColumn(format="%.4f"),
                "persistence RMSE": st.column_config.NumberColumn(format="%.4f"),
                "RMSE / persistence": st.column_config.NumberColumn(
                    format="%.3f", help="Below 1: the model beats persistence on the test targets."),
                "OWA": st.column_config.NumberColumn(
                    format="%.3f", help="sMAPE and MASE relative to persistence's, averaged (M4's OWA against "
                                        "persistence): below 1 beats it."),
                "kind": st.column_config.TextColumn(
                    help="What made the run: a single training, a cell race, a sweep's trial, a backtest's fold, "
                         "a seed of a repeat with several seeds, or an import.")}
EVERYTHING = "everything"
KIND_VIEWS = {"single": "single runs", "race": "cell races", "imported": "imported"}


def kind_text(row: dict) -> str:
    """"single", "race", "imported", "sweep trial 3", "backtest fold 2", "seed 8"."""
    kind = row.get("kind") or "single"
    if kind == "seeds" and row.get("part") is not None:
        return f"seed {row['part']}"  # a run of a repeat with several seeds
    part = {"sweep": "trial", "backtest": "fold"}.get(kind)
    return f"{kind} {part} {row['part']}" if part and row.get("part") is not None else kind


def views_of(rows: list[dict]) -> list[str]:
    """The History filter's choices: everything, each kind there is, then each sweep and backtest (newest first)."""
    kinds = [label for kind, label in KIND_VIEWS.items() if any(r.get("kind") == kind for r in rows)]
    return [EVERYTHING, *kinds, *dict.fromkeys(r["group"] for r in rows if r.get("group"))]


def rows_in(rows: list[dict], view: str) -> list[dict]:
    """The rows of one filter choice (views_of)."""
    if view == EVERYTHING:
        return rows
    kind = next((k for k, label in KIND_VIEWS.items() if label == view), None)
    return [r for r in rows if (r.get("kind") == kind if kind else r.get("group") == view)]


def group_title(group: str, members: list[dict]) -> str:
    """A sweep's or backtest's one row: "sweep app-…: 8 trials, best test RMSE 0.0123 (0.98× persistence)"."""
    sweep = group.startswith("sweep")
    scored = [r for r in members if r.get("rmse") is not None and pd.notna(r["rmse"]) and r.get("naive_rmse")]
    noun = "trial" if sweep else "seed" if group.startswith("seeds") else "fold"
    text = f"{group}: {len(members)} {noun}{'s' if len(members) != 1 else ''}"
    if scored and sweep:  # trials predict the same targets: the best one's score says how the search went
        best = min(scored, key=lambda r: r["rmse"])
        text += f", best test RMSE {best['rmse']:.4g} ({best['rmse'] / best['naive_rmse']:.2f}× persistence)"
    elif scored:  # folds test different blocks, seeds differ by chance: how many beat persistence says more
        wins = sum(r["rmse"] < r["naive_rmse"] for r in scored)
        text += f", the model beat persistence in {wins} of {len(scored)}"
    when = max((r["saved_at"] or "" for r in members), default="")
    return text + (f" · {when.replace('T', ' ')[:16]}" if when else "")


def comparable(rows: list[dict], most: int = 3) -> list[str]:
    """The runs Compare starts with: the newest run that ended and up to `most` - 1 more that predict the
    same test targets (the same data, target, window and split), newest first; never runs whose
    predictions could not share a chart, as the three newest (backtest folds of different blocks) did."""
    done = [r for r in rows if r["status"] in (runs.FINISHED, runs.STOPPED) and r.get("targets")]
    if not done:
        return []
    key = done[0]["targets"]
    return [r["run_id"] for r in done if r["targets"] == key][:most]


def status_text(status: str, message: str | None) -> str:
    """"finished 4 epochs", not "finished: finished 4 epochs": the status only when the message does not say it."""
    message = (message or "").strip()
    said = status.lower() in message.lower().split(" (")[0]  # "training failed (...)" says "failed"
    return message if said else f"{status}: {message}" if message else status


def _label(row: dict) -> str:
    return row["label"]


def history() -> None:
    """The run table (a sweep's or a backtest's runs folded under one row), a filter by kind, overlays of
    comparable runs, and actions on one run."""
    rows = [r for r in runs.list_runs(session_runs.root(), workspace=address.workspace())
            if r["kind"] != "memory_race"]  # memory races are drawn on Inspect, not opened as runs
    if not rows:
        st.info("No runs in this workspace yet. Every training you start on the Train page (or in the Race above) "
                "is kept here.", icon=":material/history:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/play_circle:")
        return
    view = st.selectbox("Show", views_of(rows), key="runs_view",
                        help="Everything, one kind of run, or the runs of one sweep or backtest.")
    shown = rows_in(rows, view)
    by_id = {r["run_id"]: r for r in shown}
    alone = [r for r in shown if not r.get("group")] if view == EVERYTHING else shown
    if alone:
        st.dataframe(_table(alone), hide_index=True, width="stretch", column_config=TABLE_CONFIG)
    if view == EVERYTHING:  # each sweep and backtest as one row that opens to its runs
        for group in dict.fromkeys(r["group"] for r in shown if r.get("group")):
            members = [r for r in shown if r.get("group") == group]
            with st.expander(group_title(group, members), icon=":material/folder_open:"):
                st.dataframe(_table(members), hide_index=True, width="stretch", column_config=TABLE_CONFIG)
    picked = st.multiselect("Compare runs", list(by_id), default=comparable(shown), key=f"runs_compare:{view}",
                            max_selections=MAX_COMPARE, format_func=lambda r: _label(by_id[r]),
                            help="Overlay their loss curves and test predictions. It starts with the newest run and "
                                 "the runs that predict the same test targets (same data, target, window and split).")
    if picked:
        _overlays([by_id[r] for r in picked])
    st.divider()
    _actions(by_id)


def _overlays(rows: list[dict]) -> None:
    histories, frames, other_loss = {}, {}, []
    first_loss = None
    for row in rows:
        history, frame = runs.read_history(row["path"]), runs.read_predictions(row["path"])
        try:
            loss = runs.read_spec(row["path"]).train.loss
        except (OSError, ValueError):
            loss = None
        if history:
            first_loss = first_loss or loss
            if loss == first_loss:  # losses of one kind only: cross-entropy next to MSE squashed both
                histories[_label(row)] = {"loss": history["loss"], "val_loss": history["val_loss"]}
            else:
                other_loss.append(_label(row))
        if frame is not None:
            frames[_label(row)] = frame
    left, right = st.columns([2, 3])
    if histories:
        log_y = left.toggle("Log-scale loss", key="runs_log", value=False,
                            help="Losses are on each run's scaled targets: compare runs with the same data and "
                                 "transform.")
        left.plotly_chart(charts.loss_overlay_figure(histories, log_y), width="stretch", key="runs_loss")
        if other_loss:
            left.caption(f"Left out of the loss chart: {escape(', '.join(other_loss))}: they minimise another loss, whose "
                         "values are not on the same scale.")
    if frames:
        first = next(iter(frames.values()))
        same = {k: f for k, f in frames.items() if _same_targets(first, f)}
        right.plotly_chart(charts.prediction_overlay_figure(same, rows[0]["target"] or "value"), width="stretch",
                           key="runs_pred")
        if len(same) < len(frames):
            right.caption(f"Left out of the prediction chart: {escape(', '.join(k for k in frames if k not in same))}: "
                          "they predict other targets (other data, window or split), so their lines would not "
                          "be comparable.")


def _same_targets(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    ta, tb = a[a["split"] == "test"], b[b["split"] == "test"]
    return len(ta) == len(tb) and (ta["date"].to_numpy() == tb["date"].to_numpy()).all() and bool(
        (ta["truth"].to_numpy() == tb["truth"].to_numpy()).all())


def _actions(by_id: dict[str, dict]) -> None:
    """Open, export or delete one run."""
    st.markdown("**One run**")
    run_id = st.selectbox("Run", list(by_id), key="runs_one", format_func=lambda r: _label(by_id[r]))
    row = by_id[run_id]
    st.caption(f"Status: {escape(status_text(row['status'], row['message']))}")
    buttons = st.container(horizontal=True)  # buttons keep their labels and wrap at 800 px, not "Open …"
    if buttons.button("Open on Train", icon=":material/open_in_new:", disabled=row["status"] == runs.INTERRUPTED,
                      help="Show this run on the Train page (its charts, metrics and downloads) and Inspect it."):
        if session_runs.open(run_id):
            st.switch_page("pages/train.py")
        st.error("That run can no longer be read from the store.")
    if buttons.button("Use its settings", icon=":material/tune:",
                      help="Load this run's spec (data, window, model, training) as the current setup."):
        try:
            spec_state.set_spec(data.check_outside_spec(
                runs.read_spec(row["path"])))
            spec_state.forget_widgets()
            st.success("Its settings are now the current setup.")
        except (OSError, SpecError) as exc:
            st.error(f"Its spec could not be read: {escape(sentence(str(exc)))}")
    buttons.download_button("Download .zip", lambda path=row["path"]: runs.bundle(path), file_name=f"{run_id}.zip",
                            mime="application/zip", icon=":material/download:", key="runs_zip",
                            help="spec.json, model.keras, history.csv, predictions.csv, metrics.json and gates.npz.")
    with buttons.popover("Delete", icon=":material/delete:"):
        st.write(f"Delete run {escape(run_id)} and all its files?")
        if st.button("Yes, delete it", type="primary", key="runs_delete"):
            if row["status"] == runs.RUNNING:
                st.error("It is still training: stop it on the Train page first.")
            elif runs.delete(run_id, session_runs.root(), address.workspace()):
                session_runs.forget(run_id)
                st.rerun()
            else:
                st.error("It could not be deleted (it is training, not in this workspace, or gone already).")


def race() -> None:
    """Train SimpleRNN, LSTM and GRU on the current setup, one after another, and compare."""

    spec = spec_state.get_spec()
    st.markdown("One click trains **SimpleRNN, LSTM and GRU** one after another on the same data, window, split, "
                "layer sizes, training settings and seed: " + escape(describe.describe(spec)))
    current = st.session_state.get("cell_race")
    busy = current is not None and current.running
    row = st.container(horizontal=True)
    if row.button("Race the three cells", type="primary", icon=":material/flag:", disabled=busy):
        error = launch.start_race(spec)
        if error:
            st.warning(escape(error), icon=":material/block:")
        current = st.session_state.get("cell_race")
        busy = current is not None and current.running
    if busy and row.button("Stop the race", icon=":material/stop:"):
        current.stop()
    if current is None:
        st.caption("Each training is saved as a run, so you can open, inspect and compare them afterwards.")
        return

    @st.fragment(run_every=1.0 if busy else None)
    def live() -> None:
        started = current.started
        for job in started:
            session_runs.remember(job.run_id)  # offered for comparison on Inspect
        done = sum(not j.running for j in started)
        now = next((j for j in started if j.running), None) if current.running else None
        total = len(current.jobs)
        if now is not None:
            text = f"Training {now.spec.model.cell} ({len(started)} of {total}): {now.snapshot().message}"
        elif current.stopped:
            text = f"Race stopped after {done} of {total} cells; the ones not started were skipped"
        else:
            text = f"{done} of {total} trained" if current.running else f"Race over: {done} of {total} cells trained"
        st.progress(done / total, text=escape(text))
        histories = {j.spec.model.cell: j.snapshot().history for j in started}
        if histories:
            st.plotly_chart(charts.loss_overlay_figure(histories), width="stretch", key="race_loss")
            st.caption("Solid: validation loss; dotted: training loss. All three use the same data and scaling, "
                       "so their losses are comparable.")
        table = current.results()
        if len(table):
            st.dataframe(table.drop(columns=["verdict"]), hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(format="%.4f")
                                        for c in ("test RMSE", "test MAE", "persistence RMSE")}
                         | {"s / epoch": st.column_config.NumberColumn(format="%.2f"),
                            "direction %": st.column_config.NumberColumn(format="%.1f")})
            verdicts = [v for v in table["verdict"] if v != "training..."]
            if verdicts:  # the race's conclusion in full, not cut off in a table cell
                st.markdown("**Verdicts**\n" + "\n".join(f"- {escape(v)}" for v in verdicts))
        if busy and not current.running:
            st.rerun()

    live()


def imports() -> None:
    """Upload a spec.json, a .keras model or a run bundle."""
    st.markdown("- **spec.json**: restores the whole configuration.\n"
                "- **.keras model** with at least one recurrent layer: loaded with Keras's `safe_mode` (no code "
                "inside it runs) in a process of its own with a memory and time limit, evaluated on the current "
                "setup's validation and test windows, and saved as a run you can inspect and compare.\n"
                "- **.zip run bundle** (from *Download .zip*): added to your runs.")
    limit = runs.max_model_bytes() / 2 ** 20
    upload = st.file_uploader("File to import", type=["json", "keras", "zip"], key="runs_import",
                              max_upload_size=int(max(1, limit)),
                              help=f"Models and bundles up to {limit:.0f} MB (RNNLAB_MAX_MODEL_MB).")
    if upload is None:
        return
    marker = upload.file_id  # a new upload of the same file is a new import
    if st.session_state.get("runs_imported") == marker:  # already handled on an earlier rerun
        st.caption(f"{escape(upload.name)} was imported. Remove it above to import another file.")
        return
    suffix = Path(upload.name).suffix.lower()
    content = upload.getvalue()
    try:
        if suffix == ".json":
            try:
                spec = data.check_outside_spec(ExperimentSpec.from_json(content.decode("utf-8-sig")))
            except UnicodeDecodeError:
                raise runs.ImportRefused("the file is not UTF-8 text; save the spec as UTF-8 JSON") from None
            except SpecError as exc:
                raise runs.ImportRefused(f"it is not a usable spec. {sentence(str(exc))}") from None
            spec_state.set_spec(spec)
            spec_state.forget_widgets()
            st.success(f"Configuration restored from {escape(upload.name)}: {escape(describe.describe(spec))}", icon=":material/check:")
        elif suffix == ".keras":
            with st.spinner("Loading the model in a process of its own and evaluating it on the current setup..."):
                run_id = launch.import_model(upload.name, content)
            st.success(f"{escape(upload.name)} is now run {run_id}, evaluated on the current setup. Open it from History, "
                       "or look inside it on Inspect.", icon=":material/check:")
        else:
            run_id = launch.import_bundle(content)
            st.success(f"{escape(upload.name)} is now run {run_id}. It is in History.", icon=":material/check:")
        st.session_state["runs_imported"] = marker
    except runs.ImportRefused as exc:
        text = str(exc)
        st.error(f"{escape(upload.name)} was not imported: {escape(text if text.endswith('.') else sentence(text))}",
                 icon=":material/block:")
