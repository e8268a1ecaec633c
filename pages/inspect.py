"""Inspect: the gates inside each cell, their saturation, the gradient flow, and the memory race."""
import streamlit as st

from core.describe import escape

from ui import explore_views, inspect_views as views
from ui import patches, session_runs

patches.route_through_app()  # first: see ui/patches.py

st.title("Inspect")
view = views.view_picker()
st.caption(views.VIEWS[view])

run = session_runs.current()
if view == "Memory race":
    views.memory_race_view()  # trains in the worker pool: this page imports no Keras for it
elif run is None:
    st.info("Nothing to inspect yet: train a model first. Its gates appear here while it trains, epoch by epoch. "
            "The **Memory race** view above needs no trained model.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/play_circle:")
else:
    from ui import probe  # replays the gates with Keras

    running = run.snapshot().running

    @st.fragment(run_every=2.0 if running else None)
    def inspect() -> None:
        found = probe.probe(run)
        if isinstance(found, str):
            st.info(escape(found), icon=":material/hourglass:" if running else ":material/info:")
            return
        {"Gates": views.gates_view, "Saturation": views.saturation_view,
         "Gradient flow": views.gradient_view, "Explore": explore_views.explore_view}[view](found)
        if running and not found.running:
            st.rerun()  # training ended: draw once more without polling

    inspect()
