"""A 4-fold walk-forward backtest of the default spec against 4 sequential command-line runs.

    .venv/bin/python bench/backtest.py [--folds 4] [--epochs N] [--repeats 1]

A: `python -m core backtest --folds K` (the folds through the pool: 2 at once on 2 cores).
B: the same K fold specs, one `python -m core train --config fold.json` after another, as a
   person would do it by hand (each process imports TensorFlow, as the backtest's workers do).
Also the statistical baselines' fitting time per fold (ETS and ARIMA by AIC on the fold's training
rows, no cache), which every run pays once per data and split. Prints ratios; no pass/fail.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core import backtest, data, evaluate, statistical, windows  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402


def cli(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, help="override the default spec's epochs (default: its own)")
    parser.add_argument("--repeats", type=int, default=1, help="A/B pairs, medians reported")
    args = parser.parse_args()
    spec = ExperimentSpec()
    if args.epochs:
        spec = spec.replace(train={"epochs": args.epochs})
    tmp = Path(tempfile.mkdtemp(prefix="rnnlab-backtest-bench-"))
    (tmp / "spec.json").write_text(spec.to_json())
    frame = data.load(spec.data)
    folds = backtest.plan(spec, frame, args.folds)
    for fold in folds:
        (tmp / f"fold{fold.number}.json").write_text(fold.spec.to_json())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNLAB_RUNS_DIR": str(tmp / "runs"),
           "RNNLAB_STATS_CACHE": str(tmp / "stats")}
    print(f"bench/backtest.py: {args.folds} folds of the default spec ({spec.train.epochs} epochs, {len(frame)} rows), "
          f"{os.cpu_count()} CPUs, {args.repeats} pair(s)", flush=True)
    a, b = [], []
    for i in range(args.repeats):
        a.append(cli(["backtest", "--config", str(tmp / "spec.json"), "--folds", str(args.folds),
                      "--out", str(tmp / f"bt{i}")], env))
        print(f"  pair {i + 1}: backtest (pool) {a[-1]:.1f} s", flush=True)
        b.append(sum(cli(["train", "--config", str(tmp / f"fold{f.number}.json")], env) for f in folds))
        print(f"  pair {i + 1}: {args.folds} sequential train runs {b[-1]:.1f} s", flush=True)
    fits = []
    for fold in folds:
        w = windows.make(data.load(fold.spec.data), fold.spec)
        length = w.input_shape[0]
        targets = {s: w.starts[s] + length - 1 + w.horizon for s in ("val", "test")}
        m, _ = evaluate.detect_season(w.levels[: w.train_rows], w.index[: w.train_rows])
        os.environ["RNNLAB_STATS_CACHE"] = str(tmp / f"nocache{fold.number}")
        _, info = statistical.forecasts(w.levels, w.train_rows, targets, w.horizon, m)
        fits.append(info["fit_seconds"])
    ta, tb = statistics.median(a), statistics.median(b)
    print(f"speed-up of the backtest over {args.folds} sequential runs: {tb / ta:.2f}x ({tb:.1f} s -> {ta:.1f} s)")
    print(f"statistical baselines' fitting (ETS + ARIMA by AIC, no cache) per fold: median {statistics.median(fits):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in fits)}); a run's end waits for it once per data and split "
          "(target <= 1 s on the default spec)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
