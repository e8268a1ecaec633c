"""Charts that put several runs side by side: their loss curves and their test predictions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import downsample, legend_name, run_colours, _layout, _legend_below, _line


def loss_overlay_figure(histories: dict[str, dict[str, list[float]]], log_y: bool = False) -> go.Figure:
    """Several runs' loss curves: validation solid, training dotted, one colour per run."""
    fig = go.Figure()
    for colour, (label, history) in zip(run_colours(list(histories)), histories.items()):
        for key, dash, suffix in (("val_loss", "solid", "validation"), ("loss", "dot", "train")):
            values = history.get(key, [])
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=np.asarray(values, dtype=np.float32),
                                     name=f"{legend_name(label)} ({suffix})", text=[label] * len(values),
                                     hovertemplate=f"%{{text}} ({suffix})<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                                     legendgroup=label, mode="lines+markers",
                                     marker=dict(size=4), line=dict(color=colour, dash=dash)))
    longest = max((len(h.get("loss", [])) for h in histories.values()), default=0)
    # From epoch 1, where the first point is (the axis started at an empty epoch 0).
    fig.update_xaxes(title="epoch", range=[0.5, longest + 0.5] if longest else None, tick0=1,
                     dtick=max(1, longest // 10))
    fig.update_yaxes(type="log" if log_y else "linear")
    # Two legend entries of two lines per run under the chart: room for them, not a scrolling legend.
    _layout(fig, "Loss of each run", "MSE (scaled units)" + (", log scale" if log_y else ""),
            height=340 + 70 * len(histories))
    return _legend_below(fig)


def prediction_overlay_figure(frames: dict[str, pd.DataFrame], target: str) -> go.Figure:
    """The test targets once, and each run's predictions of them, one colour per run."""
    fig = go.Figure()
    first = next(iter(frames.values()))
    test = first[first["split"] == "test"]
    idx = downsample(len(test))
    fig.add_trace(_line(test["date"].to_numpy()[idx], test["truth"].to_numpy()[idx], "truth",
                        line=dict(color="#2a2a2a", width=1.5)))
    fig.add_trace(_line(test["date"].to_numpy()[idx], test["naive"].to_numpy()[idx], "persistence",
                        line=dict(color="#7f7f7f", width=1, dash="dot")))
    for colour, (label, frame) in zip(run_colours(list(frames)), frames.items()):
        part = frame[frame["split"] == "test"]
        idx = downsample(len(part))
        fig.add_trace(_line(part["date"].to_numpy()[idx], part["prediction"].to_numpy()[idx], legend_name(label),
                            line=dict(color=colour, width=1.3)))
    _layout(fig, "Test predictions of each run", target, height=380 + 35 * len(frames))
    return _legend_below(fig)
