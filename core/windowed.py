"""Windowed: the model-ready arrays of each split and how to go back to original units; Shapes: what
a page shows about them, without the arrays. core/windows.py makes them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import transforms

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Shapes:
    """What the pages show about the windows, without the windows: a few numbers and dates.

    The server caches this (pickled, a few hundred bytes), never the windows themselves: pickling a
    `Windowed` copies every strided view whole (300,000 points with a 2,000-step window kept 2.3 GB).

    Attributes:
        counts: split -> samples.
        input_shape: (time steps, features) of one sample.
        y_shape: the shape of one sample's target, e.g. (1,) or (horizon, 1).
        first, last: split -> the date of its first and last target.
        classes: classification: the class names; vocab: an embedding's vocabulary.
    """

    counts: dict[str, int]
    input_shape: tuple[int, int]
    y_shape: tuple[int, ...]
    first: dict[str, pd.Timestamp]
    last: dict[str, pd.Timestamp]
    classes: tuple[str, ...] | None = None
    vocab: int = 0

    def shape_text(self) -> str:
        t, f = self.input_shape
        total = sum(self.counts.values())
        y_shape = ", ".join(map(str, (total, *self.y_shape)))
        return (f"X: ({total} samples, {t} time steps, {f} feature{'s' if f != 1 else ''}), y: ({y_shape})  -  "
                + ", ".join(f"{s} {c}" for s, c in self.counts.items()))


@dataclass
class Windowed:
    """Model-ready arrays for each split, plus what is needed to go back to original units.

    Attributes:
        X: split -> (samples, time steps, features) float32, transformed and scaled; read-only
            views of one scaled copy of the series (see `sliding`).
        y: split -> (samples, 1) float32, transformed and scaled.
        dates: split -> DatetimeIndex of the target rows, (samples,).
        truth: split -> (samples,) float64 targets in original units.
        naive: split -> (samples,) persistence forecast ("tomorrow = today"): the target column at
            the window's last step, in original units. It is also the anchor the "diff" and "pct"
            transforms are relative to.
        starts: split -> (samples,) the row (in `index`) where each sample's window starts.
        index: the dates of the rows the windows were cut from.
        x_scaler, y_scaler: the scalers, fitted on training rows / training targets.
        train_rows: how many leading rows the input scaler was fitted on.
        transform: the spec's data.transform.
        dropped_rows: rows removed by missing-value handling and differencing.
    """

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    dates: dict[str, pd.DatetimeIndex]
    truth: dict[str, np.ndarray]
    naive: dict[str, np.ndarray]
    x_scaler: object
    y_scaler: object
    train_rows: int
    features: list[str]
    target: str
    starts: dict[str, np.ndarray] | None = None
    index: pd.DatetimeIndex | None = None
    transform: str = "raw"
    dropped_rows: int = 0
    mode: str = "many_to_one"
    horizon: int = 1
    levels: np.ndarray | None = None
    x_scaled: np.ndarray | None = None
    classes: list[str] | None = None  # classification: the class names, by label index
    vocab: int = 0  # embedding: how many distinct tokens the input column may hold
    naive_name: str = "persistence"  # what the `naive` baseline is (see make)
    split_y_scalers: dict | None = None  # data.scaler "standard-lookahead" (a leak): val/test targets' own scalers

    def _y_scaler(self, split: str | None = "test"):
        """The target scaler for `split`: the training one, except under the look-ahead leak."""
        return (self.split_y_scalers or {}).get(split, self.y_scaler)

    @property
    def task(self) -> str:
        return "classification" if self.classes else "regression"
    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one sample."""
        return self.X["train"].shape[1:]

    def counts(self) -> dict[str, int]:
        return {s: len(self.y[s]) for s in SPLITS}

    def inverse_y(self, y_scaled: np.ndarray, split: str) -> np.ndarray:
        """Scaled predictions (any mode's shape) for `split` -> (samples,) in original units.

        The value `horizon` steps after each window: the only output in many_to_one and stateful
        modes, the last step in direct, seq2seq and many_to_many.
        """
        if self.classes:  # probabilities (samples[, steps], classes) -> the last step's class
            return self.probabilities(y_scaled, split).argmax(axis=1).astype(np.float64)
        y = np.asarray(y_scaled, dtype=np.float64).reshape(len(self.naive[split]), -1)[:, -1]
        flat = self._y_scaler(split).inverse_transform(y.reshape(-1, 1))[:, 0]
        return untransform(flat, self.naive[split], self.transform)

    def probabilities(self, output: np.ndarray, split: str) -> np.ndarray:
        """Classification output (samples[, steps], classes) -> (samples, classes) at each window's last step."""
        k = len(self.classes)
        return np.asarray(output, dtype=np.float64).reshape(len(self.naive[split]), -1, k)[:, -1, :]

    def class_name(self, label: float) -> str:
        return self.classes[int(label)] if self.classes and 0 <= int(label) < len(self.classes) else str(label)

    def inverse_steps(self, y_scaled: np.ndarray, split: str) -> np.ndarray:
        """direct/seq2seq predictions (samples, horizon[, 1]) -> (samples, horizon) in original units."""
        return self.to_levels(y_scaled, self.naive[split], split)

    def to_levels(self, y_scaled: np.ndarray, anchor: np.ndarray, split: str = "test") -> np.ndarray:
        """Scaled targets (samples, steps[, 1]) -> original units, given each window's last level (samples,);
        `split` matters only under the look-ahead leak (past the data's end: the test period's scaler)."""
        anchor = np.asarray(anchor, dtype=np.float64)
        y = np.asarray(y_scaled, dtype=np.float64).reshape(len(anchor), -1)
        flat = self._y_scaler(split).inverse_transform(y.reshape(-1, 1)).reshape(y.shape)
        return untransform(flat, anchor[:, None], self.transform)

    def scaled_inputs(self, levels: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """The scaled input feature for new target levels (samples,), for a univariate window."""
        raw = transforms.target(levels, previous, self.transform)
        return self.x_scaler.transform(raw.reshape(-1, 1)).astype(np.float32)[:, 0]

    def truth_steps(self, split: str) -> np.ndarray:
        """(samples, horizon): the values 1..horizon steps after each window, original units."""
        last = self.starts[split] + self.input_shape[0] - 1
        return self.levels[last[:, None] + np.arange(1, self.horizon + 1)[None, :]]

    def shapes(self) -> Shapes:
        """The counts, shapes and split dates, without the arrays (what the server caches)."""
        return Shapes(self.counts(), tuple(int(n) for n in self.input_shape), tuple(self.y["train"].shape[1:]),
                      {s: self.dates[s][0] for s in SPLITS}, {s: self.dates[s][-1] for s in SPLITS},
                      tuple(self.classes) if self.classes else None, self.vocab)

    def shape_text(self) -> str:
        return self.shapes().shape_text()

    def window_dates(self, split: str, i: int) -> pd.DatetimeIndex:
        """The dates of the input rows of sample i of `split`."""
        start = int(self.starts[split][i])
        return self.index[start:start + self.input_shape[0]]


def untransform(values: np.ndarray, anchor: np.ndarray, transform: str) -> np.ndarray:
    """Targets in transformed units -> original units, given the level at each window's last step."""
    return transforms.back(values, anchor, transform)
