"""The explorer's speed on the default spec's windows (about 5,000 x 60 steps x 64 units).

    .venv/bin/python bench/explore.py

Builds the default spec's windows and an untrained default LSTM(64) (the timing does not depend on
training), replays and caches the states once, then times the match search (target < 0.5 s) and
one what-if re-run of one window with a clamp (target < 100 ms). Prints the figures.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from core import models, worker
    from core.explore import match, states, whatif
    from core.spec import ExperimentSpec

    spec = ExperimentSpec()
    _, windowed = worker.prepare(spec)
    model = models.build(spec.model, spec.train, windowed.input_shape, spec.window.horizon)
    weights = model.get_weights()
    layer = states.explorable(model)[0].name
    t = time.perf_counter()
    found = states.compute(model, windowed, weights, layer)
    print(f"states: {found.h.shape} windows x steps x units, {found.h.nbytes / 2 ** 20:.0f} MB, "
          f"computed once in {time.perf_counter() - t:.2f} s")
    i = found.find("test", 10)
    chosen = match.pattern(found.h[i], 50, 59, 0.0)
    if not chosen.any():
        chosen[:8] = True
    search = best(lambda: match.search(found, chosen, 10, 0.0, 500, ("test", 10, 50)))
    print(f"match search over {len(found.h):,} windows, span 10, {int(chosen.sum())} pattern units: "
          f"{search * 1000:.0f} ms (target < 500 ms)")
    x = windowed.X["test"][10:11]
    clamp = best(lambda: whatif.forward(model, x, whatif.clamp(model, weights, layer, [0, 1, 2], [0.1, 0.2, 0.3])), 20)
    print(f"what-if re-run of one window with 3 units clamped: {clamp * 1000:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
