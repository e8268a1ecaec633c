"""The memory race's chart: test accuracy against the lag, one line per cell."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import _layout, run_colours


MARKERS = ("circle", "square", "diamond", "triangle-up", "x")


def memory_race_figure(results: pd.DataFrame, chance: float = 0.5) -> go.Figure:
    """Test accuracy against the lag k, one line per cell.

    Args:
        results: columns k, cell, accuracy (0..1).
    """
    fig = go.Figure()
    groups = list(results.groupby("cell", sort=False))
    for n, (colour, (cell, part)) in enumerate(zip(run_colours([str(c) for c, _ in groups]), groups)):
        part = part.sort_values("k")
        # Cells often tie (100% at short lags): each later line is drawn thinner, with smaller markers of
        # another shape, on top of the earlier ones, so a line under another still shows round it.
        width, size = max(1.5, 6.0 - 2.0 * n), max(5, 13 - 3 * n)
        fig.add_trace(go.Scatter(x=list(part["k"]), y=np.asarray(part["accuracy"], dtype=np.float32), name=cell,
                                 mode="lines+markers", line=dict(color=colour, width=width), showlegend=True,
                                 marker=dict(size=size, symbol=MARKERS[n % len(MARKERS)]),
                                 hovertemplate=f"{cell}, k=%{{x}}: %{{y:.0%}}<extra></extra>"))
    fig.add_hline(y=chance, line_dash="dot", line_color="#bbbbbb", annotation_text="chance",
                  annotation_position="bottom right")
    fig.update_xaxes(title="k: how many steps back the answer lies",
                     tickvals=sorted(set(results["k"].astype(int))) if len(results) else None)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "Memory race: test accuracy against the lag", "test accuracy", height=360)
