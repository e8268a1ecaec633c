"""Scores that put a result in proportion: direction against a coin, OWA against persistence, and
errors per step ahead for the model and every baseline.

- Direction against a coin: 53% right on 500 targets is what a coin gets one time in ten; the
  binomial p-value says so. Two nulls: a fair coin (50%), and the better constant guess (always
  "up" or always "down", right as often as the share of rises or falls), which a trending series
  hands to any model.
- OWA (the M4 competition's overall weighted average, here against persistence instead of M4's
  seasonally adjusted naive): the mean of the model's sMAPE over persistence's and its MASE over
  persistence's. Under 1 beats persistence on both counts on average; 1 is persistence.
- by_horizon: for forecasts several steps ahead, RMSE and MASE at each step k for the model and
  each baseline on the same windows; MASE_k divides by the mean absolute k-step change on the
  training rows, so persistence scores about 1 at every step on a random walk.
"""
from __future__ import annotations

import math

import numpy as np

from . import baselines as registry
from . import intervals


def direction_test(truth: np.ndarray, prediction: np.ndarray, last: np.ndarray) -> dict[str, float | int | None]:
    """{"moves", "hits", "rise_share", "p_coin", "p_rises"} for (samples,) forecasts from `last`.

    moves: the targets where the prediction moves away from `last` (direction accuracy counts only
    those); hits: how many of them it moved the right way. rise_share: percent of those targets
    where the truth rose. p_coin: P(at least `hits` of `moves` right | each right with 0.5);
    p_rises: the same with the better constant guess's rate, max(rise share, fall share). Null
    when nothing moved.
    """
    from scipy.stats import binom

    truth, prediction, last = (np.asarray(v, float) for v in (truth, prediction, last))
    moves = prediction != last
    n = int(moves.sum())
    if not n:
        return {"moves": 0, "hits": 0, "rise_share": None, "p_coin": None, "p_rises": None}
    right = np.sign(prediction - last)[moves] == np.sign(truth - last)[moves]
    hits = int(right.sum())
    rises = float(np.mean(truth[moves] > last[moves]))
    constant = max(rises, float(np.mean(truth[moves] < last[moves])))
    return {"moves": n, "hits": hits, "rise_share": 100 * rises, "p_coin": float(binom.sf(hits - 1, n, 0.5)),
            "p_rises": float(binom.sf(hits - 1, n, constant)) if constant > 0 else None}


def direction_sentence(test: dict | None) -> str:
    """"Direction 53% right on 500 moves: a coin does this well with p = 0.09, always-up with p = 0.4.\""""
    number = (int, float)
    if not isinstance(test, dict) or not all(isinstance(test.get(k), number) for k in ("moves", "hits", "p_coin")):
        return ""  # a run from before these scores, or a damaged metrics.json
    n, hits = test["moves"], test["hits"]
    if n <= 0:
        return ""
    text = f"Direction right in {hits} of {n} moves ({100 * hits / n:.0f}%): a fair coin does at least this well " \
           f"with p = {test['p_coin']:.2g}"
    if isinstance(test.get("p_rises"), number):
        text += f", the better of always up / always down with p = {test['p_rises']:.2g}"
    return text + " (under 0.05: unlikely to be luck)."


def owa(model: dict, naive: dict) -> float:
    """0.5 (sMAPE / persistence's sMAPE + MASE / persistence's MASE); NaN when either ratio is undefined."""
    ratios = []
    for key in ("smape", "mase"):
        a, b = model.get(key), naive.get(key)
        if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)) or b == 0:
            return math.nan
        ratios.append(a / b)
    return float(np.mean(ratios))


def owa_sentence(value) -> str:
    if value is None or not np.isfinite(value):
        return ""
    how = "better than" if value < 0.995 else "worse than" if value > 1.005 else "level with"
    return f"OWA {value:.3f} (sMAPE and MASE relative to persistence, averaged: {how} persistence)"


def step_scales(levels: np.ndarray, train_rows: int, steps: int) -> np.ndarray:
    """(steps,) MASE's denominators: the mean absolute k-step change on the training rows, k = 1..steps."""
    levels = np.asarray(levels[:train_rows], float)
    out = np.full(steps, np.nan)
    for k in range(1, steps + 1):
        if len(levels) > k:
            out[k - 1] = float(np.mean(np.abs(levels[k:] - levels[:-k])))
    return np.where(out > 0, out, np.nan)


def by_horizon(w, truth: np.ndarray, forecast: np.ndarray, origins: np.ndarray, season: int,
               moving_average: int) -> list[dict]:
    """[{"step": k, "windows": n, "model": {"rmse", "mase"}, "baselines": {name: {"rmse", "mase"}}}, ...].

    Args:
        w: the windows (core.windows.Windowed).
        truth, forecast: (windows, steps) levels k = 1..steps after each origin, and the model's.
        origins: (windows,) the row of each window's last value.
        season, moving_average: as the Evaluator chose them.
    """
    steps = truth.shape[1]
    preds = {}
    for key, cls in registry.REGISTRY.items():
        if not cls.statistical and cls.applies(w):
            preds[key] = cls().fit(w, season, moving_average).predict_steps(w, origins, steps)
    if any(registry.REGISTRY[k].applies(w) for k in registry.STATISTICAL):
        from . import statistical

        preds.update(statistical.by_step(w.levels, w.train_rows, origins, steps, season))
    scale = step_scales(w.levels, w.train_rows, steps)
    rows = []
    for k in range(steps):
        def score(values):
            err = values[:, k] - truth[:, k]
            mae = float(np.mean(np.abs(err)))
            return {"rmse": float(np.sqrt(np.mean(err ** 2))),
                    "mase": mae / scale[k] if np.isfinite(scale[k]) else math.nan}
        rows.append({"step": k + 1, "windows": int(len(truth)), "model": score(forecast),
                     "baselines": {name: score(values) for name, values in preds.items()}})
    return rows


def lines(metrics: dict) -> list[str]:
    """The scorecard in plain lines for the command line: OWA, direction against a coin, which interval
    method held its 80% level, and step 1 against the last step ahead."""
    out = [owa_sentence(metrics.get("owa") if isinstance(metrics.get("owa"), float) else None),
           direction_sentence(metrics.get("direction_test"))]
    if isinstance(metrics.get("interval_methods"), dict):
        out.append(intervals.held(metrics["interval_methods"], 80))
    steps = metrics.get("by_horizon")
    if isinstance(steps, list) and len(steps) >= 2:
        first, last = steps[0], steps[-1]
        naive = lambda row: row["baselines"].get(registry.PERSISTENCE, {}).get("mase", math.nan)  # noqa: E731
        out.append(f"MASE by step ahead: model {first['model']['mase']:.3f} at step 1, {last['model']['mase']:.3f} at "
                   f"step {last['step']}; persistence {naive(first):.3f} and {naive(last):.3f}")
    return [line for line in out if line]
