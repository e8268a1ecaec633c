"""The Inspect page's memory race: its settings, Run / Stop, and accuracy against k as it comes in.

The race trains in the worker pool (core/memory_race.py); this view only reads its run directory,
so the server imports no TensorFlow for it.
"""
from __future__ import annotations

import streamlit as st

from core import charts, memory_race
from core.errors import sentence

from . import address, session_runs


@st.cache_resource(show_spinner=False)
def _races() -> dict:
    """The server's memory races by workspace: a refreshed page finds its race again (it runs in the pool)."""
    return {}


def memory_race_view() -> None:
    """The memory race: settings, Run / Stop, then accuracy against k as it comes in.

    The race is a run of the worker pool (core/memory_race.py): it waits its turn like any run and
    trains in a worker process; this page only reads its run directory."""
    from core import pool

    st.markdown(
        "Each sequence is Gaussian noise with a key (+1 or -1) on its first step and a marker that flags it. "
        "The label is the key's sign, **k steps before** the prediction, so guessing gives 50%. Every cell gets "
        "one layer of the same size, the same data, epochs and optimizer.")
    workspace = address.workspace()
    race = st.session_state.get("memory_race") or _races().get(workspace)  # a refreshed tab finds it by workspace
    busy = race is not None and race.state().running
    with st.form("race_form", border=True):
        a, b, c = st.columns(3)
        lags = a.multiselect("Lags k", [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200], default=[5, 20, 50, 100],
                             help="How many steps back the answer lies. Each k trains each cell once.")
        picked = a.multiselect("Cells", list(memory_race.CELLS), default=list(memory_race.CELLS))
        units = b.number_input("Units", 1, 256, 16, help="Units of the single recurrent layer, for every cell.")
        epochs = b.number_input("Epochs", 1, 100, 4, help="Passes over the training sequences, for every cell.")
        samples = c.number_input("Training sequences", 100, 50_000, 2000, step=500,
                                 help="Per k. The test set is a quarter as many (at least 200), drawn separately.")
        init = c.radio("Gate initialisation", list(memory_race.INITS), format_func=memory_race.INITS.get,
                       help="Keras's default starts LSTM forget gates near 0.73 and GRU update gates near 0.5, so "
                            "memory fades within a few dozen steps until training fixes it. Chrono (Tallec & "
                            "Ollivier 2018) starts them so memory lasts up to k steps. SimpleRNN has no gates.")
        go = st.form_submit_button("Run the race", type="primary", icon=":material/flag:", disabled=busy)
    if go:
        spec = memory_race.RaceSpec(lags=tuple(sorted(lags)), cells=tuple(picked), units=int(units), epochs=int(epochs),
                                    samples=int(samples), init=init)
        try:
            race = memory_race.MemoryRace(spec, session_runs.root(), workspace, pool.shared()).start()
            st.session_state["memory_race"] = _races()[workspace] = race
            busy = True
        except ValueError as exc:
            st.error(f"{sentence(str(exc))} Change the settings and run again.")
        except OSError as exc:  # the run store cannot be written (a full disk, no permission)
            st.error(f"The race could not be started: the run store cannot be written ({exc.strerror or exc}).")
    if race is None:
        st.caption("With the defaults the race takes about a minute on two CPU cores. Measured here with chrono "
                   "initialisation: LSTM and GRU reach 100% at k = 5, 20, 50 and 100, SimpleRNN drops to chance "
                   "from k = 50. With Keras's default initialisation all three are at chance from k = 50 "
                   "(GRU already at k = 20) within this budget: the gates can hold memory, but only once training "
                   "has found them, and the gradient that would find them fades first.")
        return
    if busy and st.button("Stop the race", icon=":material/stop:",
                          help="A queued race ends at once; a running one after its current batch, keeping the "
                               "trainings it finished."):
        race.stop()

    @st.fragment(run_every=1.0 if busy else None)
    def progress() -> None:
        s = race.state()
        if s.status == "queued":
            st.progress(0.0, text=f"Queued · {s.queue_position or 1} of {s.queue_length or 1} waiting for a free worker")
            st.info(f"Status: {s.message}. The race trains in the same workers as everyone's runs and starts when "
                    "one is free.", icon=":material/hourglass_top:")
        else:
            st.progress(s.done / s.total if s.total else 0.0, text=f"{s.done} of {s.total} trainings · {s.message}")
        if s.status == "failed":
            st.error(s.message)
        elif s.status == "stopped" and "RNNLAB_" in s.message:  # stopped by the server's time limit: say so
            st.warning(s.message)
        if len(s.results):
            st.plotly_chart(charts.memory_race_figure(s.results), width="stretch", key="race_chart")
            table = s.results.pivot_table(index="k", columns="cell", values="accuracy")
            table = table[[c for c in race.spec.cells if c in table.columns]]
            st.dataframe(table.style.format("{:.0%}"), width="stretch")
            st.download_button("memory_race.csv", s.results.to_csv(index=False).encode(), "memory_race.csv",
                               "text/csv", icon=":material/download:", key="dl-race")
        if busy and not s.running:
            st.rerun()

    progress()
    s = race.state()
    st.caption(f"Race {race.run_id}. Settings: {', '.join(race.spec.cells)}, {race.spec.units} units, "
               f"{race.spec.samples} sequences, {race.spec.epochs} epochs, Adam {race.spec.learning_rate:g}, "
               f"{memory_race.INITS[race.spec.init]}."
               + (" Stopped early: only finished trainings are shown." if s.status == "stopped" else ""))
