"""Model: the recurrent architecture and how it trains, with its layer table."""
import streamlit as st

from core.spec import CELLS, OPTIMIZERS
from ui import state

st.title("Model")
spec = state.get_spec()

left, right = st.columns(2)
with left:
    st.subheader("Architecture")
    cell = state.bind(st.radio, "model", "cell", "Recurrent cell", options=list(CELLS), horizontal=True,
                      help="SimpleRNN: one tanh layer. LSTM: input, forget and output gates with a cell state. "
                           "GRU: update and reset gates, fewer parameters than an LSTM.")
    units_text = state.bind(st.text_input, "model", "units", "Units per layer", to_widget=lambda u: ", ".join(map(str, u)),
                            help="One number per stacked layer (1 to 1024), e.g. 64 or 64, 32. "
                                 "Every layer but the last returns its whole sequence to the next.")
    dropout = state.bind(st.slider, "model", "dropout", "Dropout after each recurrent layer", min_value=0.0,
                         max_value=0.95, step=0.05, help="Randomly zeroes this share of activations while training.")
    bidirectional = state.bind(st.toggle, "model", "bidirectional", "Bidirectional",
                               help="Read each window forwards and backwards and join both states.")
with right:
    st.subheader("Training")
    epochs = state.bind(st.number_input, "train", "epochs", "Epochs", min_value=1)
    batch = state.bind(st.select_slider, "train", "batch_size", "Batch size",
                       options=sorted({8, 16, 32, 64, 128, 256, 512, spec.train.batch_size}),
                       help="Windows per gradient step. Smaller batches: noisier, slower, sometimes better.")
    optimizer = state.bind(st.selectbox, "train", "optimizer", "Optimizer", options=list(OPTIMIZERS))
    lr = state.bind(st.number_input, "train", "learning_rate", "Learning rate", min_value=1e-6, max_value=10.0,
                    format="%.5f", step=0.0005, help="Step size of the optimizer. Too high and the loss can become NaN.")
    seed = state.bind(st.number_input, "train", "seed", "Seed", min_value=0, step=1,
                      help="The same spec and seed give the same loss history on a CPU.")

try:
    units = [int(u) for u in str(units_text).replace(";", ",").split(",") if u.strip()]
except ValueError:
    st.error(f"Units must be whole numbers separated by commas, e.g. 64, 32 (got {units_text!r}); "
             "the previous units are kept.")
    units = spec.model.units
spec = state.update_spec(
    model={"cell": cell, "units": units, "dropout": float(dropout), "bidirectional": bool(bidirectional)},
    train={"epochs": int(epochs), "batch_size": int(batch), "optimizer": optimizer, "learning_rate": float(lr),
           "seed": int(seed)},
) or state.get_spec()

st.subheader("Layers")
try:
    rows, total = state.layer_table(spec)
except Exception as exc:  # noqa: BLE001 - e.g. out of memory: say so, keep the page
    st.error(f"This model could not be built ({exc.__class__.__name__}). Use fewer units or layers.")
else:
    st.dataframe(rows, width="stretch", hide_index=True)
    st.caption(f"Total parameters: **{total:,}** · input: (batch, {spec.window.length} time steps, "
               f"{len(spec.data.features)} feature{'s' if len(spec.data.features) != 1 else ''})")
