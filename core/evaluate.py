"""Metrics in original units, and the baselines every model is compared with."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, root_mean_squared_error


def metrics(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and MAPE (in percent) of (samples,) predictions against (samples,) truth.

    MAPE skips targets equal to zero, where it is undefined; it is NaN when all are zero.
    """
    truth, prediction = np.asarray(truth, float), np.asarray(prediction, float)
    nonzero = truth != 0
    mape = (100 * mean_absolute_percentage_error(truth[nonzero], prediction[nonzero])
            if nonzero.any() else float("nan"))
    return {
        "rmse": float(root_mean_squared_error(truth, prediction)),
        "mae": float(mean_absolute_error(truth, prediction)),
        "mape": float(mape),
    }


def report(truth: np.ndarray, prediction: np.ndarray, naive: np.ndarray, prefix: str = "test") -> dict[str, object]:
    """The metrics.json shape: {"test": {...}, "baselines": {"naive": {...}}}.

    With prefix="val" the keys are "val" and "val_baselines", for the validation targets.
    """
    baselines = "baselines" if prefix == "test" else f"{prefix}_baselines"
    return {prefix: metrics(truth, prediction), baselines: {"naive": metrics(truth, naive)}}
