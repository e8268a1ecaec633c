"""Charts of a classifier: class probabilities over the test windows, the confusion matrix,
one window's probabilities.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import CLASS_COLOURS, _layout


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
