"""Cost of issue 25's scores on the default spec (S&P 500, window 60, 746 test targets), without
training: the predictions are persistence plus noise, which costs the scores the same as a model's.

    python bench/scorecard.py [--repeats 20]

Prints the median milliseconds of each new piece per refresh of the metrics (interval methods:
split, ACI and scaled with coverage, width, Winkler and terciles; direction p-values; OWA) and
once per run (by_horizon over 256 test windows x 20 steps, with ETS and ARIMA filtered once from
fits the Evaluator made). Target: under 50 ms in all on a default run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core import data, evaluate, intervals, scores, windows  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402


def timed(fn, repeats: int) -> float:
    """Median milliseconds of fn() over `repeats` calls."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
    return median(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ["RNNLAB_STATS_CACHE"] = tempfile.mkdtemp()  # a first run: nothing cached on disk
    spec = ExperimentSpec()
    w = windows.make(data.load(spec.data), spec)
    rng = np.random.default_rng(0)
    predictions = {s: w.naive[s] + rng.normal(0, 10, len(w.naive[s])) for s in ("val", "test")}
    t0 = time.perf_counter()
    ev = evaluate.Evaluator(w, spec.evaluate.season, spec.evaluate.moving_average)  # fits ETS and ARIMA once
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores.direction_test(w.truth["test"], predictions["test"], w.naive["test"])  # imports scipy.stats once
    first_scipy = 1000 * (time.perf_counter() - t0)
    parts = {
        "interval methods (split, ACI, scaled)": lambda: intervals.for_windows(w, predictions),
        "direction p-values": lambda: scores.direction_test(w.truth["test"], predictions["test"], w.naive["test"]),
        "OWA": lambda: scores.owa({"smape": 1.0, "mase": 1.0}, {"smape": 1.1, "mase": 1.2}),
    }
    per_refresh = {name: timed(fn, args.repeats) for name, fn in parts.items()}
    length, steps = w.input_shape[0], 20
    last = w.starts["test"] + length - 1
    usable = last[last + steps < len(w.levels)]
    origins = usable[np.linspace(0, len(usable) - 1, 256).round().astype(int)]
    truth = w.levels[origins[:, None] + np.arange(1, steps + 1)[None, :]]
    forecast = truth + rng.normal(0, 10, truth.shape)
    found = (truth, forecast, w.levels[origins], origins)
    t0 = time.perf_counter()
    evaluate.with_horizons({"test": {}}, ev, found)  # the first run on this data: ETS/ARIMA filtered from the fits
    first = 1000 * (time.perf_counter() - t0)
    once = timed(lambda: evaluate.with_horizons({"test": {}}, ev, found), max(3, args.repeats // 4))  # cached
    full = timed(lambda: ev.report(predictions), args.repeats)
    print(f"default spec: {len(w.truth['test'])} test targets; Evaluator set-up {setup:.2f} s (ETS/ARIMA fits)")
    for name, ms in per_refresh.items():
        print(f"  {name:<40} {ms:7.2f} ms per refresh")
    print(f"  {'first scipy.stats import (once a process)':<40} {first_scipy:7.1f} ms")
    print(f"  {'by_horizon, first run on this data':<40} {first:7.2f} ms once per run")
    print(f"  {'by_horizon, statistical forecasts cached':<40} {once:7.2f} ms once per run")
    print(f"  all new per refresh: {sum(per_refresh.values()):.2f} ms (target < 50); by_horizon once at the end: "
          f"{first:.0f} ms first, {once:.0f} ms cached; whole Evaluator.report {full:.2f} ms")


if __name__ == "__main__":
    main()
