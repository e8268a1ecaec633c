"""Sweeps: 12 small trials with 1 worker and with 2 (the speed-up), and the engine's own cost.

    .venv/bin/python bench/sweep.py [--trials 12] [--epochs 5] [--repeats 1]

Each sweep is a fresh journal study of `--trials` trials on a small spec (the built-in S&P 500 in
2018, window and cell and units and learning rate searched), trained by real worker processes of
the pool (core/pool.py LocalProcesses), timed from start to the last trial's end. The engine's
cost is the time the slots spend in Optuna (ask, the samplers' suggestions, tell, report,
should_prune, reading the study's trials) against the trials' wall time: target under 2%.
Prints ratios; no pass/fail.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core import pool, sweep  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402

SPACE = {"model.cell": {"choices": ["SimpleRNN", "LSTM", "GRU"]}, "model.units": {"choices": [[8], [16], [8, 8]]},
         "window.length": {"int": [10, 30], "step": 10},
         "train.learning_rate": {"float": [1e-3, 3e-2], "log": True}}


class Timed:
    """A proxy that sums the seconds spent in the study's methods (from every slot thread)."""

    def __init__(self, study):
        self._study, self.seconds = study, 0.0

    def __getattr__(self, name):
        attr = getattr(self._study, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            args = [a._trial if isinstance(a, TimedTrial) else a for a in args]  # tell() wants the real trial
            t0 = time.perf_counter()
            try:
                out = attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
            if name == "ask":  # the trial's own calls (suggest, report, should_prune) count too
                return TimedTrial(out, self)
            return out

        return timed


class TimedTrial:
    def __init__(self, trial, owner: Timed):
        self._trial, self._owner = trial, owner

    def __getattr__(self, name):
        attr = getattr(self._trial, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._owner.seconds += time.perf_counter() - t0

        return timed


def one_sweep(base: ExperimentSpec, trials: int, workers: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="rnnlab-sweep-bench-"))
    name = f"bench-{workers}"
    study = Timed(sweep.open_study(name, sweep.storage(None, root, name), "val_rmse", base.train.seed))
    runner = pool.Pool(pool.LocalProcesses(warm=True), workers, grace=30)
    seconds = []
    job = sweep.Sweep(base, sweep.parse_space(SPACE, base), study, trials, runner, root, slots=workers,
                      on_trial=lambda o: seconds.append(o.seconds))
    t0 = time.perf_counter()
    job.start()
    job.join()
    wall = time.perf_counter() - t0
    states = [o.state for o in job.outcomes]
    return {"wall": wall, "engine": study.seconds, "trial_seconds": sum(seconds), "states": states}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="A/B pairs (1 worker, then 2), medians reported")
    args = parser.parse_args()
    base = ExperimentSpec.from_dict({"data": {"start": "2018-01-01"}, "window": {"length": 20},
                                     "model": {"units": [8]}, "train": {"epochs": args.epochs}})
    print(f"bench/sweep.py: {args.trials} trials of {args.epochs} epochs (S&P 500 2018), {os.cpu_count()} CPUs, "
          f"{args.repeats} pair(s)", flush=True)
    results = {1: [], 2: []}
    for i in range(args.repeats):
        for workers in (1, 2):
            r = one_sweep(base, args.trials, workers)
            results[workers].append(r)
            done = {s: r["states"].count(s) for s in sorted(set(r["states"]))}
            print(f"  pair {i + 1}, {workers} worker(s): {r['wall']:.1f} s; trials {done}; engine {r['engine']:.2f} s "
                  f"of {r['trial_seconds']:.1f} trial-seconds", flush=True)
    one = statistics.median(r["wall"] for r in results[1])
    two = statistics.median(r["wall"] for r in results[2])
    share = statistics.median(r["engine"] / r["trial_seconds"] for rs in results.values() for r in rs)
    print(f"speed-up, 2 workers against 1: {one / two:.2f}x ({one:.1f} s -> {two:.1f} s)")
    print(f"engine cost (Optuna: ask, suggest, report, prune, tell, trial lists) per trial-second: {share:.2%} "
          f"(target < 2%: {'met' if share < 0.02 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
