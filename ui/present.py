"""Presentation mode: full width, larger type, no sidebar, and a walk through the presets.

On with the sidebar toggle or `?present=1` in the address (so a prepared link opens in it, also on a
preset: `?present=1&preset=stock-lstm-60`); off with the Exit button on the Presets page.

The presenter drives the whole show (pick, train, watch, stop, next) from the first screen at
1280x720, a projector's size: one row of controls, a one-line status, the live charts under it,
and chart text scaled with the page (see `scale_figure`).
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core import presets

KEY = "presenting"
ASKED = "preset"  # the Presets page's "preset on show" key: a link's ?preset= is kept here (see on)
# Page text is 25 px here (20 px root, paragraphs 1.25 rem). Widgets that Streamlit sizes in px of
# its own (the picker, buttons, the metrics grid) are scaled to match; the grid is a canvas, so
# CSS zoom is what reaches its text.
CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
  [data-testid="stHeader"],
  [data-testid="stDecoration"], header [data-testid="stHeaderActionElements"] {display: none !important;}
  .block-container, [data-testid="stMainBlockContainer"] {max-width: 100% !important; padding: 0.8rem 2.5rem !important;}
  html, body, [data-testid="stAppViewContainer"] {font-size: 20px;}
  [data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.25rem; line-height: 1.5;}
  [data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {font-size: 1.0rem;}
  [data-testid="stWidgetLabel"] p, [data-testid="stSelectbox"] div[data-baseweb="select"],
  [data-testid="stBaseButton-primary"] p, [data-testid="stBaseButton-secondary"] p {font-size: 1.2rem !important;}
  [data-testid="stDataFrame"] {zoom: 1.25;}
  [data-testid="stProgress"] p {font-size: 1.1rem;}
  h1 {font-size: 2.2rem !important; padding: 0.2rem 0 0.1rem 0 !important;}
  h2 {font-size: 2.0rem !important;} h3 {font-size: 1.6rem !important;}
</style>
"""
TICK_PX, TITLE_PX = 19, 25  # chart text in presentation mode: ticks and legend near the page's 20-25 px


def on() -> bool:
    """True in presentation mode; `?present=1` turns it on for this session, and a `?preset=` next
    to it names the first preset on show (the app switches to the Presets page, which drops the
    address's other parameters)."""
    if st.query_params.get("present") in ("1", "true", "yes"):
        st.session_state[KEY] = True
        asked = st.query_params.get("preset")
        if asked in presets.PRESETS and ASKED not in st.session_state:
            st.session_state[ASKED] = asked
    return bool(st.session_state.get(KEY))


def style() -> None:
    """Apply the presentation look to this run of the script (call on every run while on)."""
    st.markdown(CSS, unsafe_allow_html=True)


def scale_figure(fig: go.Figure) -> go.Figure:
    """A copy of `fig` with its text at the page's size: Plotly's own 12-15 px ticks and 17-20 px
    titles are unreadable from the back of a room next to 25 px page text."""
    big = go.Figure(fig)
    big.update_layout(font=dict(size=TICK_PX), title_font_size=TITLE_PX, legend_font_size=TICK_PX,
                      margin=dict(t=60))
    # Streamlit's chart theme sets the axes' own font sizes, which win over layout.font: set them too.
    big.update_xaxes(tickfont_size=TICK_PX, title_font_size=TICK_PX)
    big.update_yaxes(tickfont_size=TICK_PX, title_font_size=TICK_PX)
    return big


def start() -> None:
    st.session_state[KEY] = True
    st.query_params["present"] = "1"  # a refresh stays in presentation mode


def leave() -> None:
    st.session_state[KEY] = False
    st.query_params.pop("present", None)
