"""RNN Lab: train recurrent networks in the browser and watch them learn."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

from core import pool  # noqa: E402

# The worker pool first, before the pages' imports: a fresh server's first session starts the warm
# worker here, so its TensorFlow import (3-5 CPU-seconds) overlaps the first page instead of
# following it, and a visitor who clicks Train as soon as the button appears waits less for it
# (bench/live.py --only cloud, "first click after a cold start"). Later sessions find it made.
pool.shared()

import core.tickers  # noqa: E402,F401  (before anything imports TensorFlow: see core/tickers.py)
from core import describe  # noqa: E402

from ui import address, patches, present, session_runs, spec_state, views  # noqa: E402

patches.keep_keras_session()
patches.bound_session_uploads()

# The icon ships with the app: a ":material/..." page icon makes every browser fetch it from Google's font
# server, which fails offline and at a venue without internet.
ICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui", "icon.png")
st.set_page_config(page_title="RNN Lab", page_icon=ICON, layout="wide")

presenting = present.on()
pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:"),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/grid_on:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    st.Page("pages/presets.py", title="Presets", icon=":material/school:"),
]
nav = st.navigation(pages, position="hidden" if presenting else "sidebar")
if presenting and nav.title != "Presets":  # presentation mode shows the Presets page only
    st.switch_page(pages[-1])

session_runs.attach_workers()  # a restarted server takes up the runs its workers still train
if not spec_state.has_spec():  # a new session starts from a share link's setup, a refreshed run's, or the defaults
    spec_state.set_spec(address.spec_of_link() or session_runs.spec_of_url_run() or spec_state.default_spec())
link = st.session_state.pop("link_message", None)
if link:
    {"error": st.error, "warning": st.warning}.get(link[0], st.success)(describe.escape(link[1]), icon=":material/link:")
address.keep_run_in_url()  # page switches drop query params; a refresh must find the run again
nav.run()  # pages draw first, so the sidebar below reflects what they changed (a Train click, a new target)
address.keep_run_in_url()  # again: the page may have changed the setup or started a run

if not presenting:  # the audience sees the page, not the controls
    with st.sidebar:
        st.markdown("**RNN Lab**: train a recurrent network on a time series and watch it learn.")
        st.button("Presentation mode", icon=":material/slideshow:", on_click=present.start, width="stretch",
                  help="Full width, larger type, no sidebar, and a Next button through the presets: for showing RNNs to "
                       "an audience. Leave it with Exit at the top right. A link with ?present=1 opens in it.")
        st.caption(describe.escape(describe.describe(spec_state.get_spec())))
        if nav.title != "Train":  # the Train page shows the run itself
            views.sidebar_status()
        with st.popover("Share this setup", icon=":material/share:", width="stretch"):
            st.caption("This link opens RNN Lab with the whole configuration above (data, window, model, training). "
                       "It does not give access to your runs; if the data is a CSV you uploaded, whoever opens the link "
                       "can train on that file.")
            st.code(address.share_link(spec_state.get_spec()), language=None, wrap_lines=True)
