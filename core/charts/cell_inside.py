"""Charts of the inside of a recurrent cell: gate heatmaps, gate saturation, gradient flow and hidden states."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ._style import _layout, run_colours


GATE_SCALES = {  # coloraxis per kind of value: sigmoid gates 0..1, tanh states -1..1, the cell unbounded
    "sigmoid": dict(cmin=0.0, cmax=1.0, colorscale="Viridis"),
    "tanh": dict(cmin=-1.0, cmax=1.0, colorscale="RdBu_r"),
    "cell": dict(cmid=0.0, colorscale="PuOr_r"),
}


def gate_scale(gate: str) -> str:
    """The GATE_SCALES key for a gate's values: "sigmoid" (0..1), "tanh" (-1..1) or "cell" (unbounded)."""
    from ..cells import SIGMOID_GATES

    return "sigmoid" if gate in SIGMOID_GATES else "cell" if gate == "cell" else "tanh"


def gate_figure(inputs: np.ndarray, features: list[str], times: list[str], traces: dict[str, np.ndarray],
                order: np.ndarray, title: str, input_title: str = "input (scaled)", split: int | None = None
                ) -> go.Figure:
    """The input window on top, then one heatmap per gate (time step x unit) on the same time axis.

    Args:
        inputs: (time steps, features) what the layer's window held (None: no input row, e.g. a
            seq2seq decoder, whose steps are future steps).
        times: (time steps,) labels of the time axis (dates).
        traces: gate -> (time steps, units) for one window of one layer.
        order: the units in the order to draw them (top row first).
        split: draw a line after this many units (a bidirectional layer's forward half), or None.
    """
    from plotly.subplots import make_subplots

    from ..cells import GATE_TEXT, SIGMOID_GATES

    gates = list(traces)
    has_input = inputs is not None
    rows = len(gates) + has_input
    units = next(iter(traces.values())).shape[1]
    unit_labels = [f"u{int(u)}" for u in order]
    heights = ([1.3] if has_input else []) + [max(1.0, min(2.5, units / 24))] * len(gates)
    titles = ([input_title] if has_input else []) + [_two_lines(GATE_TEXT.get(g, g)) for g in gates]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.045 if rows < 6 else 0.03,
                        row_heights=heights, subplot_titles=titles)
    if has_input:
        for j, name in enumerate(features):
            fig.add_trace(go.Scatter(x=times, y=np.asarray(inputs[:, j], dtype=np.float32), name=name, mode="lines",
                                     hovertemplate=f"{name}: %{{y:.4f}}<extra>%{{x}}</extra>"), row=1, col=1)
    used = {}
    for r, gate in enumerate(gates, start=1 + has_input):
        kind = gate_scale(gate)
        axis = {"sigmoid": "coloraxis", "tanh": "coloraxis2", "cell": "coloraxis3"}[kind]
        z = np.asarray(traces[gate][:, order].T, dtype=np.float32)  # (units, time steps)
        used[axis] = max(used.get(axis, 0.0), float(np.abs(z).max()) if z.size else 1.0)
        what = f"{gate} gate" if gate in SIGMOID_GATES else {"h": "hidden state h", "cell": "cell state c"}.get(gate, gate)
        fig.add_trace(go.Heatmap(z=z.round(4), x=times, y=unit_labels, coloraxis=axis, name=gate,
                                 hovertemplate=f"{what}<br>%{{x}}<br>unit %{{y}}: %{{z:.3f}}<extra></extra>"),
                      row=r, col=1)
        fig.update_yaxes(autorange="reversed", title_text="unit", title_standoff=2, tickfont_size=9, row=r, col=1)
        if split:
            fig.add_hline(y=split - 0.5, line_color="white", line_width=2, row=r, col=1)
    bars = {"coloraxis": "gates (sigmoid)", "coloraxis2": "states (tanh)", "coloraxis3": "cell c"}
    for n, axis in enumerate(a for a in bars if a in used):
        scale = dict(GATE_SCALES[{"coloraxis": "sigmoid", "coloraxis2": "tanh", "coloraxis3": "cell"}[axis]])
        if axis == "coloraxis3":
            scale.update(cmin=-used[axis], cmax=used[axis])
            scale.pop("cmid")
        fig.update_layout(**{axis: dict(**scale, colorbar=dict(title=dict(text=bars[axis], side="right"), thickness=10, len=0.28,
                                                                  y=0.85 - 0.33 * n, yanchor="middle", x=1.01))})
    fig.update_xaxes(type="category", nticks=12)  # one column per time step; no gaps for weekends or hours
    fig.update_layout(height=120 + 170 * rows, margin=dict(l=10, r=10, t=60, b=10), title=title, showlegend=has_input,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1), uirevision="keep")
    fig.update_annotations(font_size=12)
    return fig


def _two_lines(text: str, width: int = 40) -> str:
    """A long subplot title broken after its colon: at 800 px (a 470 px page) "input gate i: how much of
    the candidate is written into the cell" on one line was wider than the heatmap and ran into the
    colour bar; the gap between the heatmaps holds a second line."""
    head, colon, rest = text.partition(": ")
    return f"{head}:<br>{rest}" if colon and len(text) > width else text


GATE_COLOURS = {"input": "#1f77b4", "forget": "#2ca02c", "output": "#d62728", "update": "#9467bd",
                "reset": "#ff7f0e", "h": "#7f7f7f"}


def gate_histogram_figure(runs: dict[str, dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]]) -> go.Figure:
    """How each gate's values spread over the test windows: one line per gate (dashes tell the layers
    apart), the saturated ends (below 0.1, above 0.9) shaded; one panel per run, side by side.

    Args:
        runs: panel title -> layer name -> gate -> (bin centres, share of values per bin) (gates.histograms).
    """
    from plotly.subplots import make_subplots

    titles = list(runs)
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.08)
    dashes = ["solid", "dash", "dot", "dashdot"]
    shown = set()
    for c, title in enumerate(titles, start=1):
        tanh = False
        for li, (layer, by_gate) in enumerate(runs[title].items()):
            for gate, (centres, shares) in by_gate.items():
                tanh = tanh or centres.min() < 0
                fig.add_trace(go.Scatter(
                    x=np.asarray(centres, dtype=np.float32), y=np.asarray(shares, dtype=np.float32),
                    mode="lines+markers", line=dict(shape="hvh", color=GATE_COLOURS.get(gate, "#333"),
                                                    dash=dashes[li % len(dashes)]), marker=dict(size=4),
                    name=gate, legendgroup=gate, showlegend=gate not in shown,
                    hovertemplate=f"{gate}, {layer}: %{{y:.1%}} of values near %{{x:.2f}}<extra></extra>"),
                    row=1, col=c)
                shown.add(gate)
        low, high = (-0.9, 0.9) if tanh else (0.1, 0.9)
        for x0, x1 in ((-1.0 if tanh else 0.0, low), (high, 1.0)):
            fig.add_vrect(x0=x0, x1=x1, fillcolor="#999999", opacity=0.12, line_width=0, row=1, col=c)
        fig.update_xaxes(range=[-1.02 if tanh else -0.02, 1.02], title_text="value" if tanh else "gate value",
                         row=1, col=c)
        fig.update_yaxes(tickformat=".0%", title_text="share of values" if c == 1 else None, rangemode="tozero",
                         row=1, col=c)
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=70, b=10), title="Gate values over the test windows",
                      legend=dict(orientation="h", yanchor="bottom", y=1.06, xanchor="right", x=1), uirevision="keep",
                      hovermode="closest")
    return fig


def saturation_figure(runs: dict[str, dict[str, dict[str, np.ndarray]]]) -> go.Figure:
    """Karpathy et al. (2015), Fig. 3: per gate unit, how often it is left- vs right-saturated.

    Args:
        runs: panel title -> layer name -> gate -> (2, units) fractions (see gates.saturation);
            one panel per run, side by side.
    """
    from plotly.subplots import make_subplots

    titles = list(runs)
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.08)
    symbols = ["circle", "diamond", "square", "triangle-up", "x", "star"]
    shown = set()
    for c, title in enumerate(titles, start=1):
        for li, (layer, by_gate) in enumerate(runs[title].items()):
            for gate, frac in by_gate.items():
                fig.add_trace(go.Scatter(
                    x=np.asarray(frac[0], dtype=np.float32), y=np.asarray(frac[1], dtype=np.float32),
                    mode="markers", name=gate, legendgroup=gate, showlegend=gate not in shown,
                    marker=dict(color=GATE_COLOURS.get(gate, "#333"), symbol=symbols[li % len(symbols)], size=7,
                                opacity=0.7),
                    customdata=[[layer, f"u{u}"] for u in range(frac.shape[1])],
                    hovertemplate=(f"{gate} gate, %{{customdata[0]}} %{{customdata[1]}}<br>left-saturated "
                                   "%{x:.0%}<br>right-saturated %{y:.0%}<extra></extra>")), row=1, col=c)
                shown.add(gate)
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#bbbbbb", dash="dot", width=1),
                                 hoverinfo="skip", showlegend=False), row=1, col=c)
        fig.update_xaxes(range=[-0.02, 1.02], title_text="fraction left-saturated (< 0.1)", row=1, col=c)
        fig.update_yaxes(range=[-0.02, 1.02], title_text="fraction right-saturated (> 0.9)" if c == 1 else None,
                         row=1, col=c)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=70, b=10), title="Gate saturation over the test windows",
                      legend=dict(orientation="h", yanchor="bottom", y=1.06, xanchor="right", x=1), uirevision="keep")
    return fig


def gradient_figure(flows: dict[str, np.ndarray], log_y: bool = True) -> go.Figure:
    """Mean |d prediction / d x_t| for each input step, newest step on the right (0 steps back).

    Args:
        flows: label -> (time steps,) from gates.gradient_flow; several runs share the axes.
    """
    fig = go.Figure()
    for colour, (label, flow) in zip(run_colours(list(flows)), flows.items()):
        back = np.arange(len(flow) - 1, -1, -1)  # step 0 is the oldest: len - 1 steps before the last
        fig.add_trace(go.Scatter(x=-back, y=np.asarray(flow, dtype=np.float32), name=label, mode="lines+markers",
                                 marker=dict(size=4), line=dict(color=colour), showlegend=True,
                                 hovertemplate="%{x} steps: |dŷ/dx| %{y:.3g}<extra>" + label + "</extra>"))
    fig.update_xaxes(title="input step, relative to the window's last step (0)")
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="power")
    values = np.concatenate([np.asarray(f, dtype=np.float64) for f in flows.values()]) if flows else np.ones(1)
    positive = values[values > 0]
    if log_y and positive.size and positive.max() / positive.min() > 10:
        fig.update_yaxes(dtick=1)  # one tick per decade, not 2 and 5 in between
    return _layout(fig, "Gradient flow: how much each input step moves the prediction",
                   "mean |dŷ / dx_t|" + (" (log scale)" if log_y else ""), height=360)


def hidden_figure(h: np.ndarray, steps: list[str], title: str, y_title: str = "step") -> go.Figure:
    """A hidden state over time as a heatmap: one row per step (top first), one column per unit."""
    z = np.asarray(h, dtype=np.float32)
    fig = go.Figure(go.Heatmap(z=z.round(4), x=[f"u{i}" for i in range(z.shape[1])], y=list(steps), zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True, colorbar=dict(title="h", thickness=10),
                               hovertemplate=f"{y_title} %{{y}}, unit %{{x}}: %{{z:.3f}}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", title=y_title)
    fig.update_xaxes(title="unit", type="category")
    fig.update_layout(title=title, height=140 + 26 * max(len(steps), 4), margin=dict(l=10, r=10, t=50, b=10))
    return fig
