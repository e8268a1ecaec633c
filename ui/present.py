"""Presentation mode: full width, larger type, no sidebar, and a walk through the presets.

On with the sidebar toggle or `?present=1` in the address (so a prepared link opens in it); off
with the Exit button on the Presets page.
"""
from __future__ import annotations

import streamlit as st

KEY = "presenting"
CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
  [data-testid="stHeader"],
  [data-testid="stDecoration"], header [data-testid="stHeaderActionElements"] {display: none !important;}
  .block-container, [data-testid="stMainBlockContainer"] {max-width: 100% !important; padding: 1.2rem 2.5rem !important;}
  html, body, [data-testid="stAppViewContainer"] {font-size: 20px;}
  [data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.25rem; line-height: 1.5;}
  [data-testid="stCaptionContainer"] {font-size: 1.0rem;}
  h1 {font-size: 2.8rem !important;} h2 {font-size: 2.0rem !important;} h3 {font-size: 1.6rem !important;}
</style>
"""


def on() -> bool:
    """True in presentation mode; `?present=1` turns it on for this session."""
    if st.query_params.get("present") in ("1", "true", "yes"):
        st.session_state[KEY] = True
    return bool(st.session_state.get(KEY))


def style() -> None:
    """Apply the presentation look to this run of the script (call on every run while on)."""
    st.markdown(CSS, unsafe_allow_html=True)


def start() -> None:
    st.session_state[KEY] = True
    st.query_params["present"] = "1"  # a refresh stays in presentation mode


def leave() -> None:
    st.session_state[KEY] = False
    st.query_params.pop("present", None)
