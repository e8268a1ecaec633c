"""The Inspect page's views: gate heatmaps, saturation and gradient flow (the memory race is in
ui/memory_race_views.py, re-exported here for the page).

core.gates (and ui.probe, which uses it) import Keras, so they are imported where a gate view
draws, not with this module: the memory race view trains in the worker pool, and the server does
not import TensorFlow for it (3-6 s and about 560 MB).
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core import cells, charts, describe

from . import session_runs, views
from .memory_race_views import memory_race_view  # noqa: F401  (pages/inspect.py draws it from here)

if TYPE_CHECKING:
    from . import probe as probes

VIEWS = {
    "Gates": "Every gate and state of one window, as the model computes them. Pick a window and a layer; "
             "while training runs, the heatmaps follow the newest weights.",
    "Saturation": "How often each gate unit is pinned near 0 (closed) or 1 (open) over the test windows "
                  "(Karpathy, Johnson & Fei-Fei 2015). Compare two runs side by side, e.g. LSTM vs GRU.",
    "Gradient flow": "How strongly each input step moves the prediction: |dŷ/dx_t|, averaged over test windows. "
                     "A curve that sinks towards old steps is the vanishing gradient.",
    "Explore": "What the cells learned: select a span and find where the same units fire, memory half-lives, "
               "which signal each unit follows, what-if edits and clamps, and the path over training.",
    "Memory race": "SimpleRNN, LSTM and GRU race on a task whose answer lies k steps back, with the same budget.",
}
SORTS = {"as built": "as built", "mean": "by mean activation of h", "correlation": "by correlation of h with the target"}
MAX_WINDOWS = 512  # test windows used for saturation (evenly spaced): a few hundred is plenty for fractions
GRAD_WINDOWS = 256


def view_picker() -> str:
    """The view control; the choice survives page switches."""
    return views.sticky_choice(
        "View", list(VIEWS), key="inspect_view",
        help="Gates: every gate and state of one window, time step by unit. Saturation: how often each gate unit "
             "is pinned near 0 or 1. Gradient flow: how far back the prediction reaches. Explore: what the units learned. Memory race: SimpleRNN "
             "vs LSTM vs GRU on a task that needs memory.")


def _memo(key: tuple, build):
    """Session-level cache of a few expensive results (replays over all test windows, gradients)."""
    memo = st.session_state.setdefault("inspect_memo", {})
    if key not in memo:
        if len(memo) >= 8:
            memo.pop(next(iter(memo)))
        memo[key] = build()
    return memo[key]


def _evenly(n: int, limit: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else np.arange(0)


def _label(p: probes.Probe) -> str:
    return describe.run_label(p.spec, p.run_id, p.imported)


def _window_picker(p: probes.Probe, col) -> int:
    """A slider over the test windows and a date input, kept in step; returns the window index."""
    dates = p.windowed.dates["test"]
    n = len(dates)
    i = min(int(st.session_state.get("inspect_window", 0)), n - 1)
    if st.session_state.get("inspect_window_run") != p.run_id:  # another run: its own range
        i = 0
        st.session_state.update({"inspect_window_run": p.run_id, "inspect_slider": 1,
                                 "inspect_date": dates[0].date()})
    st.session_state["inspect_window"] = i
    st.session_state.setdefault("inspect_slider", i + 1)
    st.session_state.setdefault("inspect_date", dates[i].date())

    def from_slider() -> None:
        j = int(st.session_state["inspect_slider"]) - 1
        st.session_state.update(inspect_window=j, inspect_date=dates[j].date())

    def from_date() -> None:
        day = pd.Timestamp(st.session_state["inspect_date"])
        j = int(min(np.searchsorted(dates.normalize(), day), n - 1))
        st.session_state.update(inspect_window=j, inspect_slider=j + 1, inspect_date=dates[j].date())

    if n > 1:
        col.slider("Test window", 1, n, key="inspect_slider", on_change=from_slider,
                   help="The test windows in date order; 1 is the first (the one the command line exports).")
    col.date_input("or its target date", min_value=dates[0].date(), max_value=dates[-1].date(), key="inspect_date",
                   on_change=from_date,
                   help=f"Test targets run from {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}. A day without a "
                        "target (a weekend, a holiday) jumps to the next one.")
    return int(st.session_state["inspect_window"])


def follow_caption(kept: int, trained: int) -> str:
    """What "Follow training" shows: the epoch of the weights in the heatmaps, and why it may trail
    the progress bar (the worker writes the weights every 2 s, not after every epoch)."""
    text = f"Weights after epoch {kept}, the newest kept"
    if trained > kept:
        text += (f"; training has finished epoch {trained}, whose weights follow within 2 s (they are written "
                 "every 2 s, not after every epoch)")
    return text + ". Refreshes every 2 s."


def _epoch_picker(p: probes.Probe, col) -> int:
    epochs = p.epochs
    if p.running and col.toggle("Follow training", value=True, key="inspect_follow",
                                help="Show the newest epoch's weights as training goes on. Turn off to scrub back."):
        col.caption(follow_caption(epochs[-1], p.trained))
        return epochs[-1]
    if len(epochs) == 1:
        col.caption(f"Weights after epoch {epochs[0]}" if epochs[0] else "Weights before training")
        return epochs[0]
    key = f"inspect_epoch-{p.run_id}"
    if st.session_state.get(key) not in epochs:
        st.session_state[key] = epochs[-1]
    return col.select_slider("Epoch", options=epochs, key=key,
                             help="Scrub through training: the gates computed with the weights after each epoch "
                                  "(0 is before training). Long runs keep every 2nd, 4th, ... epoch.")


def _times(p: probes.Probe, i: int, decoder: bool) -> tuple[list[str], np.ndarray]:
    """Time-axis labels and the target's values at those times, for window i of the test split."""
    w = p.windowed
    start = int(w.starts["test"][i])
    length = w.input_shape[0]
    rows = np.arange(start + length, start + length + w.horizon) if decoder else np.arange(start, start + length)
    rows = rows[rows < len(w.index)]
    labels = [charts._when(d) for d in w.index[rows]]
    return labels, w.levels[rows]


NO_GATES = ("This run's model has no recurrent layer (SimpleRNN, LSTM or GRU, plain or Bidirectional) at its top "
            "level, so there are no gates or states to show. Gradient flow works for any model.")


def _has_gates(p: probes.Probe) -> bool:
    """Whether the run's model has a recurrent layer to replay; says so on the page when it has none (an
    imported model: RNN Lab's own always have one, and imports without one are refused since)."""
    if p.layers:
        return True
    st.info(NO_GATES, icon=":material/info:")
    return False


def gates_view(p: probes.Probe) -> None:
    """The Gates view: pick a window, a layer, an order and an epoch; heatmaps below."""
    if not _has_gates(p):
        return
    w = p.windowed
    if not len(w.dates["test"]):
        st.info("This run has no test windows, so there is no window to show. Give the test split more rows on "
                "the Data page.")
        return
    layers = {layer.name: layer for layer in p.layers}
    left, mid, right = st.columns([3, 2, 2])
    i = _window_picker(p, left)
    if st.session_state.get("inspect_layer") not in layers:
        st.session_state["inspect_layer"] = next(iter(layers))
    name = mid.selectbox("Layer", list(layers), key="inspect_layer",  # the name alone: 800 px cut "lstm_1 (LSTM"
                         format_func=lambda n: n + (" (Bi)" if layers[n].bidirectional else ""),
                         help="; ".join(f"{n}: {'Bidirectional ' if v.bidirectional else ''}{v.cell}, {v.units} units"
                                        for n, v in layers.items()))
    sort = mid.selectbox("Order units", list(SORTS), format_func=SORTS.get, key="inspect_sort",
                         help="Sorting puts units that behave alike next to each other, so patterns stand out. "
                              "The same order is used in every heatmap, so a row is one unit throughout.")
    epoch = _epoch_picker(p, right)
    traces = p.replay(w.X["test"][i:i + 1], epoch)
    layer = layers[name]
    decoder = name.endswith("decoder")
    times, target = _times(p, i, decoder)
    one = {g: v[0, :len(times)] for g, v in traces[name].items()}
    from core import gates

    order = gates.order_units(one["h"], sort, target)
    date = charts._when(w.dates["test"][i])
    target_text = (f"forecast steps 1-{w.horizon}, to {date}" if decoder
                   else f"target {date}" + (f", {w.horizon} steps ahead" if w.horizon > 1 else ""))
    title = (f"{name} · test window {i + 1} of {len(w.dates['test'])} ({target_text}) · "
             + (f"epoch {epoch}" if epoch else "before training"))
    split = layer.units if layer.bidirectional and sort == "as built" else None
    fig = charts.gate_figure(None if decoder else w.X["test"][i], w.features, times, one, order, title, split=split)
    st.plotly_chart(fig, width="stretch", key="gate_chart")
    notes = ["Sigmoid gates share one 0-to-1 colour scale, tanh states (candidate, h) one -1-to-1 scale"
             + (", and the cell state c its own scale, since it is not bounded" if "cell" in one else "") + "."]
    if layer.bidirectional:
        notes.append(f"Units u0-u{layer.units - 1} read forwards, u{layer.units}-u{2 * layer.units - 1} backwards.")
    if decoder:
        notes.append("The decoder's steps are the forecast steps after the window, not input steps.")
    if p.spec.model.mode == "stateful":
        notes.append("Stateful model: the replay starts this window from zero states; when predicting, the model "
                     "carries its state over from the windows before, so only the first test window matches exactly.")
    keep = cells.cell(layer.cell).memory_gate
    if keep:
        notes.append(f"Mean {keep} gate over this window: {one[keep].mean():.2f}, so each step the layer "
                     f"keeps about {one[keep].mean():.0%} of its memory.")
    st.caption(" ".join(notes))
    _exports(p, traces, i, epoch)


def traces_csv(traces: dict[str, dict[str, np.ndarray]], times_by_layer: dict[str, list[str]]) -> bytes:
    """One window's traces as long CSV: layer, gate, step, date, unit, value."""
    parts = []
    for layer, by_gate in traces.items():
        for gate, values in by_gate.items():
            v = values[0]  # (time steps, units)
            steps, units = v.shape
            dates = (times_by_layer.get(layer, []) + [""] * steps)[:steps]
            parts.append(pd.DataFrame({
                "layer": layer, "gate": gate, "step": np.repeat(np.arange(1, steps + 1), units),
                "date": np.repeat(dates, units), "unit": np.tile(np.arange(units), steps),
                "value": v.reshape(-1).round(6)}))
    return pd.concat(parts, ignore_index=True).to_csv(index=False).encode()


def traces_npz(traces: dict[str, dict[str, np.ndarray]]) -> bytes:
    """One window's traces as .npz, keys "<layer>/<gate>", like DIR/gates.npz."""
    from core import gates

    buffer = io.BytesIO()
    np.savez(buffer, **gates.flat(traces))
    return buffer.getvalue()


def _exports(p: probes.Probe, traces: dict, i: int, epoch: int) -> None:
    times = {name: _times(p, i, name.endswith("decoder"))[0] for name in traces}
    stem = f"{p.run_id}-gates-window{i + 1}-epoch{epoch}"
    a = b = st.container(horizontal=True)  # as wide as their labels: columns cut them to "g..." at 800 px
    # built when clicked, not on every 2-second refresh while training runs
    a.download_button("gates.npz", lambda: traces_npz(traces), file_name=f"{stem}.npz", mime="application/octet-stream",
                      icon=":material/download:", key="dl-gates-npz",
                      help="Every layer's gates for this window: numpy.load gives '<layer>/<gate>' arrays shaped "
                           "(time steps, units).")
    b.download_button("gates.csv", lambda: traces_csv(traces, times), file_name=f"{stem}.csv", mime="text/csv",
                      icon=":material/download:", key="dl-gates-csv",
                      help="The same values as a long table: layer, gate, step, date, unit, value.")


def _compare_with(p: probes.Probe):
    """A second run of this session to put next to `p`, or None."""
    others = [r for r in session_runs.ids() if r != p.run_id]
    if not others:
        st.caption("Train another model in this session (e.g. a GRU after an LSTM) to compare the two here.")
        return None
    labels = {r: session_runs.label(r) for r in others}  # worked out here, in the script run, not in the widget
    choice = st.selectbox("Compare with", [None, *others], key="inspect_compare",
                          format_func=lambda r: "nothing" if r is None else labels.get(r, r),
                          help="Another run you trained in this session, drawn next to this one.")
    if choice is None:
        return None
    from . import probe as probes

    other = session_runs.find(choice)
    found = probes.probe(other) if other is not None else "that run is no longer in the run store"
    if isinstance(found, str):
        st.warning(describe.escape(f"Cannot compare with {choice}: {found}"))
        return None
    return found


def _saturation_of(p: probes.Probe) -> tuple[dict, dict]:
    """(layer -> gate -> (2, units) saturation fractions, layer -> gate -> histogram) over the test windows,
    from one replay (the expensive part)."""
    from core import gates

    epoch = p.epochs[-1]

    def build():
        X = p.windowed.X["test"][_evenly(len(p.windowed.y["test"]), MAX_WINDOWS)]
        fractions, spread = {}, {}
        for name, by_gate in p.replay(X, epoch).items():
            sig = {g: v for g, v in by_gate.items() if g in gates.SIGMOID_GATES}
            fractions[name] = gates.saturation(sig) if sig else gates.saturation({"h": by_gate["h"]}, -0.9, 0.9)
            spread[name] = gates.histograms(sig or {"h": by_gate["h"]})
        return fractions, spread

    return _memo(("gate_stats", p.run_id, epoch), build)


def _runs_to_show(p: probes.Probe, what: str) -> list[probes.Probe]:
    """This run and the one picked to compare with it; [] (with a note) when there are no test windows."""
    if not len(p.windowed.y["test"]):
        st.info(f"This run has no test windows to measure {what} on.")
        return []
    other = _compare_with(p)
    return [p] if other is None else [p, other]


def saturation_view(p: probes.Probe) -> None:
    """The Saturation view: one scatter per run, one point per gate unit."""
    if not _has_gates(p):
        return
    shown = [q for q in _runs_to_show(p, "saturation") if q.layers]
    if not shown:
        return
    stats = {_label(q): _saturation_of(q) for q in shown}
    # The distribution of the gate values first: after a default run no unit saturates, so the per-unit
    # scatter below is one dot at (0, 0), while the histogram still shows where the gates work.
    st.plotly_chart(charts.gate_histogram_figure({label: spread for label, (_, spread) in stats.items()}),
                    width="stretch", key="gate_histogram_chart")
    for label, (fractions, _) in stats.items():
        from core import gates

        tanh = all(set(by_gate) == {"h"} for by_gate in fractions.values())
        low, high = (-0.9, 0.9) if tanh else (0.1, 0.9)
        said = " · ".join(f"{layer}: {gates.saturation_words(by_gate, low, high)}" for layer, by_gate in fractions.items())
        st.caption(f"**{describe.escape(label)}**, saturation (share of all values): {said}.")
    st.caption("Each line is one gate: how its values over every unit, test window and time step spread between "
               "0 (shut) and 1 (wide open); the grey ends are the saturated zones (below 0.1, above 0.9). A "
               "gate whose values crowd in the middle works in between, as is usual early in training or on smooth "
               "series; a gate with mass at both ends acts as a switch. SimpleRNN has no gates: its h is shown "
               "(-1..1, with -0.9 and 0.9 as the thresholds). Dashes tell the layers apart.")
    with st.expander("Per unit: how often each gate unit is saturated (Karpathy et al. 2015)"):
        panels = {label: fractions for label, (fractions, _) in stats.items()}
        st.plotly_chart(charts.saturation_figure(panels), width="stretch", key="saturation_chart")
        for label, by_layer in panels.items():
            fractions = np.concatenate([f for by_gate in by_layer.values() for f in by_gate.values()], axis=1)
            idle = int(np.sum(fractions.max(axis=0) < 0.01))
            if idle:
                st.caption(f"**{describe.escape(label)}**: {idle} of {fractions.shape[1]} gate units sit at (0, 0), on top of each "
                           "other: they are almost never below 0.1 or above 0.9; the histogram above shows where "
                           "their values lie.")
        st.caption("Each point is one unit of one gate. Left-saturated: below 0.1 (the gate is shut); "
                   "right-saturated: above 0.9 (wide open). Points near the diagonal's ends are switches; forget "
                   "gates far up the y axis are units that remember for a long time. Markers tell the layers apart "
                   "(circle: first layer).")


def _flow_of(p: probes.Probe) -> np.ndarray:
    from core import gates

    epoch = p.epochs[-1]

    def build():
        if p.imported:  # an uploaded model: its own layers, not the spec's
            import keras

            twin = keras.models.clone_model(p.model)
            twin.set_weights(p.history[epoch])
        else:
            twin = gates.twin(p.spec, p.windowed.input_shape, p.history[epoch], len(p.windowed.classes or ()),
                              p.windowed.vocab)
        X = p.windowed.X["test"][_evenly(len(p.windowed.y["test"]), GRAD_WINDOWS)]
        return gates.gradient_flow(twin, X, classify=bool(p.windowed.classes))

    return _memo(("flow", p.run_id, epoch), build)


def gradient_view(p: probes.Probe) -> None:
    """The Gradient flow view: mean |dŷ/dx_t| per input step, for this run and maybe another."""
    if p.spec.model.embedding_dim:
        st.info("Gradient flow needs inputs with a gradient, and this model reads tokens through an embedding (a "
                "table look-up). Try a run with one-hot inputs, e.g. the next-letter-4 preset.",
                icon=":material/info:")
        return
    shown = [q for q in _runs_to_show(p, "the gradient") if not q.spec.model.embedding_dim]
    if not shown:
        return
    log_y = st.toggle("Log scale", value=True, key="inspect_grad_log",
                      help="Gradients often shrink by orders of magnitude; a log axis shows all of them.")
    flows = {_label(q): _flow_of(q) for q in shown}
    st.plotly_chart(charts.gradient_figure(flows, log_y), width="stretch", key="gradient_chart")
    if p.spec.window.horizon > 1 or p.spec.model.mode == "many_to_many":
        st.caption("ŷ is the model's main output: the value furthest ahead (the last forecast step, or in "
                   "many-to-many the prediction made at the window's last step).")
    for label, flow in flows.items():
        newest, oldest = float(flow[-1]), float(flow[0])
        ratio = newest / oldest if oldest > 0 else float("inf")
        st.caption(f"{describe.escape(label)}: the newest input step moves the prediction {_times_text(ratio)} as much as the oldest "
                   f"({len(flow) - 1} steps earlier)." + (" The old steps hardly matter: the gradient vanishes "
                                                          "on the way back." if ratio > 100 else ""))


def _times_text(ratio: float) -> str:
    """1.5 -> "1.5×", 2300 -> "2,300×", 7e10 -> "about 10^10.8×"."""
    if not np.isfinite(ratio):
        return "infinitely more"
    if ratio >= 1e6:
        return f"about 10^{np.log10(ratio):.1f}×"
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.3g}×"
