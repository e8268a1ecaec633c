"""What every chart shares: the split, run and class colours, the layout, line traces, downsampling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import cells

MAX_POINTS = 2000  # each poll re-sends the figure: keep it small
GL_ABOVE = 100_000  # WebGL only past the downsampling cap, i.e. never for a live chart: in Chromium without
# a GPU (headless, many laptops' software fallback) each WebGL redraw cost more than SVG; measured on the live
# Train page, 10 epochs: browser CPU 18 -> 12 s, and the run itself 28.7 -> 22.6 s (bench/live.py's setting)

SPLIT_COLOURS = {"train": "#636efa", "val": "#ab63fa", "test": "#ef553b"}
RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
# One hue per cell on every page (the cell race, Compare, the memory race, saturation, gradient flow); a second
# run of the same cell gets the next shade of its hue, so two LSTMs in Compare stay apart.
CELL_COLOURS = {c.name: c.colours for c in cells.CELLS.values()}  # each cell's own (core/cells/)
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf")


# The legend sits under the chart, left-aligned, in the figure's own space (yref "container"): a legend at
# the top right wrapped onto the title in a half-width column at 800 px, and one placed in plot coordinates
# below the axis collided with the axis title. Plotly makes room for it (automargin).
LEGEND = dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left")


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 340) -> go.Figure:
    """The common layout: title, y axis title, height, a horizontal legend under the chart; returns `fig`."""
    fig.update_layout(
        title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), yaxis_title=y_title,
        legend=LEGEND, hovermode="x unified", uirevision="keep",
    )
    return fig


# Colours for runs that name no cell (sweep trials, backtest folds) and for a cell's fourth run on: Plotly's
# 24 distinct dark colours after RUN_COLOURS, minus the cells' hues and the greys that truth and persistence use.
# Five colours (RUN_COLOURS less the cells') repeated from the sixth sweep trial on.
_GREYS = {"#2a2a2a", "#7f7f7f", "#222a2a"}
EXTRA_COLOURS = tuple(dict.fromkeys(
    c.lower() for c in [*RUN_COLOURS, "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#B68100", "#750D86",
                        "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
                        "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038"]
    if c.lower() not in _GREYS and c.lower() not in {s for shades in CELL_COLOURS.values() for s in shades}))


def luminance(colour: str) -> float:
    """Relative luminance of "#rrggbb", 0 (black) to 1 (white) (Rec. 709 weights, no gamma: enough to rank)."""
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def distinct_colours(n: int, avoid=(), lightest_dark: float = 0.0) -> list[str]:
    """`n` colours, all different while n fits EXTRA_COLOURS (28; more cycle), none of `avoid`, none darker
    than `lightest_dark` (a chart whose reference line is near black keeps dark browns and navies off it)."""
    banned = {a.lower() for a in avoid}
    pool = [c for c in EXTRA_COLOURS if c not in banned and luminance(c) >= lightest_dark] or list(EXTRA_COLOURS)
    return [pool[i % len(pool)] for i in range(n)]


def run_colours(labels: list[str]) -> list[str]:
    """A colour per run label: the hue of its cell ("BiLSTM 64 · ...", "GRU", "LSTM (chrono)"), a new shade
    for each further run of that cell; a label that names no cell, or a cell's run past its shades, takes the
    next of EXTRA_COLOURS, so no two runs of one chart share a colour (up to 28 others)."""
    used: dict[str, int] = {}
    others = iter(distinct_colours(len(labels)))
    out = []
    for label in labels:
        word = str(label).split(" ", 1)[0].removeprefix("Bi")
        shades = CELL_COLOURS.get(word, ())
        if used.get(word, 0) < len(shades):
            out.append(shades[used.get(word, 0)])
            used[word] = used.get(word, 0) + 1
        else:
            out.append(next(others))
    return out


def legend_name(label: str) -> str:
    """A run label in a legend: the run id on a second line, so a half-width chart does not cut it."""
    head, sep, tail = str(label).rpartition(" · ")
    if len(tail) == 22 and tail[8] == "-" and tail[15] == "-":  # a run id: its last 6 characters tell runs apart
        tail = "…" + tail[-6:]
    return "<br>".join([*_wrapped(head, LEGEND_WIDTH), tail]) if sep else str(label)


# Characters on one legend line: a half-width chart at 800 px (a 470 px page) cut a longer line; the
# traces carry the whole label in their hover.
LEGEND_WIDTH = 26


def _wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken at its " · " separators (a part longer
    than `width` keeps a line of its own)."""
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


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
    fig.update_layout(legend=LEGEND, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _when(stamp: pd.Timestamp) -> str:
    """A date, with the time of day when it has one (hourly data)."""
    return stamp.strftime("%Y-%m-%d %H:%M") if (stamp.hour or stamp.minute) else stamp.strftime("%Y-%m-%d")


BAND_COLOURS = {80: "rgba(239, 85, 59, 0.22)", 95: "rgba(239, 85, 59, 0.10)"}  # the model's red, lighter for 95%


def add_bands(fig: go.Figure, x, frame: pd.DataFrame, rows=None) -> None:
    """The model's 95% and 80% prediction bands (columns lower_95, upper_95, lower_80, upper_80 of
    `frame`) as filled areas behind the lines; nothing when the frame has none."""
    for level in (95, 80):
        lower, upper = f"lower_{level}", f"upper_{level}"
        if lower not in frame or upper not in frame or not frame[lower].notna().any():
            continue
        lo = frame[lower].to_numpy() if rows is None else frame[lower].to_numpy()[rows]
        hi = frame[upper].to_numpy() if rows is None else frame[upper].to_numpy()[rows]
        fig.add_trace(go.Scatter(x=x, y=np.asarray(hi, dtype=np.float32), mode="lines", line=dict(width=0),
                                 hoverinfo="skip", showlegend=False, legendgroup=f"band{level}"))
        fig.add_trace(go.Scatter(x=x, y=np.asarray(lo, dtype=np.float32), mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=BAND_COLOURS[level], name=f"{level}% band",
                                 legendgroup=f"band{level}", hoverinfo="skip"))
