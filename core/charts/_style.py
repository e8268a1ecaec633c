"""What every chart shares: the split, run and class colours, the layout, line traces, downsampling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 2000  # each poll re-sends the figure: keep it small
GL_ABOVE = 100_000  # WebGL only past the downsampling cap, i.e. never for a live chart: in Chromium without
# a GPU (headless, many laptops' software fallback) each WebGL redraw cost more than SVG; measured on the live
# Train page, 10 epochs: browser CPU 18 -> 12 s, and the run itself 28.7 -> 22.6 s (bench/live.py's setting)

SPLIT_COLOURS = {"train": "#636efa", "val": "#ab63fa", "test": "#ef553b"}
RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf")


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 340) -> go.Figure:
    """The common layout: title, y axis title, height, a horizontal legend top right; returns `fig`."""
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
    """A line trace of (points,) x and y; WebGL only past GL_ABOVE points (see there)."""
    trace = go.Scattergl if len(x) > GL_ABOVE else go.Scatter
    return trace(x=x, y=np.asarray(y, dtype=np.float32), name=name, mode="lines", **kw)


def _legend_below(fig: go.Figure) -> go.Figure:
    """Long legends (one entry per run) go under the chart, where they cannot cover the title."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _when(stamp: pd.Timestamp) -> str:
    """A date, with the time of day when it has one (hourly data)."""
    return stamp.strftime("%Y-%m-%d %H:%M") if (stamp.hour or stamp.minute) else stamp.strftime("%Y-%m-%d")
