"""The Model page's linked controls: a mode or task change that moves another setting with it."""
from __future__ import annotations

import streamlit as st

MODE_NAMES = {"many_to_one": "many-to-one", "direct": "direct multi-step", "many_to_many": "many-to-many",
              "seq2seq": "seq2seq", "stateful": "stateful", "autoencoder": "autoencoder"}
TASK_LOSS = {"classification": "crossentropy", "regression": "mse"}
AUTO_HORIZON = {"several": 5, "own": 0}  # what a mode change sets the horizon to, by why


def task_changed() -> None:
    """Classification trains with cross-entropy only; back to regression, MSE."""
    task = st.session_state.get("w.model.task", "regression")
    st.session_state["w.train.loss"] = TASK_LOSS[task]


def mode_changed() -> None:
    """direct and seq2seq predict several steps: a horizon below 2 becomes 5; the autoencoder rebuilds
    its own window: the horizon becomes 0 (the person can change either). Leaving such a mode for a
    one-step mode puts a horizon that was set this way back to 1."""
    horizon = st.session_state.get("w.window.horizon", 1)
    mode = st.session_state["w.model.mode"]
    auto = st.session_state.pop("horizon_auto", None)
    if mode in ("direct", "seq2seq") and horizon < 2:
        why = "several"
    elif mode == "autoencoder" and horizon != 0:
        why = "own"
    else:
        if auto and mode not in ("direct", "seq2seq", "autoencoder") and horizon == AUTO_HORIZON[auto]:
            st.session_state["w.window.horizon"] = 1
            st.session_state["horizon_note"] = "one"
        elif auto:
            st.session_state["horizon_auto"] = auto
        return
    st.session_state["w.window.horizon"] = AUTO_HORIZON[why]
    st.session_state["horizon_note"] = why
    st.session_state["horizon_auto"] = why


def horizon_by_hand() -> None:
    st.session_state.pop("horizon_auto", None)
