"""Charts of a trained model's errors: residuals, the lag check, errors by step, the forecast,
and the autoencoder's reconstruction error.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import SPLIT_COLOURS, add_bands, downsample, _layout, _line


def error_figure(frame: pd.DataFrame, target: str) -> go.Figure:
    """Test residuals (prediction - truth) over time, and their histogram next to persistence's.

    Args:
        frame: predictions.csv-shaped rows (date, split, truth, prediction, naive).
    """
    from plotly.subplots import make_subplots

    test = frame[frame["split"] == "test"]
    model = (test["prediction"] - test["truth"]).to_numpy(np.float64)
    naive = (test["naive"] - test["truth"]).to_numpy(np.float64)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.14,
                        subplot_titles=("Residuals (prediction - truth)", "Error histogram (count)"))
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
                                   hovertemplate=f"{name}: %{{y}} test targets with an error in %{{x}}<extra></extra>"),
                      row=1, col=2)
    # Short axis titles: in a half-width column at 800 px the long ones ran into each other and off the edge.
    fig.update_yaxes(title_text=f"error ({target})", row=1, col=1)  # error = prediction - truth, as the title says
    fig.update_xaxes(title_text="error", row=1, col=2)
    # No y title on the histogram: at 800 px (a 470 px page) "count" sat on the residual chart's edge;
    # the subplot title says what the bars count.
    _layout(fig, "", "", height=360)
    fig.update_layout(barmode="overlay", margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(title_text=f"error ({target})", row=1, col=1)
    return fig


def lag_figure(correlations: dict[str, float]) -> go.Figure:
    """Correlation of the prediction's changes with the truth's changes, lag by lag (-5..+5)."""
    lags = sorted(int(k) for k in correlations)
    values = np.asarray([correlations[str(k)] for k in lags], dtype=np.float32)
    best = lags[int(np.nanargmax(values))] if np.isfinite(values).any() else None
    colours = [SPLIT_COLOURS["test"] if k == best else "#9aa5b1" for k in lags]
    fig = go.Figure(go.Bar(x=lags, y=values, marker_color=colours,
                           hovertemplate="lag %{x}: r = %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title="lag in steps (+1: one step late)", dtick=1)
    fig.update_yaxes(range=[-1, 1])
    return _layout(fig, "Lag check", "correlation of changes", height=320)


def step_error_figure(table: pd.DataFrame, target: str) -> go.Figure:
    """Test RMSE for each step ahead, the model's against persistence's."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(table["step"]), y=np.asarray(table["rmse"], dtype=np.float32), name="model",
                             mode="lines+markers", line=dict(color=SPLIT_COLOURS["test"])))
    fig.add_trace(go.Scatter(x=list(table["step"]), y=np.asarray(table["naive_rmse"], dtype=np.float32),
                             name="persistence", mode="lines+markers", line=dict(color="#7f7f7f", dash="dot")))
    # About 5 flat ticks: 10 of them turned to 45 degrees and crowded in a half-width column at 800 px.
    fig.update_xaxes(title="steps ahead", dtick=max(1, math.ceil(len(table) / 5)), tickangle=0)
    return _layout(fig, "Test error by step ahead", f"RMSE ({target} units)", height=320)


def forecast_figure(recent: pd.DataFrame, forecast: pd.DataFrame, target: str, how: str) -> go.Figure:
    """The last known values, then the forecast past the end of the data.

    Args:
        recent: date, truth (the newest targets, original units).
        forecast: date, forecast, and the bands per step (lower_80, upper_80, lower_95, upper_95) when known.
        how: "recursive" or "direct", for the legend.
    """
    fig = go.Figure()
    add_bands(fig, list(forecast["date"]), forecast)
    fig.add_trace(go.Scatter(x=list(recent["date"]), y=np.asarray(recent["truth"], dtype=np.float32), name="data",
                             mode="lines", line=dict(color="#2a2a2a", width=1.5)))
    joined_x = [recent["date"].iloc[-1], *forecast["date"]]
    joined_y = np.asarray([recent["truth"].iloc[-1], *forecast["forecast"]], dtype=np.float32)
    fig.add_trace(go.Scatter(x=joined_x, y=joined_y, name=f"forecast ({how})", mode="lines+markers",
                             line=dict(color=SPLIT_COLOURS["test"], width=2, dash="dash"), marker=dict(size=4)))
    fig.add_vline(x=recent["date"].iloc[-1], line_width=1, line_dash="dot", line_color="#7f7f7f")
    return _layout(fig, "Forecast past the data", target, height=320)


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
