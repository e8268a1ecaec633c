"""Windowing, the chronological split, and scaling fitted on training rows only.

A sample j takes the rows [j, j + length) as input and predicts the target at row
j + length + horizon - 1. Samples are assigned to train, val or test by their *target* row, so a
target never crosses a split boundary, while a window's inputs may reach back into the segment
before it (those values are known at prediction time). The scalers see the training rows only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.preprocessing import MinMaxScaler

from .data import DataError, check_columns
from .spec import ExperimentSpec

SPLITS = ("train", "val", "test")


@dataclass
class Windowed:
    """Model-ready arrays for each split, plus what is needed to go back to original units.

    Attributes:
        X: split -> (samples, time steps, features) float32, scaled.
        y: split -> (samples, 1) float32, scaled.
        dates: split -> DatetimeIndex of the target rows, (samples,).
        truth: split -> (samples,) float64 targets in original units.
        naive: split -> (samples,) persistence forecast ("tomorrow = today"): the target column at
            the window's last step, in original units.
        x_scaler, y_scaler: MinMaxScalers fitted on the training rows.
        train_rows: how many leading rows of the frame the scalers were fitted on.
    """

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    dates: dict[str, pd.DatetimeIndex]
    truth: dict[str, np.ndarray]
    naive: dict[str, np.ndarray]
    x_scaler: MinMaxScaler
    y_scaler: MinMaxScaler
    train_rows: int
    features: list[str]
    target: str

    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one sample."""
        return self.X["train"].shape[1:]

    def counts(self) -> dict[str, int]:
        return {s: len(self.y[s]) for s in SPLITS}

    def inverse_y(self, y_scaled: np.ndarray) -> np.ndarray:
        """(samples, 1) or (samples,) scaled predictions -> (samples,) in original units."""
        return self.y_scaler.inverse_transform(np.asarray(y_scaled, dtype=np.float64).reshape(-1, 1))[:, 0]

    def shape_text(self) -> str:
        n, t, f = self.X["train"].shape
        total = sum(self.counts().values())
        return (f"X: ({total} samples, {t} time steps, {f} feature{'s' if f != 1 else ''}), y: ({total}, 1)  -  "
                + ", ".join(f"{s} {c}" for s, c in self.counts().items()))


def split_counts(targets: int, val: float | int, test: float | int) -> tuple[int, int, int]:
    """Split `targets` target rows chronologically into (train, val, test) counts.

    A fraction in (0, 1) is a share of the target rows; an integer >= 1 is a count of rows.
    """
    n_test = int(round(test * targets)) if isinstance(test, float) else int(test)
    n_val = int(round(val * targets)) if isinstance(val, float) else int(val)
    return targets - n_val - n_test, n_val, n_test


def make(frame: pd.DataFrame, spec: ExperimentSpec) -> Windowed:
    """Window `frame` as the spec says.

    Raises:
        DataError: when the data is too short for the window and split, or columns are missing.
    """
    d, w = spec.data, spec.window
    check_columns(frame, [d.target, *d.features])
    used = frame[list(dict.fromkeys([*d.features, d.target]))].dropna()
    rows, length, horizon = len(used), w.length, w.horizon
    targets = rows - length - horizon + 1
    n_train, n_val, n_test = split_counts(max(targets, 0), spec.split.val, spec.split.test)
    if targets < 3 or min(n_train, n_val, n_test) < 1:
        raise DataError(
            f"the data has {rows} rows, which leaves {max(targets, 0)} windows of length {length} "
            f"(horizon {horizon}); split into train {max(n_train, 0)}, val {max(n_val, 0)}, test {max(n_test, 0)}, "
            "each split needs at least one. Shorten the window, shrink the val/test split, or use more data"
        )
    train_rows = length + horizon - 1 + n_train
    x_raw = used[d.features].to_numpy(np.float64)  # (rows, features)
    y_raw = used[[d.target]].to_numpy(np.float64)  # (rows, 1)
    x_scaler = MinMaxScaler().fit(x_raw[:train_rows])
    y_scaler = MinMaxScaler().fit(y_raw[:train_rows])
    x_scaled = x_scaler.transform(x_raw).astype(np.float32)
    y_scaled = y_scaler.transform(y_raw).astype(np.float32)

    # (rows - length + 1, features, length) -> (windows, length, features)
    windows = sliding_window_view(x_scaled, length, axis=0).transpose(0, 2, 1)[:targets]
    target_rows = np.arange(targets) + length + horizon - 1
    last_input_rows = np.arange(targets) + length - 1
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, targets)}
    X, y, dates, truth, naive = {}, {}, {}, {}, {}
    for split, (a, b) in bounds.items():
        X[split] = np.ascontiguousarray(windows[a:b])
        y[split] = y_scaled[target_rows[a:b]]
        dates[split] = pd.DatetimeIndex(used.index[target_rows[a:b]])
        truth[split] = y_raw[target_rows[a:b], 0]
        naive[split] = y_raw[last_input_rows[a:b], 0]
    return Windowed(X, y, dates, truth, naive, x_scaler, y_scaler, train_rows, list(d.features), d.target)
