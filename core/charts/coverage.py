"""Rolling coverage of the prediction intervals: each method's share of hits in a moving window of
test targets, against the level it aims for."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..intervals import METHOD_NAMES
from ._style import _layout, _line

METHOD_COLOURS = {"split": "#7f7f7f", "aci": "#d62728", "scaled": "#1f77b4"}


def rolling_coverage_figure(dates: pd.DatetimeIndex, rolling: dict[str, np.ndarray], level: int,
                            window: int) -> go.Figure:
    """Lines of rolling coverage (percent) per method over the test dates, and the level as a dashed line.

    Args:
        dates: (samples,) the test targets' dates.
        rolling: method -> (samples,) percent of the last `window` targets inside the band (NaN before).
        level: the band's level in percent.
    """
    fig = go.Figure()
    x = np.asarray(dates)
    for method, values in rolling.items():
        fig.add_trace(_line(x, np.asarray(values, dtype=np.float32), METHOD_NAMES.get(method, method),
                            line=dict(color=METHOD_COLOURS.get(method), width=1.5)))
    fig.add_hline(y=level, line_dash="dash", line_color="#2a2a2a", annotation_text=f"{level}% level",
                  annotation_position="bottom right")
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, f"Coverage of the {level}% bands over the last {window} test targets", "coverage %",
                   height=320)
