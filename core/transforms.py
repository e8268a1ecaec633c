"""The data transforms (`data.transform`), one row each: how a value is taken relative to the level it
is predicted from, how it turns back, and the values it cannot take.

Inputs change row to row (the anchor is the previous row); a target is taken relative to the
window's last step, which is known when the prediction is made, so a prediction turns back into
original units from known values only. core/windows.py applies them; this table is the only place
that says what each one does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .data import DataError


def _check_positive(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        bad = int((frame[column] <= 0).sum())
        if bad:
            raise DataError(f"the log transform needs values above 0, but {column!r} has {bad} value"
                            f"{'s' if bad > 1 else ''} at or below 0. Use the diff transform, or raw values")


def _check_nonzero(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        bad = int((frame[column] == 0).sum())
        if bad:
            raise DataError(f"percent change divides by the previous value, but {column!r} has {bad} zero"
                            f"{'s' if bad > 1 else ''}. Use the diff transform instead")


@dataclass(frozen=True)
class Transform:
    """One transform.

    Attributes:
        text: how a page names it.
        forward: (values, anchors) -> transformed values (the anchors broadcast against the values).
        back: (transformed, anchors) -> original units.
        needs_previous: each input row is relative to the row before, so the first row is dropped.
        check_values: raises DataError for a value it cannot take (log: <= 0), or None.
        check_anchors: raises DataError for an anchor it cannot divide by (pct: 0), or None.
    """

    text: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    back: Callable[[np.ndarray, np.ndarray], np.ndarray]
    needs_previous: bool = False
    check_values: Callable[[pd.DataFrame], None] | None = None
    check_anchors: Callable[[pd.DataFrame], None] | None = None


TRANSFORMS = {
    "raw": Transform("raw values", lambda x, a: x, lambda v, a: v),
    "log": Transform("log of the values", lambda x, a: np.log(x), lambda v, a: np.exp(v), check_values=_check_positive),
    "pct": Transform("percent change", lambda x, a: (x / a - 1) * 100, lambda v, a: a * (1 + v / 100),
                     needs_previous=True, check_anchors=_check_nonzero),
    "diff": Transform("difference", lambda x, a: x - a, lambda v, a: a + v, needs_previous=True),
}


def get(name: str) -> Transform:
    """The transform called `name`; an unknown name (which the spec refuses first) is treated as raw."""
    return TRANSFORMS.get(name, TRANSFORMS["raw"])


@np.errstate(over="ignore", divide="ignore", invalid="ignore")  # overflow is caught as a DataError by windows.make
def inputs(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Inputs row by row: log(x), x_t - x_(t-1), or 100 * (x_t / x_(t-1) - 1); row 0 is NaN for the last two.

    Raises:
        DataError: a value the transform cannot take."""
    t = get(name)
    for check in (t.check_values, t.check_anchors):
        if check is not None:
            check(frame)
    x = frame.to_numpy(np.float64)
    if not t.needs_previous:
        return t.forward(x, None)
    return np.vstack([np.full((1, x.shape[1]), np.nan), t.forward(x[1:], x[:-1])])


@np.errstate(over="ignore", divide="ignore", invalid="ignore")
def target(values: np.ndarray, last: np.ndarray, name: str) -> np.ndarray:
    """Targets relative to the level they are predicted from (checked by windows.make first)."""
    return get(name).forward(values, last)


@np.errstate(over="ignore", divide="ignore", invalid="ignore")
def back(values: np.ndarray, anchor: np.ndarray, name: str) -> np.ndarray:
    """Targets in transformed units -> original units, given the level at each window's last step."""
    return get(name).back(values, anchor)
