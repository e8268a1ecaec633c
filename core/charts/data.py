"""Charts of the data before training: the series and its split, one window as the network sees it, an image."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import SPLIT_COLOURS, downsample, _layout, _line, _when


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


def image_figure(pixels: np.ndarray, title: str) -> go.Figure:
    """A grey image, one row per time step as the network reads it (row 0 on top)."""
    z = np.asarray(pixels, dtype=np.float32)
    fig = go.Figure(go.Heatmap(z=z, colorscale="Greys", showscale=False, y=[f"row {i}" for i in range(len(z))],
                               hovertemplate="%{y}, column %{x}: %{z:.1f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain", title="column")
    fig.update_layout(title=title, height=140 + 26 * max(len(z), 8), margin=dict(l=10, r=10, t=50, b=10))
    return fig
