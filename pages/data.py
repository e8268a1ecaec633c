"""Data: pick a series, the target and input columns, the window and the split."""
import streamlit as st

from core import data
from core.spec import SpecError
from ui import state, views

st.title("Data")
spec = state.get_spec()


def follow_target() -> None:
    """When the inputs were just the old target, make them the new target."""
    if st.session_state.get("w.data.features") == [state.get_spec().data.target]:
        st.session_state["w.data.features"] = [st.session_state["w.data.target"]]


def split_input(name: str, label: str, by_count: bool):
    help_text = "Split by date, never shuffled: test is the last segment, validation the one before it."
    if by_count:
        return state.bind(st.number_input, "split", name, f"{label} (number of targets)", min_value=1, step=10,
                          key=f"w.split.{name}.count", to_widget=lambda v: v if isinstance(v, int) else 300,
                          help=help_text)
    return state.bind(st.number_input, "split", name, f"{label} (share of targets)", min_value=0.01, max_value=0.95,
                      step=0.05, format="%.2f", key=f"w.split.{name}.share",
                      to_widget=lambda v: v if isinstance(v, float) else 0.15, help=help_text)


if spec.data.source != "builtin":
    st.info(f"The current data comes from a {spec.data.source} source ({spec.data.ticker or spec.data.path}).")
    if st.button("Use the built-in S&P 500 series instead"):
        state.update_spec(data={"source": "builtin", "name": "sp500", "target": "Close", "features": ["Close"]})
        st.rerun()
else:
    name = state.bind(st.selectbox, "data", "name", "Dataset", options=list(data.BUILTINS),
                      format_func=lambda n: data.BUILTINS[n].title,
                      help="Built-in series ship with the app and work offline.")
    info = data.BUILTINS[name]
    st.caption(f"{info.description} Frequency: {info.frequency}. Source: {info.source}. License: {info.license}.")
    try:
        frame = state.load_frame(spec.replace(data={"name": name}))
    except (data.DataError, SpecError) as exc:
        st.error(f"{exc}. The previous data is kept.")
        frame = None

if spec.data.source == "builtin" and frame is not None:
    columns = data.numeric_columns(frame)
    for key, current in (("w.data.target", [spec.data.target]), ("w.data.features", spec.data.features)):
        if key in st.session_state and not all(c in columns for c in current):
            st.session_state.pop(key)  # the new dataset lacks these columns: start from the spec's defaults

    left, right = st.columns(2)
    with left:
        target = state.bind(st.selectbox, "data", "target", "Target (the column to predict)", options=columns,
                            on_change=follow_target)
        features = state.bind(st.multiselect, "data", "features", "Input features", options=columns,
                              help="Each selected column becomes one feature of every time step. "
                                   "Usually the target itself; add others for a multivariate input.")
        by_count = st.radio("Split sizes as", ["share of targets", "number of targets"], horizontal=True,
                            index=int(isinstance(spec.split.test, int)), key="split_mode") == "number of targets"
    with right:
        length = state.bind(st.number_input, "window", "length", "Window length (time steps)", min_value=1,
                            step=5,
                            help="How many past steps the network reads to make one prediction.")
        horizon = state.bind(st.number_input, "window", "horizon", "Horizon (steps ahead)", min_value=1,
                             help="1 predicts the next step; 5 predicts the value five steps after the window.")
        val = split_input("val", "Validation", by_count)
        test = split_input("test", "Test", by_count)

    if not features:
        st.error("Pick at least one input feature; the previous features are kept.")
        features = spec.data.features
    spec = state.update_spec(
        data={"source": "builtin", "name": name, "target": target, "features": list(features)},
        window={"length": int(length), "horizon": int(horizon)},
        split={"val": int(val) if by_count else float(val), "test": int(test) if by_count else float(test)},
    ) or state.get_spec()

    st.subheader("What the network sees")
    views.data_preview(spec)
    with st.expander(f"The last rows of {info.title} ({len(frame)} rows)"):
        st.dataframe(frame.tail(20), width="stretch")
