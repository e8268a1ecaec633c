"""Vectorized windowing against the loop the classic tutorials write.

    python bench/windowing.py [--points 1000000] [--length 60]

The loop appends one window at a time (`for i in range(60, n): X.append(x[i-60:i, 0])`, then
`np.array(X)`), as in the well-known stock-prediction tutorials. `windows.sliding` gives the same
(windows, length, 1) array as a strided view with no Python loop and no copy. Also timed: that
view copied into one contiguous array (the copy Keras makes when it trains), and the whole
`windows.make` (missing values, split, scalers, windows for all three splits).

Prints seconds and peak traced memory (tracemalloc) of each, and the speedups (target: >= 50x).
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import windows  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402


def loop_windows(x: np.ndarray, length: int) -> np.ndarray:
    """The tutorials' loop: one slice appended per window, then np.array and a reshape."""
    out = []
    for i in range(length, len(x) + 1):
        out.append(x[i - length:i, 0])
    out = np.array(out)
    return np.reshape(out, (out.shape[0], out.shape[1], 1))


def copied_windows(x: np.ndarray, length: int) -> np.ndarray:
    """The same windows as one contiguous array (what Keras copies into a tensor to train)."""
    return np.ascontiguousarray(windows.sliding(x, length))


def measure(fn, *args):
    """(result, best seconds of 2 runs, peak MB traced by tracemalloc)."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
        del result
    tracemalloc.start()
    result = fn(*args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = (100 + np.cumsum(rng.normal(0, 1, args.points))).astype(np.float32)[:, None]

    looped, t_loop, m_loop = measure(loop_windows, x, args.length)
    fast, t_fast, m_fast = measure(windows.sliding, x, args.length)
    assert looped.shape == fast.shape and np.array_equal(looped, fast), "the two methods disagree"
    del looped, fast
    _, t_copy, m_copy = measure(copied_windows, x, args.length)

    frame = pd.DataFrame({"value": x[:, 0].astype(np.float64)},
                         index=pd.date_range("2000-01-01", periods=args.points, freq="min", name="date"))
    spec = ExperimentSpec.from_dict({"data": {"source": "synthetic", "name": "random_walk", "target": "value",
                                              "features": ["value"]}, "window": {"length": args.length}})
    made, t_make, m_make = measure(windows.make, frame, spec)
    shape = (sum(made.counts().values()), *made.input_shape)

    print(f"{args.points:,} points, windows of {args.length}: {shape[0]:,} windows")
    print(f"loop + np.array   {t_loop:8.3f} s   peak {m_loop:8.1f} MB")
    print(f"windows.sliding   {t_fast:8.5f} s   peak {m_fast:8.1f} MB   (strided view, what make() keeps)")
    print(f"sliding + copy    {t_copy:8.3f} s   peak {m_copy:8.1f} MB   (contiguous, as Keras copies it to train)")
    print(f"windows.make      {t_make:8.3f} s   peak {m_make:8.1f} MB   (missing values, split, scalers, 3 splits)")
    print(f"speedup sliding vs loop:        {t_loop / t_fast:10.1f}x   (target >= 50x)")
    print(f"speedup windows.make vs loop:   {t_loop / t_make:10.1f}x   (make also scales and splits)")
    print(f"speedup sliding + copy vs loop: {t_loop / t_copy:10.1f}x")
    print(f"peak memory loop / make:        {m_loop / max(m_make, 1e-9):10.1f}x")


if __name__ == "__main__":
    main()
