"""Plotly figure builders: data in, go.Figure out. Pure functions, so tests read figure data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 2000  # each poll re-sends the figure: keep it small
GL_ABOVE = 100_000  # WebGL only past the downsampling cap, i.e. never for a live chart: in Chromium without
# a GPU (headless, many laptops' software fallback) each WebGL redraw cost more than SVG; measured on the live
# Train page, 10 epochs: browser CPU 18 -> 12 s, and the run itself 28.7 -> 22.6 s (bench/live.py's setting)

SPLIT_COLOURS = {"train": "#636efa", "val": "#ab63fa", "test": "#ef553b"}


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), yaxis_title=y_title,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1), hovermode="x unified",
        uirevision="keep",
    )
    return fig


def downsample(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `limit` evenly spaced points out of n, always keeping the last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _line(x, y, name: str, **kw):
    trace = go.Scattergl if len(x) > GL_ABOVE else go.Scatter
    return trace(x=x, y=np.asarray(y, dtype=np.float32), name=name, mode="lines", **kw)


def loss_figure(history: dict[str, list[float]], log_y: bool = False, loss: str = "MSE (scaled units)") -> go.Figure:
    """Train and validation loss per epoch (`loss` names it: MSE on scaled targets by default)."""
    fig = go.Figure()
    epochs = list(range(1, len(history.get("loss", [])) + 1))
    for key, name, colour in (("loss", "train", SPLIT_COLOURS["train"]), ("val_loss", "validation", SPLIT_COLOURS["val"])):
        values = history.get(key, [])
        fig.add_trace(go.Scatter(x=epochs[: len(values)], y=np.asarray(values, dtype=np.float32), name=name,
                                 mode="lines+markers", line=dict(color=colour)))
    if not epochs:
        fig.add_annotation(text="No completed epoch yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_yaxes(showticklabels=False)
    fig.update_xaxes(title="epoch", rangemode="tozero", dtick=max(1, len(epochs) // 10) if epochs else 1)
    fig.update_yaxes(type="log" if log_y else "linear")
    return _layout(fig, "Loss", loss + (", log scale" if log_y else ""))


def naive_label(horizon: int = 1) -> str:
    """The persistence baseline's name: the last known value, carried `horizon` steps ahead."""
    return "persistence (tomorrow = today)" if horizon == 1 else f"persistence ({horizon} steps ahead = today)"


def prediction_figure(frame: pd.DataFrame, target: str = "value", show_naive: bool = True,
                      horizon: int = 1, naive_name: str = "persistence", points: int = MAX_POINTS) -> go.Figure:
    """Truth, model prediction and persistence baseline over the val and test targets.

    Args:
        frame: predictions.csv-shaped: date, split, truth, prediction, naive (original units).
        target: the target column's name, for the axis title.
        points: at most this many points per line (a live chart redraws every few seconds: fewer).
    """
    fig = go.Figure()
    idx = downsample(len(frame), points)
    part = frame.iloc[idx]
    dates = part["date"].to_numpy()
    fig.add_trace(_line(dates, part["truth"], "truth", line=dict(color="#2a2a2a", width=1.5)))
    if part["prediction"].notna().any():
        fig.add_trace(_line(dates, part["prediction"], "model", line=dict(color=SPLIT_COLOURS["test"], width=1.5)))
    if show_naive:
        name = naive_label(horizon) if naive_name == "persistence" else naive_name
        fig.add_trace(_line(dates, part["naive"], name,
                            line=dict(color="#7f7f7f", width=1, dash="dot"), visible="legendonly"))
    for split in ("val", "test"):
        rows = frame[frame["split"] == split]
        if len(rows):
            fig.add_vrect(x0=rows["date"].iloc[0], x1=rows["date"].iloc[-1], fillcolor=SPLIT_COLOURS[split],
                          opacity=0.06, line_width=0, annotation_text=split, annotation_position="top left")
    return _layout(fig, "Prediction vs truth (validation and test)", target, height=380)


def series_figure(series: pd.Series, boundaries: dict[str, pd.Timestamp] | None = None) -> go.Figure:
    """A (rows,) series over time, downsampled, with the val and test segments shaded.

    Args:
        series: values indexed by date; its name titles the y axis.
        boundaries: {"val": first val target date, "test": first test target date}.
    """
    idx = downsample(len(series))
    fig = go.Figure(_line(series.index[idx], series.to_numpy()[idx], str(series.name),
                          line=dict(color="#2a2a2a", width=1.2)))
    if boundaries:
        end = series.index[-1]
        val, test = boundaries.get("val"), boundaries.get("test")
        fig.add_vrect(x0=series.index[0], x1=val or test or end, fillcolor=SPLIT_COLOURS["train"], opacity=0.06,
                      line_width=0, annotation_text="train", annotation_position="top left")
        if val is not None:
            fig.add_vrect(x0=val, x1=test or end, fillcolor=SPLIT_COLOURS["val"], opacity=0.08, line_width=0,
                          annotation_text="val", annotation_position="top left")
        if test is not None:
            fig.add_vrect(x0=test, x1=end, fillcolor=SPLIT_COLOURS["test"], opacity=0.08, line_width=0,
                          annotation_text="test", annotation_position="top left")
    fig.update_layout(showlegend=False)
    return _layout(fig, f"{series.name}: chronological split by target date", str(series.name), height=300)


def window_figure(values: np.ndarray, dates: pd.DatetimeIndex, features: list[str], target_value: float,
                  target_date: pd.Timestamp, target: str, scale_title: str = "scaled") -> go.Figure:
    """One sample as the network sees it: a (features x time steps) heatmap of scaled inputs, and its target.

    Args:
        values: (time steps, features) scaled inputs of one window.
        dates: (time steps,) the dates of the input rows.
        target_value: the scaled target y of this window.
        target_date: the date of the target row.
        scale_title: the colour bar's title (what the values are).
    """
    from plotly.subplots import make_subplots

    steps = len(dates)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.88, 0.12], horizontal_spacing=0.02, shared_yaxes=False,
                        subplot_titles=(f"X: {steps} time steps × {len(features)} feature{'s' if len(features) > 1 else ''}",
                                        f"y: {target} on {_when(target_date)}"))
    labels = [_when(d) for d in dates]
    z = np.asarray(values, dtype=np.float32).T.round(4).tolist()
    lo = float(min(np.min(values), target_value))
    hi = float(max(np.max(values), target_value))
    common = dict(colorscale="Viridis", zmin=lo, zmax=hi)
    fig.add_trace(go.Heatmap(z=z, x=list(range(1, steps + 1)), y=features, customdata=[labels] * len(features),
                             hovertemplate="step %{x} (%{customdata})<br>%{y}: %{z:.4f}<extra></extra>",
                             colorbar=dict(title=scale_title, thickness=12, x=1.01, len=1.0), **common), row=1, col=1)
    fig.add_trace(go.Heatmap(z=[[round(float(target_value), 4)]], x=["target"], y=[target],
                             hovertemplate=f"{target} on {_when(target_date)}: %{{z:.4f}}<extra></extra>",
                             showscale=False, **common), row=1, col=2)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_xaxes(title_text="time step", row=1, col=1)
    fig.update_layout(height=max(260, 160 + 28 * len(features)), margin=dict(l=10, r=10, t=64, b=10))  # titles below the toolbar
    return fig


def _when(stamp: pd.Timestamp) -> str:
    """A date, with the time of day when it has one (hourly data)."""
    return stamp.strftime("%Y-%m-%d %H:%M") if (stamp.hour or stamp.minute) else stamp.strftime("%Y-%m-%d")


def forecast_figure(recent: pd.DataFrame, forecast: pd.DataFrame, target: str, how: str) -> go.Figure:
    """The last known values, then the forecast past the end of the data.

    Args:
        recent: date, truth (the newest targets, original units).
        forecast: date, forecast.
        how: "recursive" or "direct", for the legend.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(recent["date"]), y=np.asarray(recent["truth"], dtype=np.float32), name="data",
                             mode="lines", line=dict(color="#2a2a2a", width=1.5)))
    joined_x = [recent["date"].iloc[-1], *forecast["date"]]
    joined_y = np.asarray([recent["truth"].iloc[-1], *forecast["forecast"]], dtype=np.float32)
    fig.add_trace(go.Scatter(x=joined_x, y=joined_y, name=f"forecast ({how})", mode="lines+markers",
                             line=dict(color=SPLIT_COLOURS["test"], width=2, dash="dash"), marker=dict(size=4)))
    fig.add_vline(x=recent["date"].iloc[-1], line_width=1, line_dash="dot", line_color="#7f7f7f")
    return _layout(fig, "Forecast past the end of the data", target, height=320)


def step_error_figure(table: pd.DataFrame, target: str) -> go.Figure:
    """Test RMSE for each step ahead, the model's against persistence's."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(table["step"]), y=np.asarray(table["rmse"], dtype=np.float32), name="model",
                             mode="lines+markers", line=dict(color=SPLIT_COLOURS["test"])))
    fig.add_trace(go.Scatter(x=list(table["step"]), y=np.asarray(table["naive_rmse"], dtype=np.float32),
                             name="persistence", mode="lines+markers", line=dict(color="#7f7f7f", dash="dot")))
    fig.update_xaxes(title="steps ahead", dtick=max(1, len(table) // 10))
    return _layout(fig, "Test error by step ahead", f"RMSE ({target} units)", height=320)


GATE_SCALES = {  # coloraxis per kind of value: sigmoid gates 0..1, tanh states -1..1, the cell unbounded
    "sigmoid": dict(cmin=0.0, cmax=1.0, colorscale="Viridis"),
    "tanh": dict(cmin=-1.0, cmax=1.0, colorscale="RdBu_r"),
    "cell": dict(cmid=0.0, colorscale="PuOr_r"),
}


def gate_scale(gate: str) -> str:
    from .gates import SIGMOID_GATES

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

    from .gates import GATE_TEXT, SIGMOID_GATES

    gates = list(traces)
    has_input = inputs is not None
    rows = len(gates) + has_input
    units = next(iter(traces.values())).shape[1]
    unit_labels = [f"u{int(u)}" for u in order]
    heights = ([1.3] if has_input else []) + [max(1.0, min(2.5, units / 24))] * len(gates)
    titles = ([input_title] if has_input else []) + [GATE_TEXT.get(g, g) for g in gates]
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
        fig.update_layout(**{axis: dict(**scale, colorbar=dict(title=bars[axis], thickness=10, len=0.28,
                                                                  y=0.85 - 0.33 * n, yanchor="middle", x=1.01))})
    fig.update_xaxes(type="category", nticks=12)  # one column per time step; no gaps for weekends or hours
    fig.update_layout(height=120 + 170 * rows, margin=dict(l=10, r=10, t=60, b=10), title=title, showlegend=has_input,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1), uirevision="keep")
    fig.update_annotations(font_size=12)
    return fig


GATE_COLOURS = {"input": "#1f77b4", "forget": "#2ca02c", "output": "#d62728", "update": "#9467bd",
                "reset": "#ff7f0e", "h": "#7f7f7f"}


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
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for n, (label, flow) in enumerate(flows.items()):
        back = np.arange(len(flow) - 1, -1, -1)  # step 0 is the oldest: len - 1 steps before the last
        fig.add_trace(go.Scatter(x=-back, y=np.asarray(flow, dtype=np.float32), name=label, mode="lines+markers",
                                 marker=dict(size=4), line=dict(color=colours[n % len(colours)]), showlegend=True,
                                 hovertemplate="%{x} steps: |dŷ/dx| %{y:.3g}<extra>" + label + "</extra>"))
    fig.update_xaxes(title="input step, relative to the window's last step (0)")
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="power")
    values = np.concatenate([np.asarray(f, dtype=np.float64) for f in flows.values()]) if flows else np.ones(1)
    positive = values[values > 0]
    if log_y and positive.size and positive.max() / positive.min() > 10:
        fig.update_yaxes(dtick=1)  # one tick per decade, not 2 and 5 in between
    return _layout(fig, "Gradient flow: how much each input step moves the prediction",
                   "mean |dŷ / dx_t|" + (" (log scale)" if log_y else ""), height=360)


def memory_race_figure(results: pd.DataFrame, chance: float = 0.5) -> go.Figure:
    """Test accuracy against the lag k, one line per cell.

    Args:
        results: columns k, cell, accuracy (0..1).
    """
    fig = go.Figure()
    colours = {"SimpleRNN": "#7f7f7f", "LSTM": "#1f77b4", "GRU": "#2ca02c"}
    for cell, part in results.groupby("cell", sort=False):
        part = part.sort_values("k")
        fig.add_trace(go.Scatter(x=list(part["k"]), y=np.asarray(part["accuracy"], dtype=np.float32), name=cell,
                                 mode="lines+markers", line=dict(color=colours.get(cell)), showlegend=True,
                                 hovertemplate=f"{cell}, k=%{{x}}: %{{y:.0%}}<extra></extra>"))
    fig.add_hline(y=chance, line_dash="dot", line_color="#bbbbbb", annotation_text="chance",
                  annotation_position="bottom right")
    fig.update_xaxes(title="k: how many steps back the answer lies",
                     tickvals=sorted(set(results["k"].astype(int))) if len(results) else None)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "Memory race: test accuracy against the lag", "test accuracy", height=360)


def error_figure(frame: pd.DataFrame, target: str) -> go.Figure:
    """Test residuals (prediction - truth) over time, and their histogram next to persistence's.

    Args:
        frame: predictions.csv-shaped rows (date, split, truth, prediction, naive).
    """
    from plotly.subplots import make_subplots

    test = frame[frame["split"] == "test"]
    model = (test["prediction"] - test["truth"]).to_numpy(np.float64)
    naive = (test["naive"] - test["truth"]).to_numpy(np.float64)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.08,
                        subplot_titles=("Residuals over the test targets", "Error histogram"))
    idx = downsample(len(test))
    fig.add_trace(_line(test["date"].to_numpy()[idx], model[idx], "model", line=dict(color=SPLIT_COLOURS["test"],
                                                                                   width=1)), row=1, col=1)
    fig.add_hline(y=0, line_color="#7f7f7f", line_width=1, row=1, col=1)
    finite = np.concatenate([model[np.isfinite(model)], naive[np.isfinite(naive)]])
    bins = dict(start=float(finite.min()), end=float(finite.max()), size=float(np.ptp(finite) / 40 or 1)) \
        if finite.size else None
    for values, name, colour in ((model, "model", SPLIT_COLOURS["test"]), (naive, "persistence", "#7f7f7f")):
        fig.add_trace(go.Histogram(x=np.asarray(values, dtype=np.float32), name=name, xbins=bins, opacity=0.6,
                                   marker_color=colour, showlegend=name == "persistence",
                                   hovertemplate=f"{name}: %{{y}} errors in %{{x}}<extra></extra>"), row=1, col=2)
    fig.update_yaxes(title_text=f"prediction - truth ({target})", row=1, col=1)
    fig.update_xaxes(title_text=f"prediction - truth ({target})", row=1, col=2)
    fig.update_yaxes(title_text="targets", title_standoff=0, row=1, col=2)
    _layout(fig, "", "", height=340)
    fig.update_layout(barmode="overlay", margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="v", x=0.99, xanchor="right", y=0.9, yanchor="top",
                                  bgcolor="rgba(255,255,255,0.7)"))
    fig.update_yaxes(title_text=f"prediction - truth ({target})", row=1, col=1)
    return fig


def lag_figure(correlations: dict[str, float]) -> go.Figure:
    """Correlation of the prediction's changes with the truth's changes, lag by lag (-5..+5)."""
    lags = sorted(int(k) for k in correlations)
    values = np.asarray([correlations[str(k)] for k in lags], dtype=np.float32)
    best = lags[int(np.nanargmax(values))] if np.isfinite(values).any() else None
    colours = [SPLIT_COLOURS["test"] if k == best else "#9aa5b1" for k in lags]
    fig = go.Figure(go.Bar(x=lags, y=values, marker_color=colours,
                           hovertemplate="lag %{x}: r = %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title="lag (+1: the prediction follows the truth one step late)", dtick=1)
    fig.update_yaxes(range=[-1, 1])
    return _layout(fig, "Lag check: which shift lines up best", "correlation of changes", height=340)


RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def loss_overlay_figure(histories: dict[str, dict[str, list[float]]], log_y: bool = False) -> go.Figure:
    """Several runs' loss curves: validation solid, training dotted, one colour per run."""
    fig = go.Figure()
    for n, (label, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[n % len(RUN_COLOURS)]
        for key, dash, suffix in (("val_loss", "solid", "validation"), ("loss", "dot", "train")):
            values = history.get(key, [])
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=np.asarray(values, dtype=np.float32),
                                     name=f"{label} ({suffix})", legendgroup=label, mode="lines+markers",
                                     marker=dict(size=4), line=dict(color=colour, dash=dash)))
    longest = max((len(h.get("loss", [])) for h in histories.values()), default=0)
    fig.update_xaxes(title="epoch", rangemode="tozero", dtick=max(1, longest // 10))
    fig.update_yaxes(type="log" if log_y else "linear")
    _layout(fig, "Loss of each run", "MSE (scaled units)" + (", log scale" if log_y else ""), height=400)
    return _legend_below(fig)


def _legend_below(fig: go.Figure) -> go.Figure:
    """Long legends (one entry per run) go under the chart, where they cannot cover the title."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def prediction_overlay_figure(frames: dict[str, pd.DataFrame], target: str) -> go.Figure:
    """The test targets once, and each run's predictions of them, one colour per run."""
    fig = go.Figure()
    first = next(iter(frames.values()))
    test = first[first["split"] == "test"]
    idx = downsample(len(test))
    fig.add_trace(_line(test["date"].to_numpy()[idx], test["truth"].to_numpy()[idx], "truth",
                        line=dict(color="#2a2a2a", width=1.5)))
    fig.add_trace(_line(test["date"].to_numpy()[idx], test["naive"].to_numpy()[idx], "persistence",
                        line=dict(color="#7f7f7f", width=1, dash="dot"), visible="legendonly"))
    for n, (label, frame) in enumerate(frames.items()):
        part = frame[frame["split"] == "test"]
        idx = downsample(len(part))
        fig.add_trace(_line(part["date"].to_numpy()[idx], part["prediction"].to_numpy()[idx], label,
                            line=dict(color=RUN_COLOURS[n % len(RUN_COLOURS)], width=1.3)))
    _layout(fig, "Test predictions of each run", target, height=420)
    return _legend_below(fig)


CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf")


def accuracy_figure(history: dict[str, list[float]]) -> go.Figure:
    """Train and validation accuracy per epoch, in percent (classification)."""
    fig = go.Figure()
    for key, name, colour in (("accuracy", "train", SPLIT_COLOURS["train"]),
                              ("val_accuracy", "validation", SPLIT_COLOURS["val"])):
        values = 100 * np.asarray(history.get(key, []), dtype=np.float32)
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, name=name, mode="lines+markers",
                                 line=dict(color=colour)))
    if not history.get("accuracy"):
        fig.add_annotation(text="No completed epoch yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(range=[0, 101])
    return _layout(fig, "Accuracy", "% correct")


CLASS_WINDOWS = 120  # the last test windows the class chart draws: more turn labels into a picket fence


def class_figure(frame: pd.DataFrame, classes: list[str], series: pd.Series | None = None) -> go.Figure:
    """Classification over the last CLASS_WINDOWS test windows.

    With up to 5 classes: each class's probability as a line, and the true class as coloured
    markers along the top; with `series` (the input wave at each target), the wave drawn with
    its points coloured by the predicted class. With more classes: a heatmap of the
    probabilities (class x window) with the true class marked.

    Args:
        frame: predictions.csv-shaped with p_<class> columns (truth/prediction are label indices).
    """
    test = np.flatnonzero((frame["split"] == "test").to_numpy())
    idx = test[-CLASS_WINDOWS:]
    part = frame.iloc[idx]
    x = np.arange(len(test) - len(part), len(test)) + 1  # test window numbers, 1 = the first
    fig = go.Figure()
    probs = np.stack([part.get(f"p_{c}", pd.Series(np.nan, index=part.index)).to_numpy(np.float32) for c in classes])
    names = np.asarray(classes, dtype=object)
    truth = part["truth"].to_numpy().astype(int)
    if len(classes) > 2:  # one line per class would zig-zag: a class x window heatmap reads better
        fig.add_trace(go.Heatmap(z=probs, x=x, y=list(classes), colorscale="Blues", zmin=0, zmax=1,
                                 colorbar=dict(title="p", thickness=10),
                                 hovertemplate="%{x}<br>class %{y}: p %{z:.2f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=names[truth], mode="markers", name="true class",
                                 marker=dict(symbol="line-ew-open", size=9, color="#d62728")))
        fig.update_yaxes(type="category", title="class")
        fig.update_xaxes(title="test window")
        return _layout(fig, f"Class probabilities, last {len(part)} test windows (true class in red)", "class",
                       height=380)
    if series is not None:
        pred = part["prediction"].to_numpy()
        values = series.to_numpy(np.float32)[idx]
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines", line=dict(color="#bbbbbb", width=1), name=series.name,
                                 yaxis="y2", showlegend=False, hoverinfo="skip"))
        for k, name in enumerate(classes):
            hit = pred == k
            fig.add_trace(go.Scatter(x=x[hit], y=values[hit], mode="markers", yaxis="y2", name=f"predicted {name}",
                                     marker=dict(size=5, color=CLASS_COLOURS[k % 10])))
        fig.update_layout(yaxis2=dict(domain=[0.0, 0.45], title=str(series.name)), yaxis=dict(domain=[0.55, 1.0]))
    for k, name in enumerate(classes):
        fig.add_trace(go.Scatter(x=x, y=probs[k], mode="lines", name=f"p({name})",
                                 line=dict(color=CLASS_COLOURS[k % 10], width=1.5)))
        hit = truth == k
        fig.add_trace(go.Scatter(x=x[hit], y=np.full(hit.sum(), 1.06, np.float32), mode="markers",
                                 marker=dict(symbol="square", size=6, color=CLASS_COLOURS[k % 10]),
                                 name=f"true {name}", showlegend=False, hovertemplate=f"true class {name}<extra></extra>"))
    fig.update_layout(yaxis=dict(range=[-0.02, 1.12], title="probability"))
    fig.update_xaxes(title="test window")
    return _layout(fig, f"Class probabilities, last {len(part)} test windows (squares: true class)",
                   "probability", height=420)


def confusion_figure(table, classes: list[str], title: str = "Confusion matrix (test)") -> go.Figure:
    """Counts, rows = true class, columns = predicted; the diagonal is right."""
    z = np.asarray(table, dtype=np.int64)
    fig = go.Figure(go.Heatmap(z=z, x=list(classes), y=list(classes), colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>", showscale=False))
    fig.update_xaxes(title="predicted", type="category", side="bottom")
    fig.update_yaxes(title="true", type="category", autorange="reversed")
    fig.update_layout(title=title, height=120 + 28 * max(len(classes), 5), margin=dict(l=10, r=10, t=50, b=10))
    return fig


def window_error_figure(frame: pd.DataFrame, target: str) -> go.Figure:
    """Autoencoder: the reconstruction error (RMSE) of each val/test window, by the window's last date."""
    fig = go.Figure()
    for split in ("val", "test"):
        rows = frame[frame["split"] == split]
        if len(rows) and "window_error" in rows:
            fig.add_trace(_line(rows["date"].to_numpy(), rows["window_error"], split,
                                line=dict(color=SPLIT_COLOURS[split], width=1.2)))
    fig.update_layout(hovermode="x unified")
    return _layout(fig, "Reconstruction error per window (RMSE): peaks are stretches it cannot rebuild",
                   f"RMSE ({target})")


def probability_bars(probabilities: np.ndarray, classes: list[str], title: str) -> go.Figure:
    """One bar per class: the predicted probability; the winner highlighted."""
    p = np.asarray(probabilities, dtype=np.float32)
    colours = ["#ef553b" if i == int(p.argmax()) else "#9db4d6" for i in range(len(p))]
    fig = go.Figure(go.Bar(x=list(classes), y=p, marker_color=colours, text=[f"{v:.0%}" for v in p],
                           textposition="outside", hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.15], title="probability")
    fig.update_xaxes(type="category")
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=50, b=10))
    return fig


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


def image_figure(pixels: np.ndarray, title: str) -> go.Figure:
    """A grey image, one row per time step as the network reads it (row 0 on top)."""
    z = np.asarray(pixels, dtype=np.float32)
    fig = go.Figure(go.Heatmap(z=z, colorscale="Greys", showscale=False, y=[f"row {i}" for i in range(len(z))],
                               hovertemplate="%{y}, column %{x}: %{z:.1f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain", title="column")
    fig.update_layout(title=title, height=140 + 26 * max(len(z), 8), margin=dict(l=10, r=10, t=50, b=10))
    return fig
