"""Prediction intervals: split conformal, adaptive conformal (ACI) and a volatility-scaled score,
with their coverage, width and interval (Winkler) score measured on the test set.

The absolute errors of the model on the validation targets (data it did not train on) give, for a
level of 80%, the error size q that 80% of new errors stay under: the ceil((n + 1) * 0.8)-th
smallest of the n validation errors (split conformal: with exchangeable errors the band
prediction +- q holds the truth with probability at least 80%). The test targets then say how
often it really did. Multi-step forecasts get a q per step ahead, from the validation windows'
errors at that step. All in original units.

Split conformal assumes the errors of the test period look like the validation period's. After a
change of regime they do not: after a variance break its band under-covers, and in calm stretches
it is wider than needed. Two repairs sit next to it (`methods`):

- aci: adaptive conformal inference (Gibbs and Candes, NeurIPS 2021). The miscoverage level is
  updated online, alpha_{t+1} = alpha_t + gamma (alpha - err_t), err_t = 1 when target t fell
  outside its band, so after misses the band widens and after hits it narrows; over the whole
  sequence the share of misses tends to alpha whatever the data do. gamma = ACI_GAMMA. A target's
  hit or miss is only used once it is known at the next origin (a horizon of h steps: h later).
  The error sizes are the most recent len(validation) absolute errors known at the origin.
- scaled: the score is the absolute error divided by the volatility known at the origin (the
  standard deviation of the last VOL_WINDOW changes of the target up to the window's last value);
  the band is prediction +- q * volatility, narrower in calm periods and wider in volatile ones.
"""
from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque

import numpy as np
import pandas as pd

LEVELS = (80, 95)
METHODS = ("split", "aci", "scaled")
METHOD_NAMES = {"split": "split conformal", "aci": "adaptive conformal (ACI)", "scaled": "volatility-scaled"}
# ACI's step size. The paper's experiments use 0.005. Measured on a variance break (300 N(0,1) validation errors,
# test errors N(0,1) for 50 targets then N(0,3); 5 seeds), coverage over the last half of the test targets at an
# 80% level: 83-86% with 0.005, 81-82% with 0.01, 80.0-80.4% with 0.05. With the validation errors alone as the
# error sizes (no rolling update) it stayed at 66-73% whatever gamma: the largest of them is smaller than a band
# after the break must be, so ACI needs the recent errors (as the paper's recent-window calibration).
ACI_GAMMA = 0.05
VOL_WINDOW = 20  # changes in the rolling volatility of the scaled score (about a trading month)
ROLLING = 50  # targets in the moving window of the rolling-coverage chart
HELD_WITHIN = 5.0  # a method "held its level" when its test coverage is at least the level minus this (points)


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


def winkler(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    """The mean interval (Winkler) score of central `level`% bands: the width, plus 2/a times how far
    the truth fell outside (a = 1 - level/100). Lower is better; a band that covers by being very
    wide pays its width, one that misses pays the miss."""
    truth, lower, upper = (np.asarray(v, float) for v in (truth, lower, upper))
    if not len(truth):
        return math.nan
    a = 1 - level / 100
    score = (upper - lower) + (2 / a) * np.clip(lower - truth, 0, None) + (2 / a) * np.clip(truth - upper, 0, None)
    return float(np.mean(score))


def volatility(known: np.ndarray, window: int = VOL_WINDOW) -> np.ndarray:
    """(samples,) the standard deviation of the last `window` changes of `known` (the value known at
    each sample's origin, e.g. the window's last value), each from that sample and the ones before it
    (fewer at the start). Zeros are lifted to the median so no band has width 0."""
    changes = np.diff(np.asarray(known, float), prepend=np.nan)
    frame = pd.Series(changes).rolling(window, min_periods=2).std().to_numpy()
    finite = frame[np.isfinite(frame) & (frame > 0)]
    fill = float(np.median(finite)) if len(finite) else 1.0
    return np.where(np.isfinite(frame) & (frame > 0), frame, fill)


def aci(errors_val: np.ndarray, errors_test: np.ndarray, level: float, delay: int = 1,
        gamma: float = ACI_GAMMA) -> np.ndarray:
    """(test samples,) ACI's error sizes q_t, one per test target in time order.

    Args:
        errors_val: (n,) absolute validation errors, the first error sizes known.
        errors_test: (m,) absolute test errors; target t's is used from target t + delay on.
        level: the target coverage in percent; alpha = 1 - level / 100.
        delay: targets between an origin and the first one whose truth it knows (ceil(horizon / stride)).

    alpha_t is clipped to [0, 1): at alpha_t <= 0 the paper's band is infinite; here it is the largest
    known error (a finite stand-in, as Conformal PID suggests), and the update goes on from there.
    """
    alpha = 1 - level / 100
    errors_val = np.abs(np.asarray(errors_val, float))
    errors_test = np.abs(np.asarray(errors_test, float))
    size = max(len(errors_val), 1)
    recent = deque(errors_val.tolist())  # the newest `size` known errors, in time order ...
    ordered = sorted(recent)  # ... and sorted: bisect keeps it so (a sort per target took 120 ms on 746 targets)
    out = np.empty(len(errors_test))
    alpha_t, misses = alpha, []
    for t in range(len(errors_test)):
        known = t - delay  # the newest test target whose truth is known at this origin
        if known >= 0:
            insort(ordered, float(errors_test[known]))
            recent.append(float(errors_test[known]))
            if len(recent) > size:
                del ordered[bisect_left(ordered, recent.popleft())]
            alpha_t += gamma * (alpha - misses[known])
        k = math.ceil((len(ordered) + 1) * (1 - alpha_t))
        out[t] = ordered[min(max(k, 1), len(ordered)) - 1] if ordered else math.inf
        misses.append(float(errors_test[t] > out[t]))
    return out


def methods(truth: dict[str, np.ndarray], prediction: dict[str, np.ndarray], known: dict[str, np.ndarray],
            delay: int = 1) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """method -> level -> (lower, upper) test bands of split conformal, ACI and the scaled score.

    Args:
        truth, prediction: split -> (samples,) val and test, original units, in time order.
        known: split -> (samples,) the value known at each origin (the window's last value): the
            scaled score's volatility is computed from it over val then test.
        delay: see `aci`.
    """
    err = {s: np.abs(np.asarray(truth[s], float) - np.asarray(prediction[s], float)) for s in ("val", "test")}
    pred = np.asarray(prediction["test"], float)
    n_val = len(err["val"])
    vol = volatility(np.concatenate([known["val"], known["test"]]))
    vol_val, vol_test = vol[:n_val], vol[n_val:]
    out: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {m: {} for m in METHODS}
    for level in LEVELS:
        q = quantile(err["val"], level)
        out["split"][level] = (pred - q, pred + q)
        q_t = aci(err["val"], err["test"], level, delay)
        out["aci"][level] = (pred - q_t, pred + q_t)
        q_s = quantile(err["val"] / vol_val, level) * vol_test
        out["scaled"][level] = (pred - q_s, pred + q_s)
    return out


def summarise(truth: np.ndarray, bands: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]], vol: np.ndarray
              ) -> tuple[dict, dict]:
    """(interval_methods, interval_terciles) for metrics.json from `methods`' bands.

    interval_methods: method -> {"80": {"coverage", "width", "winkler"}, "95": ...}: coverage in
    percent, width the mean full width, winkler the mean interval score (original units).
    interval_terciles: method -> {"80": [calm, middle, volatile]} coverage in the test targets
    whose volatility at the origin is in the lowest, middle and highest third.
    """
    truth = np.asarray(truth, float)
    cuts = np.quantile(vol, [1 / 3, 2 / 3]) if len(vol) else [0, 0]
    third = np.digitize(vol, cuts, right=True)
    summary, terciles = {}, {}
    for method, by_level in bands.items():
        for level, (lower, upper) in by_level.items():
            finite = bool(np.isfinite(lower).all() and np.isfinite(upper).all())
            summary.setdefault(method, {})[str(level)] = {
                "coverage": coverage(truth, lower, upper) if finite else math.nan,
                "width": float(np.mean(upper - lower)) if finite and len(truth) else math.nan,
                "winkler": winkler(truth, lower, upper, level) if finite else math.nan}
            terciles.setdefault(method, {})[str(level)] = [
                coverage(truth[third == k], lower[third == k], upper[third == k]) if finite else math.nan
                for k in range(3)]
    return summary, terciles


def for_windows(w, predictions: dict[str, np.ndarray]) -> dict:
    """{"interval_methods": ..., "interval_terciles": ...} for a Windowed forecast (horizon >= 1);
    {} for the modes that predict a window's own steps (their baseline value is not known at an origin)."""
    if w.horizon < 1 or w.classes or len(w.truth["test"]) == 0 or len(w.truth["val"]) == 0:
        return {}
    known = {s: np.asarray(w.naive[s], float) for s in ("val", "test")}
    gaps = np.diff(w.starts["test"]) if w.starts is not None else np.ones(1)
    stride = max(1, int(gaps.min())) if len(gaps) else 1  # rows between consecutive targets
    delay = math.ceil(w.horizon / stride)
    bands = methods(w.truth, predictions, known, delay)
    vol = volatility(np.concatenate([known["val"], known["test"]]))[len(known["val"]):]
    summary, terciles = summarise(w.truth["test"], bands, vol)
    return {"interval_methods": summary, "interval_terciles": terciles}


def rolling(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray, window: int = ROLLING) -> np.ndarray:
    """(samples,) percent of the last `window` targets inside their band (NaN until `window` are in)."""
    hits = ((np.asarray(truth, float) >= lower) & (np.asarray(truth, float) <= upper)).astype(float)
    return 100 * pd.Series(hits).rolling(window).mean().to_numpy()


def held(summary: dict, level: int = 80) -> str:
    """Which method held its `level` (coverage at least level - HELD_WITHIN) and at what width, in a sentence."""
    parts, holders = [], []
    for method in METHODS:
        s = (summary.get(method) or {}).get(str(level)) or {}
        cover, width = s.get("coverage"), s.get("width")
        if cover is None or width is None or not (np.isfinite(cover) and np.isfinite(width)):
            continue
        parts.append(f"{METHOD_NAMES[method]} {cover:.0f}% (width {width:.4g})")
        if cover >= level - HELD_WITHIN:
            holders.append((width, METHOD_NAMES[method]))
    if not parts:
        return ""
    verdict = (f"the narrowest that held its {level}% level is {min(holders)[1]}" if holders else
               f"none held its {level}% level (within {HELD_WITHIN:.0f} points)")
    return f"At {level}%: " + "; ".join(parts) + f". {verdict[:1].upper() + verdict[1:]}."


def rolling_from_frame(frame: pd.DataFrame, level: int, horizon: int, stride: int = 1
                       ) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]] | None:
    """(test dates, method -> rolling coverage) from predictions.csv's val and test rows (date, split,
    truth, prediction, naive): the same bands as metrics.json's interval_methods. None when the file
    lacks them (a classifier, an autoencoder, horizon 0, too few rows)."""
    need = {"date", "split", "truth", "prediction", "naive"}
    if frame is None or horizon < 1 or not need <= set(frame.columns):
        return None
    parts = {s: frame[frame["split"] == s] for s in ("val", "test")}
    if any(len(p) < 2 for p in parts.values()):
        return None
    col = lambda name: {s: p[name].to_numpy(float) for s, p in parts.items()}  # noqa: E731
    truth = col("truth")
    bands = methods(truth, col("prediction"), col("naive"), math.ceil(horizon / max(1, stride)))
    rolled = {m: rolling(truth["test"], *bands[m][level]) for m in METHODS}
    return pd.DatetimeIndex(parts["test"]["date"]), rolled
