"""Plotly figure builders: data in, go.Figure out. Pure functions, so tests read figure data.

One module per subject; every name is re-exported here, so callers write `charts.loss_figure(...)`:

- _style: colours, the common layout, line traces, downsampling (MAX_POINTS, GL_ABOVE).
- training: loss and accuracy per epoch, the live prediction against the truth.
- data: the series and its split, one window as the network sees it, an image.
- evaluation: residuals, the lag check, error by step, the forecast, reconstruction error.
- classification: class probabilities, the confusion matrix, one window's probabilities.
- cell_inside: gate heatmaps, gate saturation, gradient flow, hidden states (from core/gates.py's replay).
- compare: several runs' loss curves and test predictions.
- memory_race: accuracy against the lag, one line per cell.
"""
from __future__ import annotations

from ._style import (CELL_COLOURS, CLASS_COLOURS, GL_ABOVE, LEGEND, MAX_POINTS, RUN_COLOURS, SPLIT_COLOURS,
                     downsample, legend_name, run_colours)
from ._style import _when  # noqa: F401  (private, but ui/inspect_views.py labels dates with charts._when)
from .backtest import backtest_figure, fold_error_figure
from .classification import CLASS_WINDOWS, class_figure, confusion_figure, probability_bars
from .compare import loss_overlay_figure, prediction_overlay_figure
from .coverage import rolling_coverage_figure
from .data import image_figure, series_figure, window_figure
from .evaluation import error_figure, forecast_figure, lag_figure, step_error_figure, window_error_figure
from .cell_inside import (GATE_COLOURS, GATE_SCALES, gate_figure, gate_histogram_figure, gate_scale, gradient_figure,
                    hidden_figure, saturation_figure)
from .memory_race import memory_race_figure
from .training import accuracy_figure, loss_figure, naive_label, prediction_figure

__all__ = [
    "rolling_coverage_figure",
    "CELL_COLOURS", "CLASS_COLOURS", "CLASS_WINDOWS", "GATE_COLOURS", "GATE_SCALES", "GL_ABOVE", "LEGEND", "MAX_POINTS",
    "RUN_COLOURS", "legend_name", "run_colours",
    "SPLIT_COLOURS", "accuracy_figure", "backtest_figure", "fold_error_figure", "class_figure", "confusion_figure", "downsample", "error_figure",
    "forecast_figure", "gate_figure", "gate_histogram_figure", "gate_scale", "gradient_figure", "hidden_figure", "image_figure",
    "lag_figure", "loss_figure", "loss_overlay_figure", "memory_race_figure", "naive_label",
    "prediction_figure", "prediction_overlay_figure", "probability_bars", "saturation_figure",
    "series_figure", "step_error_figure", "window_error_figure", "window_figure",
]

# Every figure builder's result goes through _safe.without_links (visitor-supplied names never become links).
from . import _safe  # noqa: E402

for _name in [n for n in __all__ if n.endswith(("_figure", "_bars"))]:
    globals()[_name] = _safe.no_links(globals()[_name])
del _name
