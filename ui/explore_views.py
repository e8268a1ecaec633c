"""Inspect → Explore: what the cells learned (core/explore): select and match, memory half-life, the
unit-signal map, what-if edits and the hidden-state path over training. The engine computes; this
module only lays out controls, charts and downloads. Keras is imported with core.explore, when the
view draws (as for the other gate views)."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, describe
from core.charts import explore as explore_charts

from .views import sticky_choice

if TYPE_CHECKING:
    from . import probe as probes

PARTS = {
    "Select and match": "Pick a span of a test window: the units on over it are a pattern; every window of every "
                        "split is searched for spans where the same units are on (LSTMVis), and what followed them "
                        "is compared with what follows any span.",
    "Half-life": "How long each unit remembers: -1/ln(mean gate) of its forget (LSTM) or update (GRU) gate over "
                 "the test windows, as a half-life in steps.",
    "Unit-signal map": "Which signal of the input each unit follows: the correlation of its h with the level, the "
                       "change, the volatility, the distance from a moving average, the weekday and the target.",
    "What-if": "Edit the input window or clamp units, and see the forecast and the hidden state change; the "
               "ablation table gives the test RMSE with each cluster of units clamped.",
    "Over training": "One window's hidden-state path on fixed PCA axes, epoch by epoch: how the representation forms.",
}
MAX_MATCHES = 500  # distinct matches the distribution is drawn from; the top few are drawn as small multiples
CONTEXT = 20  # steps of series drawn before each match's span


def _memo(key: tuple, build):
    """A few expensive results per session (signal maps, trajectories, ablations)."""
    memo = st.session_state.setdefault("explore_memo", {})
    if key not in memo:
        if len(memo) >= 8:
            memo.pop(next(iter(memo)))
        memo[key] = build()
    return memo[key]


def _states(p: probes.Probe, layer: str):
    from core.explore import states

    epoch = p.epochs[-1]
    return states.cached((p.run_id, epoch, layer), lambda: states.compute(p.model, p.windowed, p.history[epoch], layer))


def explore_view(p: probes.Probe) -> None:
    """The Explore view: a part picker, the layer and test window, then the part."""
    from core.explore import states

    layers = {layer.name: layer for layer in states.explorable(p.model)}
    w = p.windowed
    if not layers or w.classes or p.spec.model.embedding_dim or not len(w.X["test"]):
        st.info("The explorer works on numeric forecasts with a recurrent layer and test windows; this run "
                "has " + ("no recurrent layer." if not layers else "no test windows." if not len(w.X["test"])
                          else "classes or tokens as its target or input."), icon=":material/info:")
        return
    # sticky: a click on the active part cleared it, and the view jumped back to "Select and match"
    part = sticky_choice("Explore", list(PARTS), key="explore_part",
                         help="Five questions about the trained units; each has its own download.")
    st.caption(PARTS[part])
    left, right = st.columns([2, 3])
    name = left.selectbox("Layer", list(layers), key="explore_layer",
                          help="; ".join(f"{n}: {v.cell}, {v.units} units" for n, v in layers.items()))
    n = len(w.X["test"])
    every_window = part in ("Half-life", "Unit-signal map")  # these read all test windows; the slider keeps its value
    i = right.slider("Test window", 1, n, key="explore_window", value=1, disabled=every_window,
                     help="The test windows in date order (1 the first); the command line's --window K is this "
                          "number minus 1." + (" This part reads every test window." if every_window else "")
                     ) - 1 if n > 1 else 0
    with st.spinner("Replaying every window once (cached for this run and epoch)..."):
        found = _states(p, name)
    if found.every > 1:
        st.caption(f"Every {found.every}th window is used: all of them would pass the cache limit "
                   "(RNNLAB_EXPLORE_CACHE_MB).")
    {"Select and match": match_part, "Half-life": halflife_part, "Unit-signal map": signal_part,
     "What-if": whatif_part, "Over training": trajectory_part}[part](p, found, i)


def _window_h(p: probes.Probe, found, i: int) -> np.ndarray:
    """h (time steps, units) of test window i: from the cache, or replayed when it was thinned away."""
    row = found.find("test", i)
    if row >= 0:
        return found.h[row]
    return p.replay(p.windowed.X["test"][i:i + 1], p.epochs[-1])[found.layer]["h"][0]


def _times(p: probes.Probe, i: int) -> tuple[list[str], np.ndarray]:
    w = p.windowed
    start = int(w.starts["test"][i])
    rows = np.arange(start, start + w.input_shape[0])
    return [charts._when(d) for d in w.index[rows]], w.levels[rows]


def _csv_button(label: str, frame: pd.DataFrame, name: str, key: str, index: bool = False, col=st) -> None:
    col.download_button(label, lambda: frame.to_csv(index=index).encode(), file_name=name, mime="text/csv",
                        icon=":material/download:", key=key)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def match_part(p: probes.Probe, found, i: int) -> None:
    """Select a span and a threshold; the pattern on the heatmap, the matches, what followed them."""
    from core.explore import match

    steps = found.steps
    a_col, b_col, c_col = st.columns([3, 2, 1])
    a, b = a_col.slider("Span (steps of the window)", 1, steps, value=(max(1, steps - 4), steps), key="explore_span",
                        help="Drag both ends: the steps whose hidden state defines the pattern. Step 1 is the "
                             "window's oldest.")
    threshold = b_col.slider("Threshold", -1.0, 1.0, 0.3, 0.05, key="explore_threshold",
                             help="A unit is on where its h is above this; the pattern is the units on at every "
                                  "step of the span (LSTMVis uses 0.3).")
    top = c_col.number_input("Shown", 1, 24, 8, key="explore_top", help="Top matches drawn as small multiples.")
    times, values = _times(p, i)
    h = _window_h(p, found, i)
    chosen = match.pattern(h, a - 1, b - 1, threshold)
    title = f"{found.layer} · test window {i + 1} · {int(chosen.sum())} of {found.units} units on over steps {a}-{b} (●)"
    st.plotly_chart(explore_charts.selection_figure(values, times, h, (a - 1, b - 1), chosen, title),
                    width="stretch", key="explore_selection")
    if not chosen.any():
        st.info(f"No unit stays above {threshold:g} over steps {a}-{b}: lower the threshold or shorten the span.",
                icon=":material/info:")
        return
    w = p.windowed
    hits = match.search(found, chosen, b - a + 1, threshold, MAX_MATCHES, ("test", i, a - 1))
    table = match.table(hits, w, w.levels)
    good = table[table["score"] > 0]
    _match_panels(p, good.head(int(top)), b - a + 1)
    everything = match.baseline(found, w.levels, b - a + 1, w.horizon)
    st.plotly_chart(explore_charts.followed_figure(good["followed_pct"].dropna().to_numpy(), everything, w.horizon),
                    width="stretch", key="explore_followed")
    st.markdown(describe.escape(match.summary(good, everything, w.horizon)))
    st.caption(f"{len(good)} spans score above 0 (pattern units on, minus other units on); no two overlap in the "
               "series, and each stretch of the series counts once, however many windows hold it. The first is "
               "the span you selected.")
    row = st.container(horizontal=True)
    _csv_button("matches.csv", table, f"{p.run_id}-matches.csv", "dl-explore-matches", col=row)
    row.download_button("pattern.npz", lambda: _npz(h=h, selected=chosen, span=np.array([a - 1, b - 1])),
                        file_name=f"{p.run_id}-pattern.npz", mime="application/octet-stream",
                        icon=":material/download:", key="dl-explore-pattern")


def _match_panels(p: probes.Probe, table: pd.DataFrame, length: int) -> None:
    w = p.windowed
    after = max(w.horizon, 5)
    panels = []
    for r in table.itertuples():
        end = int(r.row)
        lo = end - length + 1
        panels.append({"title": f"{r.span_end_date}<br>{r.split} · score {r.score}",
                       "before": w.levels[max(0, lo - CONTEXT):lo], "span": w.levels[lo:end + 1],
                       "after": w.levels[end + 1:end + 1 + after]})
    if panels:
        columns = 4 if len(panels) > 3 else len(panels)
        st.plotly_chart(explore_charts.matches_figure(panels, columns), width="stretch", key="explore_matches")
        st.caption(f"The change in % from the span's last value. Grey: the {CONTEXT} steps before the span; black: "
                   f"the span; red: the next {after} steps, what followed (the forecast horizon is {w.horizon}). "
                   "Dates are the span's last step.")


def halflife_part(p: probes.Probe, found, i: int) -> None:
    """A histogram of the units' half-lives against the window length."""
    from core.explore import units

    table = units.half_life(found.keep)
    if not len(table):
        st.info(units.NO_HALF_LIFE, icon=":material/info:")
        return
    label = f"{found.layer} ({found.cell}, {'forget' if found.cell == 'LSTM' else 'update'} gate)"
    st.plotly_chart(explore_charts.halflife_figure(table["half_life"].to_numpy(), found.steps, label),
                    width="stretch", key="explore_halflife")
    st.markdown(describe.escape(units.half_life_words(table, found.steps)))
    st.caption("Half-life = ln 2 × -1/ln(m), m the unit's mean gate over every test window and step: the steps "
               "after which half of what the unit held is left. A mean is a summary: a gate that opens and shuts "
               "remembers longer at times. Half-lives past 4× the window are drawn at 4× the window.")
    _csv_button("halflife.csv", table.round(6), f"{p.run_id}-halflife.csv", "dl-explore-halflife")


def _signal_map(p: probes.Probe, found):
    from core.explore import units

    w = p.windowed

    def build():
        corr = units.signal_map(found, w.levels, w.index, w.horizon)
        order, cluster = units.clusters(corr)
        return corr, order, cluster

    return _memo(("signals", p.run_id, p.epochs[-1], found.layer), build)


def signal_part(p: probes.Probe, found, i: int) -> None:
    """The clustered unit-signal heatmap."""
    from core.explore import units

    corr, order, cluster = _signal_map(p, found)
    label = units.strongest(corr)
    names = [f"u{u} · {label[u]} · c{cluster[u]}" for u in order]
    title = f"{found.layer}: correlation of each unit's h with signals"
    st.plotly_chart(explore_charts.signal_map_figure(corr.to_numpy()[order], names, list(corr.columns), title),
                    width="stretch", key="explore_signals")
    counts = label.str[1:].value_counts()
    st.markdown(describe.escape("Strongest signal per unit: " + ", ".join(f"{s} {n}" for s, n in counts.items()) + "."))
    st.caption("Rows are units, ordered so that units following the same signals sit together (average-linkage "
               "clusters c1, c2, ...: the What-if view clamps them). " +
               " ".join(f"{s}: {t}." for s, t in units.SIGNALS.items()))
    out = corr.round(6)
    out["strongest"], out["cluster"] = label, cluster
    _csv_button("signals.csv", out, f"{p.run_id}-signals.csv", "dl-explore-signals", index=True)


def _whatif_controls(p: probes.Probe, found, cluster: np.ndarray) -> dict:
    """The edit and clamp controls; returns what they say."""
    from core.explore import whatif

    w = p.windowed
    steps = found.steps
    left, right = st.columns(2)
    kind = left.selectbox("Edit the input", list(whatif.EDITS), format_func=whatif.EDITS.get, key="explore_edit",
                          help="Change the window the model reads: set a span of steps to a value, hold it flat, or "
                               "shift it, in the input's own units (before scaling).")
    column = 0
    if len(w.features) > 1:
        column = w.features.index(left.selectbox("Feature", w.features, key="explore_feature"))
    a, b = left.slider("Edited steps", 1, steps, value=(steps - 4, steps), key="explore_edit_span",
                       disabled=kind == "none", help="The steps the edit applies to (1 the oldest).")
    value = left.number_input("Value", value=0.0, key="explore_value", disabled=kind in ("none", "flatten"),
                              help="'set': the new value; 'shift': the amount added; in the input's units.")
    clusters = {f"cluster c{c}": np.flatnonzero(cluster == c) for c in sorted(set(cluster))}
    picks = right.multiselect("Clamp units", [*clusters, *(f"u{u}" for u in range(found.units))], key="explore_clamp",
                              help="Hold these units' h fixed at every step, so nothing downstream sees what they "
                                   "computed. Clusters come from the unit-signal map.")
    to = right.radio("Clamp to", ["mean", "zero"], horizontal=True, key="explore_clamp_to",
                     help="mean: each unit's mean h over the test windows (the unit carries no news); zero: off.")
    chosen = sorted({int(u) for pick in picks for u in (clusters[pick] if pick in clusters else [pick[1:]])})
    return {"kind": kind, "column": column, "span": (a - 1, b - 1), "value": float(value), "units": chosen, "to": to,
            "clusters": clusters}


def whatif_part(p: probes.Probe, found, i: int) -> None:
    """Edit and clamp; the forecast, the input and the hidden state, original against what-if; the ablation table."""
    from core.explore import whatif

    w = p.windowed
    _, _, cluster = _signal_map(p, found)
    c = _whatif_controls(p, found, cluster)
    weights = p.history[p.epochs[-1]]
    x = w.X["test"][i]
    scale = whatif.affine(w.x_scaler, x.shape[1], c["column"])
    edited = whatif.edit(x, c["column"], c["kind"], *c["span"], c["value"], scale)
    values = found.mean_h[c["units"]] if c["to"] == "mean" else np.zeros(len(c["units"]))
    try:
        changed = whatif.clamp(p.model, weights, found.layer, c["units"], values) if c["units"] else weights
    except ValueError as exc:
        st.warning(describe.escape(f"These units cannot be clamped: {exc}."))
        return
    y0, before = whatif.forward(p.model, x[None], weights)
    y1, after = whatif.forward(p.model, edited[None], changed)
    if c["units"]:
        after = whatif.clamped_traces(after, found.layer, c["units"], values)
    anchor = w.naive["test"][i:i + 1]
    f0, f1 = (float(w.to_levels(y.reshape(1, -1), anchor)[0, -1]) for y in (y0, y1))
    m1, m2, m3 = st.columns(3)
    m1.metric("Forecast, original", f"{f0:,.4g}")
    m2.metric("Forecast, what-if", f"{f1:,.4g}", delta=f"{f1 - f0:+,.4g}" if f1 != f0 else None)
    m3.metric("Actual", f"{float(w.truth['test'][i]):,.4g}")
    gates_shown = list(before[found.layer])
    gate = st.selectbox("State to compare", gates_shown, index=gates_shown.index("h"), key="explore_gate",
                        help="h, or one of the layer's gates, before and after.")
    times, _ = _times(p, i)
    title = f"{found.layer} · test window {i + 1} · {gate}: original and what-if"
    fig = explore_charts.whatif_figure(times, x[:, c["column"]], edited[:, c["column"]], before[found.layer][gate][0],
                                       after[found.layer][gate][0], title)
    st.plotly_chart(fig, width="stretch", key="explore_whatif")
    st.caption("Clamping holds a unit's h at one value at every step (exact weight surgery: its outgoing weights "
               "are folded into the biases). The forecast is in the target's units.")
    st.download_button("whatif.npz", lambda: _npz(x=x, edited=edited, clamped=np.array(c["units"]), forecast=[f0, f1],
                                                  **{f"original/{g}": v[0] for g, v in before[found.layer].items()},
                                                  **{f"whatif/{g}": v[0] for g, v in after[found.layer].items()}),
                       file_name=f"{p.run_id}-whatif.npz", mime="application/octet-stream", icon=":material/download:",
                       key="dl-explore-whatif")
    _ablation(p, found, c)


def _ablation(p: probes.Probe, found, c: dict) -> None:
    from core.explore import whatif

    st.subheader("Ablation: test RMSE with each cluster clamped", divider="gray")
    table = _memo(("ablation", p.run_id, p.epochs[-1], found.layer, c["to"]),
                  lambda: whatif.ablation(p.model, p.windowed, p.history[p.epochs[-1]], found.layer, c["clusters"],
                                          found.mean_h, c["to"]))
    st.dataframe(table.style.format({"rmse": "{:,.4g}", "vs_intact": "{:.2f}×"}), width="stretch", hide_index=True,
                 column_order=["model", "rmse", "vs_intact", "units"])  # at 800 px a long units list hid the RMSE
    st.caption(f"Clamped to its {c['to']}. A cluster whose loss hurts the forecast most is what the model relies on; "
               "a ratio near 1 means the model does without it.")
    _csv_button("ablation.csv", table, f"{p.run_id}-ablation.csv", "dl-explore-ablation")


def trajectory_part(p: probes.Probe, found, i: int) -> None:
    """One window's h path on fixed PCA axes, epoch by epoch."""
    from core.explore import trajectory

    epochs = p.epochs
    if len(epochs) < 2:
        st.info("This run kept the weights of one epoch only, so there is no path over training to draw.",
                icon=":material/info:")
        return
    X = p.windowed.X["test"]
    fit = X[np.unique(np.linspace(0, len(X) - 1, min(len(X), trajectory.FIT_WINDOWS)).round().astype(int))]
    path = _memo(("trajectory", p.run_id, epochs[-1], found.layer, i),
                 lambda: trajectory.trajectory(p.model, fit, X[i], p.history, found.layer))
    chosen = st.select_slider("Epoch", options=epochs, value=epochs[-1], key="explore_epoch",
                              help="The epoch drawn bold; the others stay faint. 0 is before training.")
    st.plotly_chart(explore_charts.trajectory_figure(path["paths"], epochs, chosen, path["explained"]),
                    width="stretch", key="explore_trajectory")
    st.caption(f"Test window {i + 1}: each line is its {found.steps} steps of h, projected on the two main axes of "
               "the final epoch's hidden states (fitted on up to 256 test windows); the star is the last step, "
               "what the read-out sees. Compare the faint early epochs with the bold one: how far the path moved, and "
               "whether it settled.")
    st.download_button("trajectory.npz", lambda: _npz(**path), file_name=f"{p.run_id}-trajectory.npz",
                       mime="application/octet-stream", icon=":material/download:", key="dl-explore-trajectory")
