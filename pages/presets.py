"""Presets: the classic RNN tutorials in one click, each with what it shows, its shapes, and a live run."""
import streamlit as st

from core import describe, presets
from core.describe import escape
from core.spec import SpecError
from core.errors import sentence
from ui import launch, loads, patches, preset_variants, present, session_runs, spec_state, train_views, views

patches.route_through_app()  # first: see ui/patches.py

NAMES = list(presets.PRESETS)
CURRENT = "preset"  # the preset on show; each mode's picker widget has its own key, seeded from it
CSV_PRESETS = ("stock-simplernn-60", "stock-lstm-60", "stock-gru-60", "stock-stacked-lstm", "stock-multifeature")

presenting = present.on()
if presenting:
    present.style()
    st.query_params["present"] = "1"  # a refresh stays in presentation mode, however it was entered

asked = st.query_params.get("preset")
if asked in presets.PRESETS and CURRENT not in st.session_state:
    st.session_state[CURRENT] = asked
st.session_state.setdefault(CURRENT, NAMES[0])
PICK = "preset_pick_present" if presenting else "preset_pick"
st.session_state[PICK] = st.session_state[CURRENT]


def picked_by_hand() -> None:
    st.session_state[CURRENT] = st.session_state[PICK]


def step(by: int) -> None:
    st.session_state[CURRENT] = NAMES[(NAMES.index(st.session_state[CURRENT]) + by) % len(NAMES)]


if presenting:  # one row: the presenter drives the show from here (see ui/present.py)
    top = st.container(horizontal=True, vertical_alignment="center")  # buttons as wide as their labels
    picked = top.selectbox("Preset", NAMES, key=PICK, label_visibility="collapsed", on_change=picked_by_hand,
                           width=380, format_func=lambda n: f"{NAMES.index(n) + 1}/{len(NAMES)} · {presets.PRESETS[n].title}")
    # Short labels: the whole row fits 1280 px at the page's 25 px type (with "Next preset" and "Train this
    # preset", Exit wrapped onto a second line and pushed the charts down).
    top.button("Back", icon=":material/arrow_back:", on_click=step, args=(-1,))
    top.button("Next", icon=":material/arrow_forward:", on_click=step, args=(1,))
    train_clicked = top.button("Train", type="primary", icon=":material/play_arrow:")
    stop_slot = top.container(width="content")  # filled once a Train click has started the run
    if top.button("Exit", icon=":material/close_fullscreen:"):
        present.leave()
        st.switch_page("pages/presets.py")
else:
    st.title("Presets")
    st.caption("The classic RNN tutorials, one click each: the same data, shapes and settings, trained live here "
               "with every view (loss, predictions, gates) and honest baselines.")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    picked = left.selectbox("Preset", NAMES, key=PICK, on_change=picked_by_hand,
                            format_func=lambda n: f"{presets.PRESETS[n].title} ({n})",
                            help="Pick a tutorial. `python -m core train --preset NAME` runs the same from a shell.")
    right.button("Next preset", icon=":material/arrow_forward:", on_click=step, args=(1,))
st.query_params["preset"] = picked

preset = presets.get(picked)
spec = preset.experiment()
if presenting:
    st.title(preset.title)
about = None if presenting else st.container()  # what the preset shows: filled below (see there)

current = spec_state.get_spec()
spec = preset_variants.apply(picked, spec, current, CSV_PRESETS)

if presenting:
    about = st.container()  # under the slide's title and options; folded under the charts once a run is on show
    load_clicked = False  # the editor's pages are hidden in front of an audience
else:
    buttons = st.container(horizontal=True)
    train_clicked = buttons.button("Train this preset", type="primary", icon=":material/play_arrow:",
                                   help="Load the preset's settings and train them now, live, on this page.")
    stop_slot = buttons.container(width="content")
    load_clicked = buttons.button("Load into the editor", icon=":material/edit:",
                                  help="Copy the settings to the Data and Model pages to change them before "
                                       "training.")
error = None
data_note = None
if load_clicked and current.data.source == "csv" and spec.data.source != "csv":
    # The editor holds the visitor's CSV: keep it when the preset can run on it, else say the data changed.
    if picked in CSV_PRESETS:
        try:
            spec, matched = presets.on_csv(spec, current.data.path, list(loads.load_frame(current).columns))
            data_note = ("ok", escape(f"It runs on your CSV, {describe.source_title(current)}: {matched}."))
        except (SpecError, ValueError) as exc:
            why = sentence(str(exc))[:-1]
            data_note = ("changed", escape(f"Your CSV does not fit it ({why[:1].lower()}{why[1:]})."))
    else:
        data_note = ("changed", "This preset needs its own data.")
if train_clicked or load_clicked:
    spec_state.set_spec(spec)
    spec_state.forget_widgets()
    if train_clicked:
        error = launch.start_training(spec)
    elif data_note and data_note[0] == "changed":
        st.warning(f"Loaded, and **the data changed**: the editor now trains on {escape(describe.source_title(spec))}, not on "
                   f"your CSV {escape(describe.source_title(current))}. {data_note[1]} To go back to your file, pick it again "
                   "on the Data page.", icon=":material/swap_horiz:")
    else:
        st.success("Loaded. " + (data_note[1] + " " if data_note else "") + "Change it on the Data and Model "
                   "pages, then train it on the Train page.", icon=":material/check:")
train_views.stop_button(stop_slot, key="preset_stop")  # after a Train click, so it can stop the run just started
if error:
    st.warning(escape(error), icon=":material/block:")

run = session_runs.current()
showing = run is not None and run.spec == spec
if showing:
    running = run.snapshot().running
    train_views.show_live(run, running, "-preset", compact=presenting)
    if not running:
        train_views.extras(run)
        views.forecast_section(run, run.snapshot())
    st.page_link("pages/inspect.py", label="Look inside the cells: the gates of this run", icon=":material/grid_on:")
elif run is not None and run.snapshot().running:
    st.info("Another run is training: **Stop** it above, or wait until it ends, to train this preset.",
            icon=":material/hourglass_top:")
else:
    st.info(f"Click **{'Train' if presenting else 'Train this preset'}** to watch it learn here.",
            icon=":material/play_arrow:")

with st.expander("What this preset shows", expanded=False) if presenting and showing else about:
    st.markdown(preset.shows)
    st.markdown(f"**What you should see:** {preset.expect}")
    st.caption(f"Reproduces {preset.origin}. Reports {', '.join(preset.report)}. "
               f"Command line: `python -m core train --preset {preset.name}`")
with st.expander("Shapes: (samples, time steps, features), layer by layer", expanded=not presenting):
    try:
        train_views.shape_explainer(spec)
    except ValueError as exc:
        st.warning(escape(sentence(str(exc))))
