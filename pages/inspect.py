"""Inspect: the gates inside each cell, their saturation, the gradient flow, and the memory race."""
import streamlit as st

from ui import inspect_views as views
from ui import probe, state

st.title("Inspect")
view = st.segmented_control("View", list(views.VIEWS), default="Gates", key="inspect_view",
                            help="Gates: every gate and state of one window, time step by unit. Saturation: how often "
                                 "each gate unit is pinned near 0 or 1. Gradient flow: how far back the prediction "
                                 "reaches. Memory race: SimpleRNN vs LSTM vs GRU on a task that needs memory.") or "Gates"
st.caption(views.VIEWS[view])

if view == "Memory race":
    views.memory_race_view()
    st.stop()

run = state.current_run()
if run is None:
    st.info("Nothing to inspect yet: train a model first. Its gates appear here while it trains, epoch by epoch. "
            "The **Memory race** view above needs no trained model.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/play_circle:")
    st.stop()

running = run.snapshot().running


@st.fragment(run_every=2.0 if running else None)
def inspect() -> None:
    found = probe.probe(run)
    if isinstance(found, str):
        st.info(found, icon=":material/hourglass:" if running else ":material/info:")
        return
    {"Gates": views.gates_view, "Saturation": views.saturation_view, "Gradient flow": views.gradient_view}[view](found)
    if running and not found.running:
        st.rerun()  # training ended: draw once more without polling


inspect()
