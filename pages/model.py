"""Model: the sequence shape, the recurrent architecture and how it trains, with its layer table."""
import streamlit as st

from core import cells, mode_texts
from core.spec import CELLS, LOSSES, MODES, OPTIMIZERS, TASKS
from ui import patches, spec_state
from ui import model_controls
from ui.model_controls import MODE_NAMES, horizon_by_hand, mode_changed, task_changed

patches.route_through_app()  # first: see ui/patches.py

st.title("Model")
spec = spec_state.get_spec()
fields = spec_state.Fields()  # every widget below edits one spec field; fields.commit() writes them all
st.subheader("Sequence shape")
task = fields.bind(st.segmented_control, "model", "task", "Task", from_widget=False, options=list(TASKS),
                   on_change=task_changed,
                   help="regression predicts numbers. classification predicts a class label: the target column must hold "
                        "whole-number labels (0/1, a letter's index, a digit); softmax output, cross-entropy, accuracy.")
task = task or st.session_state.get("w.model.task") or spec.model.task  # clicking the active segment clears it
top = st.columns([2, 1, 1])
mode = fields.bind(top[0].radio, "model", "mode", "Mode", options=MODES, format_func=MODE_NAMES.get, horizontal=True,
                   on_change=mode_changed, help="How windows map to predictions.")
several = st.session_state.get("w.model.mode", spec.model.mode) in ("direct", "seq2seq")
horizon = fields.bind(top[1].number_input, "window", "horizon", "Horizon (steps ahead)", min_value=2 if several else 0,
                      on_change=horizon_by_hand, help="many-to-one and stateful: predict the value this many steps after the window. direct "
                           "and seq2seq: predict every step up to it (2 or more). 0: the target at the window's own "
                           "steps (labelling windows, mapping one column to another, the autoencoder); the target "
                           "may then not be an input.")
forecast_steps = fields.bind(top[2].number_input, "window", "forecast_steps", "Forecast steps", min_value=1,
                             max_value=1000, disabled=mode in ("direct", "seq2seq") or horizon != 1,
                             help="How far a one-step model forecasts past the data, feeding its predictions back "
                                  "in (recursive; needs horizon 1). direct and seq2seq forecast `horizon` steps at "
                                  "once.")
note = st.session_state.pop("horizon_note", None)
if note == "several":
    st.info(f"{MODE_NAMES[mode]} predicts several steps at once, so the horizon is now 5. Change it above.")
elif note == "one":  # many-to-many predicts a value per step, so not "one value": one horizon
    st.info(f"{MODE_NAMES[mode]} predicts at one horizon, not every step up to it, so the horizon of 5 set for the "
            "multi-step mode is back to 1 (the next step). Change it above.")
elif note == "one-after-own":
    st.info(f"{MODE_NAMES[mode]} predicts past the window, so the horizon of 0 set for the autoencoder is back to 1 "
            "(the next step). Change it above.")
elif note == "own":
    st.info("The autoencoder rebuilds its own window, so the horizon is now 0.")
explain = picture = st.container()  # the diagram under its sentence: side by side, 800 px clipped it
steps_text = f"**{int(horizon)}** step{'s' if horizon != 1 else ''}"
explain.markdown(mode_texts.MODE_TEXT[mode].replace("`horizon` steps", steps_text).replace("`horizon`", f"**{int(horizon)}**")
                 .replace("(horizon)", f"({int(horizon)})"))
if mode == "stateful":
    explain.caption("Bidirectional is off: a stateful layer carries its state forward in time only.")
picture.code(mode_texts.MODE_DIAGRAM[mode], language=None)

# Architecture, then Training, each across the page in two columns: side by side (four columns in all),
# a window of 800 px with the sidebar open left each control about 80 px, truncating the toggles' labels
# ("Restore ...") and wrapping the others onto 3-4 lines.
st.subheader("Architecture")
left, right = st.columns(2)
with left:
    cell = fields.bind(st.radio, "model", "cell", "Recurrent cell", options=list(CELLS), horizontal=True,
                       help=" ".join(c.blurb for c in cells.CELLS.values()))
    units_text = fields.bind(st.text_input, "model", "units", "Units per layer", from_widget=False,
                             to_widget=lambda u: ", ".join(map(str, u)),
                             help="One number per stacked layer, 1 to 4 layers of 1 to 1024 units, e.g. 64 or 64, 32. "
                                  "return_sequences is set for you: every layer but the last returns its whole "
                                  "sequence to the next (many-to-many keeps it to the end).")
    bidirectional = fields.bind(st.toggle, "model", "bidirectional", "Bidirectional", from_widget=False,
                                disabled=mode == "stateful",
                                help="Read each window forwards and backwards and join both states. Not with "
                                     "stateful layers, which carry state forward in time.")
    head_units = fields.bind(st.number_input, "model", "head_units", "Dense head units (0 = none)", min_value=0,
                             max_value=1024, help="A hidden Dense(units, relu) layer before the output layer.")
with right:
    dropout = fields.bind(st.slider, "model", "dropout", "Dropout after each recurrent layer", min_value=0.0,
                          max_value=0.95, step=0.05, help="Randomly zeroes this share of activations while training.")
    recurrent_dropout = fields.bind(st.slider, "model", "recurrent_dropout", "Recurrent dropout", min_value=0.0,
                                    max_value=0.95, step=0.05,
                                    help="Dropout on the state passed from step to step. Above 0 it rules out the "
                                         "fast cuDNN kernel on a GPU (see the layer table).")
    input_dense = fields.bind(st.number_input, "model", "input_dense", "Input projection units (0 = none)",
                              min_value=0, max_value=1024,
                              help="A Dense layer applied to every time step before the first recurrent layer, as in "
                                   "the classic TensorFlow tutorials (the 'input hidden layer').")
    embedding_dim = fields.bind(st.number_input, "model", "embedding_dim", "Embedding size (0 = none)",
                                min_value=0, max_value=1024,
                                help="Learn a vector of this size for each token: the one input column must hold "
                                     "whole numbers from 0 (e.g. a letter's index), with scaling set to none.")
st.subheader("Training")
cols = st.columns(2)
epochs = fields.bind(cols[0].number_input, "train", "epochs", "Epochs", min_value=1)
batch = fields.bind(cols[1].select_slider, "train", "batch_size", "Batch size",
                    options=sorted({8, 16, 32, 64, 128, 256, 512, spec.train.batch_size}),
                    help="Windows per gradient step. Stateful: also the number of windows per fixed batch.")
optimizer = fields.bind(cols[0].selectbox, "train", "optimizer", "Optimizer", options=list(OPTIMIZERS))
momentum = fields.bind(cols[1].number_input, "train", "momentum", "Momentum (SGD)", min_value=0.0,
                       max_value=0.99, step=0.1, disabled=optimizer != "sgd", help="Only SGD uses it.")
lr = fields.bind(cols[0].number_input, "train", "learning_rate", "Learning rate", min_value=1e-6, max_value=10.0,
                 format="%.5f", step=0.0005, help="Step size of the optimizer. Too high and the loss can become NaN.")
losses = ["crossentropy"] if task == "classification" else [x for x in LOSSES if x != "crossentropy"]
if st.session_state.get("w.train.loss") not in losses:
    st.session_state["w.train.loss"] = losses[0]
loss = fields.bind(cols[1].selectbox, "train", "loss", "Loss", options=losses,
                   help="mse punishes big misses most; mae treats all misses alike; huber is mse near zero "
                        "and mae far out, so outliers pull less. Classification uses cross-entropy.")
clipnorm = fields.bind(cols[0].number_input, "train", "clipnorm", "Gradient clipping (0 = off)",
                       from_widget=lambda v: float(v) or None, min_value=0.0,
                      step=0.5, to_widget=lambda v: float(v or 0.0),
                      help="Rescale any gradient longer than this norm: a guard against exploding gradients.")
seed = fields.bind(cols[1].number_input, "train", "seed", "Seed", min_value=0, step=1,
                   help="The same spec and seed give the same loss history on a CPU.")
callbacks = model_controls.callback_controls(fields)  # early stopping and reduce-LR: one field from several widgets

units = model_controls.units_from_text(units_text, spec.model.units)
spec = fields.commit(
    model={"task": task, "units": units, "bidirectional": bool(bidirectional) and mode != "stateful"},
    train=callbacks,
)
model_controls.layer_table_view(spec)
