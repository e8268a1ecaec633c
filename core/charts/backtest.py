"""Charts of a walk-forward backtest: each fold's test segment, and the error per fold."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import SPLIT_COLOURS, _layout, _line, distinct_colours

from ..baselines import COLOURS as BASELINE_COLOURS, NAMES, PERSISTENCE, STATISTICAL

SHOWN = (PERSISTENCE, *STATISTICAL)  # the bars next to the model's: persistence and the statistical baselines


def backtest_figure(folds: dict[int, pd.DataFrame], target: str) -> go.Figure:
    """The truth over every fold's test block, and each fold's predictions of its own block.

    Args:
        folds: fold number -> its predictions.csv test rows (date, truth, prediction, naive).
    """
    fig = go.Figure()
    if folds:
        truth = pd.concat([f[["date", "truth"]] for f in folds.values()]).sort_values("date")
        fig.add_trace(_line(truth["date"].to_numpy(), truth["truth"], "truth", line=dict(color="#2a2a2a", width=1.5)))
    # No dark fold lines next to the near-black truth (a brown fold 2 was hard to tell from it).
    colours = distinct_colours(len(folds), avoid=[*BASELINE_COLOURS.values(), SPLIT_COLOURS["test"]],
                               lightest_dark=0.4)
    for colour, (number, frame) in zip(colours, sorted(folds.items())):
        fig.add_trace(_line(frame["date"].to_numpy(), frame["prediction"], f"fold {number}",
                            line=dict(color=colour, width=1.4)))
        fig.add_vrect(x0=frame["date"].iloc[0], x1=frame["date"].iloc[-1], fillcolor=colour, opacity=0.06,
                      line_width=0, annotation_text=f"fold {number}", annotation_position="top left")
    return _layout(fig, "Each fold's test block", target, height=380)


def fold_error_figure(table: pd.DataFrame) -> go.Figure:
    """Test RMSE per fold: the model next to persistence and the statistical baselines on the same targets."""
    fig = go.Figure()
    folds = [f"fold {n}" for n in table["fold"]]
    fig.add_trace(go.Bar(x=folds, y=np.asarray(table["rmse"], dtype=np.float32), name="model",
                         marker_color=SPLIT_COLOURS["test"]))
    for name in SHOWN:
        label = NAMES[name]
        column = f"{name}_rmse"
        if column in table:
            fig.add_trace(go.Bar(x=folds, y=np.asarray(table[column], dtype=np.float32), name=label,
                                 marker_color=BASELINE_COLOURS.get(name)))
    fig.update_layout(barmode="group")
    return _layout(fig, "Test RMSE per fold", "RMSE (target units)", height=340)
