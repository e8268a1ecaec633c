"""Data: pick a series, the target and input columns, the window and the split."""
import streamlit as st

from core import data
from core.spec import SpecError
from ui import state, views

st.title("Data")
spec = state.get_spec()

if spec.data.source != "builtin":
    st.info(f"The current data comes from a {spec.data.source} source ({spec.data.ticker or spec.data.path}).")
    if st.button("Use the built-in S&P 500 series instead"):
        state.update_spec(data={"source": "builtin", "name": "sp500", "target": "Close", "features": ["Close"]})
        st.rerun()
    st.stop()

name = state.bind(st.selectbox, "data", "name", "Dataset", options=list(data.BUILTINS),
                  format_func=lambda n: data.BUILTINS[n].title, help="Built-in series ship with the app and work offline.")
info = data.BUILTINS[name]
st.caption(f"{info.description} Frequency: {info.frequency}. Source: {info.source}. License: {info.license}.")

try:
    frame = state.load_frame(spec.replace(data={"name": name}))
except (data.DataError, SpecError) as exc:
    st.error(f"{exc}. The previous data is kept.")
    st.stop()
columns = data.numeric_columns(frame)
for key, fallback in (("w.data.target", spec.data.target), ("w.data.features", spec.data.features)):
    valid = fallback in columns if isinstance(fallback, str) else all(c in columns for c in fallback)
    if key in st.session_state and not valid:
        st.session_state.pop(key)

left, right = st.columns(2)
with left:
    target = state.bind(st.selectbox, "data", "target", "Target (the column to predict)", options=columns)
    features = state.bind(st.multiselect, "data", "features", "Input features", options=columns,
                          help="Each selected column becomes one feature of every time step. "
                               "Usually the target itself; add others for a multivariate input.")
with right:
    length = state.bind(st.number_input, "window", "length", "Window length (time steps)", min_value=1,
                        max_value=1000, step=5, help="How many past steps the network reads to make one prediction.")
    horizon = state.bind(st.number_input, "window", "horizon", "Horizon (steps ahead)", min_value=1, max_value=365,
                         help="1 predicts the next step; 5 predicts the value five steps after the window.")
    split_help = "A fraction of the targets (0.15), or a count of the last targets (300). Split by date, never shuffled."
    val = state.bind(st.number_input, "split", "val", "Validation", min_value=0.01, step=0.05,
                     help=split_help, to_widget=float)
    test = state.bind(st.number_input, "split", "test", "Test", min_value=0.01, step=0.05, help=split_help,
                      to_widget=float)

if not features:
    st.error("Pick at least one input feature; the previous features are kept.")
    features = spec.data.features


def _split(value: float):
    return int(value) if value >= 1 else float(value)


spec = state.update_spec(
    data={"source": "builtin", "name": name, "target": target, "features": list(features)},
    window={"length": int(length), "horizon": int(horizon)},
    split={"val": _split(val), "test": _split(test)},
) or state.get_spec()

st.subheader("What the network sees")
views.data_preview(spec)
with st.expander(f"The last rows of {info.title} ({len(frame)} rows)"):
    st.dataframe(frame.tail(20), width="stretch")
