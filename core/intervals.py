"""Prediction intervals by split conformal prediction, with their coverage measured on the test set.

The absolute errors of the model on the validation targets (data it did not train on) give, for a
level of 80%, the error size q that 80% of new errors stay under: the ceil((n + 1) * 0.8)-th
smallest of the n validation errors (split conformal: with exchangeable errors the band
prediction +- q holds the truth with probability at least 80%). The test targets then say how
often it really did. Multi-step forecasts get a q per step ahead, from the validation windows'
errors at that step. All in original units.
"""
from __future__ import annotations

import math

import numpy as np

LEVELS = (80, 95)


def quantile(errors: np.ndarray, level: float) -> float:
    """The conformal error size for `level` percent from (n,) absolute validation errors (inf when
    n is too small for the level: at 95% that needs 19 errors)."""
    errors = np.sort(np.abs(np.asarray(errors, float)[np.isfinite(errors)]))
    n = len(errors)
    k = math.ceil((n + 1) * level / 100)
    return float(errors[k - 1]) if 1 <= k <= n else math.inf


def bands(prediction: np.ndarray, truth_val: np.ndarray, prediction_val: np.ndarray
          ) -> dict[int, tuple[float, np.ndarray, np.ndarray]]:
    """level -> (q, lower, upper) around `prediction` from the validation errors."""
    errors = np.abs(np.asarray(truth_val, float) - np.asarray(prediction_val, float))
    prediction = np.asarray(prediction, float)
    out = {}
    for level in LEVELS:
        q = quantile(errors, level)
        out[level] = (q, prediction - q, prediction + q)
    return out


def coverage(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Percent of `truth` inside [lower, upper] (NaN for no targets)."""
    truth = np.asarray(truth, float)
    if not len(truth):
        return math.nan
    return float(100 * np.mean((truth >= lower) & (truth <= upper)))


def for_splits(truth: dict[str, np.ndarray], predictions: dict[str, np.ndarray]
               ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, float]]]:
    """Bands for the val and test predictions, and their summary for metrics.json.

    Returns ({"lower_80": {split: (samples,)}, "upper_80": ..., "lower_95": ..., "upper_95": ...},
    {"80": {"coverage", "width", "val_coverage"}, "95": {...}}): coverage in percent on the test
    targets, width the band's full width (2q) in original units.
    """
    columns: dict[str, dict[str, np.ndarray]] = {}
    summary: dict[str, dict[str, float]] = {}
    per_split = {split: bands(predictions[split], truth["val"], predictions["val"]) for split in ("val", "test")}
    for level in LEVELS:
        q = per_split["test"][level][0]
        for split in ("val", "test"):
            _, lower, upper = per_split[split][level]
            columns.setdefault(f"lower_{level}", {})[split] = lower
            columns.setdefault(f"upper_{level}", {})[split] = upper
        finite = math.isfinite(q)  # too few validation errors for this level: no band, so no coverage either
        summary[str(level)] = {
            "coverage": coverage(truth["test"], *per_split["test"][level][1:]) if finite else math.nan,
            "val_coverage": coverage(truth["val"], *per_split["val"][level][1:]) if finite else math.nan,
            "width": 2 * q if finite else math.nan,
        }
    return columns, summary


def sentence(summary: dict) -> str:
    """"The 80% band held 77% of the test values (width 41.2); the 95% band held 93% (width 63.0).\""""
    parts = []
    for level in LEVELS:
        s = summary.get(str(level)) or {}
        cover, width = s.get("coverage"), s.get("width")  # metrics.json stores NaN as null
        if cover is None or width is None or not (np.isfinite(cover) and np.isfinite(width)):
            continue
        parts.append(f"the {level}% band held {s['coverage']:.0f}% of the test values (width {s['width']:.4g})")
    return ("; ".join(parts) + ".").capitalize() if parts else ""
