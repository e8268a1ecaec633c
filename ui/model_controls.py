"""The Model page's linked controls: a mode or task change that moves another setting with it."""
from __future__ import annotations

import streamlit as st

from core import model_check
from core.describe import escape

from . import loads, spec_state

MODE_NAMES = {"many_to_one": "many-to-one", "direct": "direct multi-step", "many_to_many": "many-to-many",
              "seq2seq": "seq2seq", "stateful": "stateful", "autoencoder": "autoencoder"}
TASK_LOSS = {"classification": "crossentropy", "regression": "mse"}
AUTO_HORIZON = {"several": 5, "own": 0}  # what a mode change sets the horizon to, by why


def task_changed() -> None:
    """Classification trains with cross-entropy only; back to regression, MSE."""
    task = st.session_state.get("w.model.task")
    if task is None:  # a click on the active segment clears it (KeyError: None was a traceback): keep the task
        st.session_state["w.model.task"] = spec_state.get_spec().model.task
        return
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
            st.session_state["horizon_note"] = "one" if auto == "several" else "one-after-own"
        elif auto:
            st.session_state["horizon_auto"] = auto
        return
    st.session_state["w.window.horizon"] = AUTO_HORIZON[why]
    st.session_state["horizon_note"] = why
    st.session_state["horizon_auto"] = why


def horizon_by_hand() -> None:
    st.session_state.pop("horizon_auto", None)


def callback_controls(fields) -> dict:
    """Early stopping and reduce-LR-on-plateau: each spec field is built from a toggle and its settings.
    Returns the train section's two fields for `fields.commit(train=...)`."""
    stop_on = fields.bind(st.toggle, "train", "early_stopping", "Early stopping", from_widget=False, key="w.train.es",
                          to_widget=lambda v: v is not None, help="Stop when val_loss has not improved for a while.")
    cols = st.columns(2)
    patience = fields.bind(cols[0].number_input, "train", "early_stopping", "Patience (epochs)", from_widget=False,
                           min_value=1,
                           key="w.train.es.patience", to_widget=lambda v: (v or {}).get("patience", 5),
                           disabled=not stop_on)
    restore = fields.bind(cols[1].toggle, "train", "early_stopping", "Restore best weights", from_widget=False,
                          key="w.train.es.restore",
                          to_widget=lambda v: (v or {}).get("restore_best_weights", True), disabled=not stop_on)
    lr_on = fields.bind(st.toggle, "train", "reduce_lr", "Reduce the learning rate on a plateau", from_widget=False,
                        key="w.train.rl",
                        to_widget=lambda v: v is not None,
                        help="Multiply the learning rate by a factor when val_loss stalls (ReduceLROnPlateau).")
    cols = st.columns(2)
    factor = fields.bind(cols[0].number_input, "train", "reduce_lr", "Factor", from_widget=False, min_value=0.05,
                         max_value=0.95,
                         step=0.05, key="w.train.rl.factor", to_widget=lambda v: (v or {}).get("factor", 0.5),
                         disabled=not lr_on)
    lr_patience = fields.bind(cols[1].number_input, "train", "reduce_lr", "Patience (epochs) ", from_widget=False,
                              min_value=1,
                              key="w.train.rl.patience", to_widget=lambda v: (v or {}).get("patience", 3),
                              disabled=not lr_on)
    return {"early_stopping": {"patience": int(patience), "restore_best_weights": bool(restore)} if stop_on else None,
            "reduce_lr": {"factor": float(factor), "patience": int(lr_patience)} if lr_on else None}


def units_from_text(text: str, previous: list[int]) -> list[int]:
    """"64, 32" -> [64, 32]; text that is not whole numbers shows an error and keeps `previous`."""
    try:
        return [int(u) for u in str(text).replace(";", ",").split(",") if u.strip()]
    except ValueError:
        st.error(f"Units must be whole numbers separated by commas, e.g. 64, 32 (got {escape(repr(text))}); "
                 "the previous units are kept.")
        return previous


def layer_table_view(spec) -> None:
    """The model's layers, their output shapes and parameters, counted from the spec (no TensorFlow)."""
    st.subheader("Layers")
    try:
        rows, total = loads.layer_table(spec)
    except Exception as exc:  # noqa: BLE001 - e.g. out of memory: say so, keep the page
        st.error(f"This model could not be built ({exc.__class__.__name__}). Use fewer units or layers.")
    else:
        st.dataframe(rows, width="stretch", hide_index=True,
                     column_config={"cuDNN on GPU": st.column_config.TextColumn(width="large")})
        cap = model_check.max_params()
        if total > cap:
            st.error(f"This model has {total:,} parameters; the limit is {cap:,} (RNNLAB_MAX_MODEL_PARAMS), so "
                     "Train will refuse it. Use fewer or smaller layers, or a smaller head.")
        st.caption(f"Total parameters: **{total:,}** · input: (batch, {spec.window.length} time steps, "
                   f"{len(spec.data.features)} feature{'s' if len(spec.data.features) != 1 else ''}) · cuDNN on GPU: "
                   "whether a GPU would run the layer on the fast cuDNN kernel (tanh and sigmoid activations, no "
                   "recurrent dropout, no unroll, biases on, reset_after for GRU).")
