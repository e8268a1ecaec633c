"""Repeat one spec with several seeds, and say how much of its score is the seed.

    python -m core train --config spec.json --seeds N --out DIR

A single run's verdict may be luck: the initial weights and the batch order come from the seed.
This trains the spec with the seeds seed, seed + 1, ..., seed + N - 1 through the worker pool (in
parallel up to its limit), each an ordinary run directory in DIR tagged with `seed.json`, and
writes DIR/seeds.json: per test metric the mean, standard deviation, minimum and maximum over the
seeds that finished, and in how many seeds the model beat persistence (on RMSE).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from . import baselines, livefiles, runs
from .errors import DataError
from .spec import ExperimentSpec

SEED_FILE = "seed.json"  # in each run directory: {"group", "seed", "index", "of"}
SEEDS_FILE = "seeds.json"
DEFAULT_SEEDS = 3  # the Train page's "Repeat with 3 seeds"
METRICS = ("rmse", "mae", "smape", "mase", "direction")


def max_seeds() -> int:
    """The most seeds one repeat may train ($RNNLAB_MAX_SEEDS, default 20): each is a full run."""
    try:
        return max(1, int(os.environ.get("RNNLAB_MAX_SEEDS") or 20))
    except ValueError:
        return 20


def specs(spec: ExperimentSpec, n: int, fixed: bool = False) -> list[ExperimentSpec]:
    """The N specs of a repeat: train.seed = seed + i (all `seed` when `fixed`, to check the spread is
    zero). Raises DataError for N outside 1..max_seeds(), or a classifier (scored by accuracy)."""
    cap = max_seeds()
    if not 1 <= n <= cap:
        raise DataError(f"--seeds takes 1 to {cap} seeds, not {n} (each is a full run; $RNNLAB_MAX_SEEDS sets the most)")
    if spec.model.task == "classification":
        raise DataError("a seed repeat compares forecasts with persistence; this setup classifies")
    first = spec.train.seed
    return [spec.replace(train={"seed": first if fixed else (first + i) % 2 ** 32}) for i in range(n)]


def submit(seed_specs: list[ExperimentSpec], pool, root: str | Path, group: str, workspace: str | None = None,
           csv_root: str | None = None) -> list[str]:
    """Queue each spec in `pool` as a run in `root` tagged with SEED_FILE; returns the run ids in seed order."""
    ids: list[str] = []
    for i, spec in enumerate(seed_specs):
        run_id, _ = runs.submit(pool, spec, root, workspace=workspace, csv_root=csv_root, tag=(
            SEED_FILE, {"group": group, "seed": spec.train.seed, "index": i, "of": len(seed_specs)}))
        ids.append(run_id)
    return ids


def wait(run_ids: list[str], pool, root: str | Path, stop=None, on_run=None, poll: float = 0.25) -> None:
    """Until every run has ended; `stop` (anything with is_set()) once set stops those not ended yet,
    as the app's Stop does. `on_run(run_id, status)` is called as each ends."""
    root, waiting, stopping = Path(root), list(run_ids), False
    while waiting:
        if stop is not None and stop.is_set() and not stopping:
            stopping = True
            for run_id in waiting:
                pool.stop(run_id, root / run_id)
        for run_id in list(waiting):
            if runs.has_ended(root / run_id):
                waiting.remove(run_id)
                if on_run is not None:
                    on_run(run_id, runs.read_run(root / run_id)[1].status)
        if waiting:
            time.sleep(poll)


def summary(run_dirs: list[Path]) -> dict:
    """seeds.json: {"seeds": [{"seed", "run", "status", "rmse", ...}], "finished", "metrics": {metric:
    {"mean", "std", "min", "max"}}, "persistence": {metric: mean}, "beats_persistence", "verdict"}.
    std is the sample standard deviation (ddof 1; 0 for one seed)."""
    rows = []
    for path in run_dirs:
        _, snap, _ = runs.read_run(path)
        metrics = snap.metrics or {}
        seed = _tag(path).get("seed")
        naive = (metrics.get("baselines") or {}).get(baselines.PERSISTENCE) or {}
        row = {"seed": seed, "run": path.name, "status": snap.status}
        row.update({k: (metrics.get("test") or {}).get(k) for k in METRICS})
        row.update({f"persistence_{k}": naive.get(k) for k in METRICS})
        rows.append(row)
    done = [r for r in rows if r["status"] == "finished" and _finite(r["rmse"])]
    table = {}
    for key in METRICS:
        values = np.array([r[key] for r in done if _finite(r[key])], float)
        table[key] = ({"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                       "min": float(values.min()), "max": float(values.max())} if len(values) else
                      {"mean": None, "std": None, "min": None, "max": None})
    beats = sum(1 for r in done if _finite(r["persistence_rmse"]) and r["rmse"] < r["persistence_rmse"])
    return {"seeds": rows, "finished": len(done), "metrics": table,
            "persistence": {k: _mean([r[f"persistence_{k}"] for r in done]) for k in METRICS},
            "beats_persistence": beats, "verdict": verdict(beats, len(done), len(rows))}


def verdict(beats: int, finished: int, total: int) -> str:
    """"The model beats persistence in 2 of 3 seeds: only some, so one run's verdict is partly luck.\""""
    if not finished:
        return f"No seed finished (of {total}): nothing to compare."
    if beats == finished:
        text = f"The model beats persistence in every seed ({finished} of {finished})"
    elif beats == 0:
        text = f"The model beats persistence in none of the {finished} seeds"
    else:
        text = (f"The model beats persistence in {beats} of {finished} seeds: only in some, so a single run's "
                "verdict is partly the seed's")
    return text + (f" ({total - finished} did not finish)." if finished < total else ".")


def write(out_dir: str | Path, summary_: dict) -> Path:
    """seeds.json into out_dir (strict JSON: NaN as null)."""
    path = Path(out_dir) / SEEDS_FILE
    livefiles.write_atomic(path, json.dumps(_strict(summary_), indent=2) + "\n")
    return path


def _strict(value):
    """NaN and infinities as null: seeds.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def repeat(spec: ExperimentSpec, n: int, out: str | Path, workers: int | None = None, fixed: bool = False,
           on_run=None, stop=None) -> dict:
    """Train `spec` with N seeds through a pool made from the environment (at most `workers` at once)
    into `out`, wait, write seeds.json there and return its content (the command line's --seeds)."""
    from . import pool as pools

    seed_specs = specs(spec, n, fixed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pool = pools.from_env(workers)
    try:
        ids = submit(seed_specs, pool, out, "seeds-" + runs.new_run_id())
        wait(ids, pool, out, stop=stop, on_run=on_run)
    finally:
        pool.close()
    result = summary([out / run_id for run_id in ids])
    write(out, result)
    return result


def _tag(path: Path) -> dict:
    try:
        found = json.loads((path / SEED_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _mean(values) -> float | None:
    ok = [v for v in values if _finite(v)]
    return float(np.mean(ok)) if ok else None


def command(spec: ExperimentSpec, n: int, out: Path, fail) -> int:
    """`python -m core train --seeds N`: print a line per seed and the table; `fail(message, code)` prints
    an error line and returns the exit status (core/__main__._fail)."""
    try:
        specs(spec, n)
    except DataError as exc:
        return fail(str(exc))
    print(f"{n} seeds from {spec.train.seed} into {out}", flush=True)
    result = repeat(spec, n, out, on_run=lambda run_id, status: print(f"run {run_id} {status}", flush=True))
    for key, s in result["metrics"].items():
        if s["mean"] is not None:
            print(f"{key:<10} mean {s['mean']:.4f}  std {s['std']:.4f}  min {s['min']:.4f}  max {s['max']:.4f}")
    print(result["verdict"])
    print(f"wrote {Path(out) / SEEDS_FILE}")
    return 0 if result["finished"] == n else fail(f"{n - result['finished']} of {n} seeds did not finish", 1)
