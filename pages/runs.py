"""Runs: every run of this workspace to compare, open, export or delete; the cell race; imports."""
import streamlit as st

from ui import runs_views as views
from ui import backtest_views, patches, sweep_views
from ui.views import sticky_choice

patches.route_through_app()  # first: see ui/patches.py

st.title("Runs")
section = sticky_choice("Section", ["History", "Race", "Sweep", "Backtest", "Import"], key="runs_section",
                        help="History: every run you made here. Race: SimpleRNN, LSTM and GRU on the same setup. "
                             "Sweep: search cells, units, window and learning rate with Optuna. "
                             "Backtest: the setup refitted on walk-forward folds, scored against every baseline. "
                             "Import: a spec.json, a .keras model or a run bundle (.zip).")
st.caption("Runs belong to this browser's workspace (the `ws` in the address bar): bookmark the address to keep "
           "them. Others on the same server cannot see them.")

if section == "History":
    views.history()
elif section == "Race":
    views.race()
elif section == "Sweep":
    sweep_views.sweep_section()
elif section == "Backtest":
    backtest_views.backtest_section()
else:
    views.imports()
