"""Charts of a run as it trains: loss and accuracy per epoch, and the live prediction against the truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import MAX_POINTS, SPLIT_COLOURS, add_bands, downsample, _layout, _line


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
    fig.update_xaxes(title="epoch", range=[0.5, max(len(epochs), 1) + 0.5],  # epochs count from 1
                     dtick=max(1, len(epochs) // 10) if epochs else 1)
    fig.update_yaxes(type="log" if log_y else "linear")
    return _layout(fig, "Loss", loss + (", log scale" if log_y else ""))


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


def naive_label(horizon: int = 1) -> str:
    """The persistence baseline's name: the last known value, carried `horizon` steps ahead."""
    return "persistence (tomorrow = today)" if horizon == 1 else f"persistence ({horizon} steps ahead = today)"


def prediction_figure(frame: pd.DataFrame, target: str = "value", show_naive: bool = True,
                      horizon: int = 1, naive_name: str = "persistence", points: int = MAX_POINTS) -> go.Figure:
    """Truth, model prediction and persistence baseline over the val and test targets.

    Args:
        frame: predictions.csv-shaped: date, split, truth, prediction, naive (original units), and
            the conformal bands lower_80/upper_80/lower_95/upper_95 when it has them.
        target: the target column's name, for the axis title.
        points: at most this many points per line (a live chart redraws every few seconds: fewer).
    """
    fig = go.Figure()
    idx = downsample(len(frame), points)
    part = frame.iloc[idx]
    dates = part["date"].to_numpy()
    if part["prediction"].notna().any():
        add_bands(fig, dates, part)  # first: the bands sit behind the lines
    fig.add_trace(_line(dates, part["truth"], "truth", line=dict(color="#2a2a2a", width=1.5)))
    if part["prediction"].notna().any():
        fig.add_trace(_line(dates, part["prediction"], "model", line=dict(color=SPLIT_COLOURS["test"], width=1.5)))
    if show_naive:
        name = naive_label(horizon) if naive_name == "persistence" else naive_name
        fig.add_trace(_line(dates, part["naive"], name,
                            line=dict(color="#7f7f7f", width=1, dash="dot")))  # drawn: the verdict is against it
    for split in ("val", "test"):
        rows = frame[frame["split"] == split]
        if len(rows):
            fig.add_vrect(x0=rows["date"].iloc[0], x1=rows["date"].iloc[-1], fillcolor=SPLIT_COLOURS[split],
                          opacity=0.06, line_width=0, annotation_text=split, annotation_position="top left")
    return _layout(fig, "Prediction vs truth", target, height=380)  # the shading names val and test; a longer
    # title was cut off in a half-width column at 800 px
