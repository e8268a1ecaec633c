"""Data: pick a series, the target and inputs, missing values, transform, scaling, window and split."""
import streamlit as st

from core import data, evaluate
from core import spec as spec_module
from core.spec import SpecError
from core.describe import escape
from core.errors import sentence
from ui import data_views, loads, patches, spec_state, views

patches.route_through_app()  # first: see ui/patches.py

st.title("Data")
data_views.source_picker(spec_state.get_spec())
spec = spec_state.get_spec()
try:
    frame = loads.load_frame(spec)
except (data.DataError, SpecError) as exc:
    st.error(f"The current data cannot be loaded: {escape(sentence(str(exc)))} Pick another source above.")
    frame = None

TRANSFORM_HELP = ("raw: the values as they are. log: log of the values (needs values above 0). pct: percent "
                  "change from the step before. diff: change from the step before. The target becomes the change "
                  "from the window's last step; charts and metrics are turned back into original units.")
SCALER_HELP = ("Rescales every column to a small range, fitted on the training rows only, so nothing from the "
               "validation or test period leaks into training. minmax: 0 to 1 over the training rows; standard: "
               "mean 0, standard deviation 1; none: as is (slow, unstable training on large values). "
               "standard, look-ahead LEAK: the validation and test periods each standardised with their own "
               "mean and std, as some tutorials do: it tells the model the level it should predict, so its "
               "scores are not honest (kept to show why).")
SCALER_NAMES = {spec_module.LOOKAHEAD: "standard, look-ahead leak"}


def follow_target() -> None:
    """When the inputs were just the old target, make them the new target."""
    if st.session_state.get("w.data.features") == [spec_state.get_spec().data.target]:
        st.session_state["w.data.features"] = [st.session_state["w.data.target"]]


def split_input(name: str, label: str, by_count: bool):
    help_text = "Split by date, never shuffled: test is the last segment, validation the one before it."
    if by_count:
        return fields.bind(st.number_input, "split", name, f"{label} (number of targets)", from_widget=int, min_value=1,
                           step=10,
                          key=f"w.split.{name}.count", to_widget=lambda v: v if isinstance(v, int) else 300,
                          help=help_text)
    return fields.bind(st.number_input, "split", name, f"{label} (share of targets)", from_widget=float, min_value=0.01,
                       max_value=0.95,
                      step=0.05, format="%.2f", key=f"w.split.{name}.share",
                      to_widget=lambda v: v if isinstance(v, float) else 0.15, help=help_text)


fields = spec_state.Fields()  # every widget below edits one spec field; fields.commit() writes them all
if frame is not None:
    data_views.source_line(spec, frame)
    columns = data.numeric_columns(frame)
    st.subheader("Columns and preparation")
    left, mid, right = st.columns(3)
    with left:
        target = fields.bind(st.selectbox, "data", "target", "Target (the column to predict)", options=columns,
                             on_change=follow_target)
        features = fields.bind(st.multiselect, "data", "features", "Input features", from_widget=list, options=columns,
                               help="Each selected column becomes one feature of every time step. "
                                    "Usually the target itself; add others for a multivariate input.")
    with mid:
        missing = fields.bind(st.radio, "data", "missing", "Missing values", options=spec_module.MISSING,
                              horizontal=True, format_func={"drop": "drop rows", "ffill": "forward-fill",
                                                            "interpolate": "interpolate"}.get,
                              help="Drop the rows, carry the last value forward, or draw a straight line across "
                                   "the gap (in time). Leading gaps that cannot be filled are dropped.")
        data_views.missing_values(spec, frame, missing)
        transform = fields.bind(st.radio, "data", "transform", "Transform", options=spec_module.TRANSFORMS,
                                horizontal=True, help=TRANSFORM_HELP)
        scaler = fields.bind(st.radio, "data", "scaler", "Scaling", options=spec_module.SCALERS, horizontal=True,
                             format_func=lambda k: SCALER_NAMES.get(k, k), help=SCALER_HELP)
    with right:
        length = fields.bind(st.number_input, "window", "length", "Window length (time steps)", min_value=1, step=5,
                             help="How many past steps the network reads to make one prediction.")
        horizon = fields.bind(st.number_input, "window", "horizon", "Horizon (steps ahead)", min_value=0,
                              key="w.data.horizon",  # not the Model page's key: a widget id per page
                              help="1 predicts the next step; 5 predicts the value five steps after the window.")
        stride = fields.bind(st.number_input, "window", "stride", "Stride (steps between windows)", min_value=1,
                             help="1 uses every window; a larger stride keeps every n-th one (fewer, less "
                                  "overlapping samples). Counted back from the newest window.")
    by_count = st.radio("Split sizes as", ["share of targets", "number of targets"], horizontal=True,
                        index=int(isinstance(spec.split.test, int)), key="split_mode") == "number of targets"
    cols = st.columns(2)
    with cols[0]:
        val = split_input("val", "Validation", by_count)
    with cols[1]:
        test = split_input("test", "Test", by_count)
    with st.expander("Baselines the model is scored against"):
        st.caption("All are scored on the same test targets as the model, in the target's units.")
        st.markdown(evaluate.baseline_notes())
        b1, b2 = st.columns(2)
        season = fields.bind(b1.number_input, "evaluate", "season", "Season (steps; 0 = detect)", min_value=0,
                             from_widget=lambda v: int(v) or None,
                            to_widget=lambda v: v or 0,
                            help="The seasonal naive baseline repeats the value one season before the target: 5 for "
                                 "a business week of daily data, 24 for a day of hourly data. 0 detects it from the "
                                 "training rows (the strongest autocorrelation of the changes, else the calendar).")
        moving = fields.bind(b2.number_input, "evaluate", "moving_average", "Moving average of the last", min_value=1,
                             help="How many of the window's last values the moving-average baseline averages.")

    if not features:
        st.error("Pick at least one input feature; the previous features are kept.")
        features = spec.data.features
    spec = fields.commit(data={"features": list(features)})

    st.subheader("What the network sees")
    views.data_preview(spec, explain=True)
    with st.expander(f"The last rows of the data ({len(frame):,} rows)"):
        st.dataframe(frame.tail(20), width="stretch")
