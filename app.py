"""RNN Lab: train recurrent networks in the browser and watch them learn."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

from ui import patches, state, views  # noqa: E402

patches.keep_keras_session()

st.set_page_config(page_title="RNN Lab", page_icon=":material/neurology:", layout="wide")

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:"),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/play_circle:", default=True),
]
nav = st.navigation(pages)

with st.sidebar:
    st.markdown("**RNN Lab**: train a recurrent network on a time series and watch it learn.")
    spec = state.get_spec()
    st.caption(f"Data: {spec.data.name or spec.data.ticker or spec.data.path} · target {spec.data.target}  \n"
               f"Window {spec.window.length} · {spec.model.cell} {spec.model.units} · {spec.train.epochs} epochs")
    views.sidebar_status(live=nav.title != "Train")  # the Train page polls on its own

nav.run()
