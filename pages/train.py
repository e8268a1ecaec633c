"""Train: start and stop training, and watch the loss, the predictions and the metrics live."""
import streamlit as st

from core import describe
from core.describe import escape

from ui import launch, patches, scorecard_views, session_runs, spec_state, train_views, views

patches.route_through_app()  # first: see ui/patches.py

st.title("Train")
spec = spec_state.get_spec()
views.setup_summary(spec)

buttons = st.container(horizontal=True)  # as wide as their labels: columns cut them to "T" and "S" at 800 px
train_clicked = buttons.button("Train", type="primary", icon=":material/play_arrow:",
                               help="Trains in the background: switching pages or refreshing does not stop it.")
stop_clicked = buttons.button("Stop", icon=":material/stop:",
                              help="Halt after the current batch. The history so far and the model are kept.")
train_error = launch.start_training(spec) if train_clicked else None
if train_error:
    st.warning(escape(train_error), icon=":material/block:")

run = session_runs.current()
missing = st.session_state.pop("missing_run", None)
if missing and run is None:
    st.query_params.pop("run", None)
    st.info(f"Run {escape(missing)} is not in this workspace: it was deleted, or it belongs to another browser (runs are "
            "private to the workspace in the address, `ws=...`). Open your runs on the Runs page.",
            icon=":material/search_off:")
broken = st.session_state.pop("interrupted_run", None)
if broken and run is None:
    st.query_params.pop("run", None)
    st.warning(f"Run {escape(broken)} was interrupted: the app stopped while it trained (a restart or a redeploy), so it "
               "has no results. Its settings are loaded; click **Train** to run it again.", icon=":material/history:")
if stop_clicked:
    if run is not None and run.snapshot().running:
        run.stop()
        st.toast("Stopping: the current batch ends, then the run is saved.", icon=":material/stop:")
    else:
        st.info("Nothing is training right now, so there is nothing to stop.")


if run is None:
    if train_error is None and views.preparation_error(spec) is None:
        st.info("Click **Train** to start. This is the series the model will learn from:")
    views.data_preview(spec, show_error=train_error is None)
else:
    was_running = run.snapshot().running
    if run.spec != spec:
        st.caption(f"The run below used: {escape(describe.describe(run.spec))}. Click **Train** to train the settings above.")
    train_views.show_live(run, was_running)
    if not train_views.failed(run):  # a failed run shows only its failure and advice (see live_view)
        st.page_link("pages/inspect.py", label="Look inside the cells: the gates of this run, live",
                     icon=":material/grid_on:")
        if not was_running:
            train_views.extras(run)
            views.forecast_section(run, run.snapshot())
            views.error_section(run, run.snapshot())
            views.downloads(run)
            scorecard_views.seeds_section(run.spec)  # "Repeat with 3 seeds"
