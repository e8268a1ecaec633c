"""Walk-forward backtests (rolling origin): the same spec refitted on K folds, each later than the last.

    python -m core backtest --config spec.json --folds K [--out DIR] [--workers N]

The spec's own split gives the blocks: its test period is cut into K consecutive test blocks (so
the backtest tests the same targets as the single split, with K refits), and each fold validates
on the spec's validation count of targets right before its test block. Fold k trains on every
target before its validation block (its origin); the first fold trains on what the single split
trains on, each later one on a test block more. Each fold is an ordinary run of the run store: the spec with `data.end` at the
fold's last test target and the split as counts, so its scalers are fitted on its own training rows
and nothing after its test block exists for it. The folds train through the worker pool, in
parallel up to its limit, tagged in `fold.json` with the backtest and the fold.

The result, per fold and overall: RMSE, MAE, MASE and direction of the model next to every
baseline on the same targets (persistence, seasonal naive, moving average, linear AR, ETS,
ARIMA), and a verdict: in how many folds the model beat persistence and the best statistical
baseline. `backtest.csv` has a row per fold; `backtest.json` the summary.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import baselines, livefiles, runs, sources, windows
from .errors import DataError
from .spec import ExperimentSpec

FOLD_FILE = "fold.json"  # in a fold's run directory: {"backtest", "fold", "folds", "origin", "end"}
METRICS = ("rmse", "mae", "mase", "direction")
STATISTICAL = baselines.STATISTICAL
MAX_FOLDS = 20
MIN_BLOCK = 5  # test targets per fold, at least


@dataclass
class Fold:
    """One fold: its spec and where its blocks lie (dates of targets, ISO)."""

    number: int
    spec: ExperimentSpec
    origin: str  # the first validation target: the fold trains on the targets before it
    test_start: str
    end: str  # the last test target: the fold's data ends here
    train_targets: int
    val_targets: int
    test_targets: int
    run_id: str | None = None
    seed: int | None = None  # set by with_seeds: the fold repeated with this train.seed


def plan(spec: ExperimentSpec, frame: pd.DataFrame, folds: int = 4) -> list[Fold]:
    """The folds of a K-fold walk-forward backtest of `spec` on `frame`. Raises DataError when the
    data is too short for K test blocks and a training part, or when rows have times of day."""
    if not 2 <= folds <= MAX_FOLDS:
        raise DataError(f"a backtest needs 2 to {MAX_FOLDS} folds, not {folds}")
    if spec.model.task == "classification":
        raise DataError("a backtest scores forecasts of values against their baselines; this setup classifies")
    source = sources.source(spec.data.source)
    if source.backtest:
        raise DataError(source.backtest)
    if source.downloads:
        spec = local_copy(spec, frame)  # one download, the folds cut from it locally
    whole = windows.make(frame, spec)
    dates = pd.DatetimeIndex(np.concatenate([whole.dates[s].values for s in ("train", "val", "test")]))
    if (dates.hour != 0).any() or (dates.minute != 0).any():
        raise DataError("a backtest cuts the data at dates, so it needs daily (or coarser) rows; these have times of day")
    n_val, n_test, total = len(whole.dates["val"]), len(whole.dates["test"]), len(dates)
    block = n_test // folds  # the spec's test period, cut into K blocks: the backtest tests the same targets
    if block < MIN_BLOCK:
        most = n_test // MIN_BLOCK
        raise DataError(f"the test split has {n_test} targets, too few for {folds} folds of at least {MIN_BLOCK} test "
                        f"targets each; use {most} folds or fewer, or a larger test split" if most >= 2 else
                        f"the test split has {n_test} targets, too few for a backtest (2 folds need {2 * MIN_BLOCK}): "
                        "use a larger test split")
    out = []
    for k in range(1, folds + 1):
        last = total - 1 - (folds - k) * block
        end = dates[last]
        fold_spec = spec.replace(data={"end": end.strftime("%Y-%m-%d")}, split={"val": n_val, "test": block})
        out.append(Fold(k, fold_spec, dates[last - block - n_val + 1].strftime("%Y-%m-%d"),
                        dates[last - block + 1].strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"),
                        last - block - n_val + 1, n_val, block))
    return out


def with_seeds(folds: list[Fold], n: int) -> list[Fold]:
    """Every fold repeated with the seeds seed..seed+n-1 (`--seeds N`), seed by seed; n = 1 keeps them."""
    from dataclasses import replace

    from . import seeds

    if n == 1:
        return folds
    out = []
    for i in range(n):
        for fold in folds:
            spec = seeds.specs(fold.spec, n)[i]
            out.append(replace(fold, spec=spec, seed=spec.train.seed))
    return out


def local_copy(spec: ExperimentSpec, frame: pd.DataFrame) -> ExperimentSpec:
    """`spec` reading `frame` (a ticker's bars, downloaded once) from a CSV copy instead of Yahoo, so the
    folds cut it at their own end dates without downloading again. The copy goes to the upload folder
    (the app reads CSV files only from there), named by the ticker and a hash of its content."""
    import hashlib
    import re

    from . import data

    text = frame.to_csv(index_label="date")
    name = re.sub(r"[^A-Za-z0-9.-]", "_", spec.data.ticker or "ticker")
    path = data.uploads_dir() / "ticker-copies" / f"{name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        livefiles.write_atomic(path, text)
    return spec.replace(data={"source": "csv", "path": str(path.resolve()), "date_column": "date"})


def run(folds: list[Fold], pool, root: str | Path, backtest_id: str, workspace: str | None = None,
        csv_root: str | None = None, on_fold=None, poll: float = 0.25, stop=None) -> list[Fold]:
    """Train every fold through `pool` (in parallel up to its limit) and wait for them; each fold's
    run id is set. `on_fold(fold, status)` is called as each ends. `stop` (anything with is_set(),
    e.g. a threading.Event; the command line's signals, a page's Stop) once set stops every fold not
    ended yet, as the app's Stop does (queued ones at once, training ones after their batch), and
    this returns when they have all ended."""
    root = Path(root)
    for fold in folds:
        tag = {"backtest": backtest_id, "fold": fold.number, "folds": len({f.number for f in folds}),
               "origin": fold.origin, "test_start": fold.test_start, "end": fold.end}
        fold.run_id, _ = runs.submit(pool, fold.spec, root, workspace=workspace, csv_root=csv_root, tag=(
            FOLD_FILE, tag | ({"seed": fold.seed} if fold.seed is not None else {})))
    waiting = dict(enumerate(folds))  # a fold number repeats across seeds
    stopping = False
    while waiting:
        if stop is not None and stop.is_set() and not stopping:
            stopping = True
            for fold in list(waiting.values()):
                pool.stop(fold.run_id, root / fold.run_id)
        for number, fold in list(waiting.items()):
            if runs.has_ended(root / fold.run_id):
                del waiting[number]
                if on_fold is not None:
                    on_fold(fold, runs.read_run(root / fold.run_id)[1].status)
        time.sleep(poll)
    return folds


def results(folds: list[Fold], root: str | Path, seconds: float | None = None) -> tuple[pd.DataFrame, dict]:
    """(backtest.csv's frame: a row per fold, the summary for backtest.json) from the folds' runs;
    `seconds` is the backtest's wall time, from the first fold's submission to the last fold's end."""
    root = Path(root)
    rows = []
    for fold in folds:
        _, snap, _ = runs.read_run(root / fold.run_id)
        metrics = snap.metrics or {}
        row = {"fold": fold.number, "origin": fold.origin, "test_start": fold.test_start, "end": fold.end,
               "train_targets": fold.train_targets, "val_targets": fold.val_targets,
               "test_targets": fold.test_targets, "run": fold.run_id, "status": snap.status}
        if fold.seed is not None:
            row["seed"] = fold.seed
        for key in METRICS:
            row[key] = (metrics.get("test") or {}).get(key, math.nan)
        row["owa"] = metrics.get("owa") if isinstance(metrics.get("owa"), float) else math.nan
        for method, levels in (metrics.get("interval_methods") or {}).items():  # coverage of each interval method
            row[f"{method}_80_coverage"] = ((levels or {}).get("80") or {}).get("coverage", math.nan)
        for name, values in (metrics.get("baselines") or {}).items():
            for key in METRICS:
                row[f"{name}_{key}"] = values.get(key, math.nan)
        rows.append(row)
    table = pd.DataFrame(rows)
    return table, summary(table, seconds)


def _overall(table: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Pooled over the folds: RMSE from the squared errors, the rest weighted by test targets."""
    weights = table["test_targets"].to_numpy(float)
    out = {}
    for key in METRICS:
        column = f"{prefix}{key}"
        if column not in table:
            continue
        values = table[column].to_numpy(float)
        ok = np.isfinite(values)
        if not ok.any():
            out[key] = math.nan
        elif key == "rmse":
            out[key] = float(math.sqrt(np.sum(weights[ok] * values[ok] ** 2) / np.sum(weights[ok])))
        else:
            out[key] = float(np.sum(weights[ok] * values[ok]) / np.sum(weights[ok]))
    return out


def summary(table: pd.DataFrame, seconds: float | None = None) -> dict:
    """backtest.json: folds, overall metrics of the model and every baseline, wins, the verdict, and
    "seconds", the wall time (null when it was not measured)."""
    names = sorted({c[: -len("_rmse")] for c in table.columns if c.endswith("_rmse")})
    beats_naive = int(np.sum(table["rmse"] < table.get(f"{baselines.PERSISTENCE}_rmse", np.inf)))
    stat_cols = [f"{n}_rmse" for n in STATISTICAL if f"{n}_rmse" in table]
    if stat_cols:
        best_stat = table[stat_cols].min(axis=1)
        beats_stat = int(np.sum(table["rmse"] < best_stat))
        best_name = min(stat_cols, key=lambda c: _overall(table, c[:-4])["rmse"])[:-5]
    else:
        beats_stat, best_name = None, None
    k = len(table)
    verdict = f"the model beat persistence in {beats_naive} of {k} folds"
    if beats_stat is not None:
        which = " or ".join(baselines.NAMES[n] for n in STATISTICAL)
        verdict += f" and the best statistical baseline of each fold ({which}) in {beats_stat} of {k}"
    failed = [int(f) for f, s in zip(table["fold"], table["status"]) if s != "finished"]
    by_seed = _by_seed(table) if "seed" in table else None
    if by_seed:
        k = len(set(table["fold"]))
        verdict = (f"over {len(by_seed)} seeds the model beat persistence (pooled over the {k} folds) in "
                   f"{sum(s['beats_persistence'] for s in by_seed.values())} of {len(by_seed)} seeds; summed over "
                   f"seeds, " + verdict)
    return ({"seeds": by_seed} if by_seed else {}) | {
        "folds": k, "failed_folds": failed,
        "model": _overall(table, ""),
        "baselines": {name: _overall(table, f"{name}_") for name in names},
        "wins": {baselines.PERSISTENCE: beats_naive, "best_statistical": beats_stat},
        "best_statistical_overall": best_name,
        "verdict": verdict[:1].upper() + verdict[1:] + ".",
        "fold_table": [asdict_row(r) for r in table.to_dict("records")],
        "seconds": None if seconds is None else round(float(seconds), 2),
    }


def _by_seed(table: pd.DataFrame) -> dict:
    """seed -> {"model", "persistence" (pooled RMSE), "beats_persistence", "folds_won"} for --seeds."""
    out = {}
    for seed, part in table.groupby("seed", sort=True):
        model, naive = _overall(part, ""), _overall(part, f"{baselines.PERSISTENCE}_")
        out[str(int(seed))] = {"model": model.get("rmse"), "persistence": naive.get("rmse"),
                               "beats_persistence": bool(model.get("rmse", math.inf) < naive.get("rmse", -math.inf)),
                               "folds_won": int(np.sum(part["rmse"] < part.get(f"{baselines.PERSISTENCE}_rmse", np.inf)))}
    return out


def asdict_row(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def write(out_dir: str | Path, table: pd.DataFrame, summary_: dict) -> tuple[Path, Path]:
    """backtest.csv and backtest.json into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "backtest.csv", out_dir / "backtest.json"
    livefiles.write_with(csv_path, lambda p: table.to_csv(p, index=False))
    livefiles.write_atomic(json_path, to_json(summary_))
    return csv_path, json_path


def to_json(summary_: dict) -> str:
    """backtest.json's text: strict JSON (NaN as null), as the command line writes it and the page offers it."""
    return json.dumps(_strict(summary_), indent=2, default=str) + "\n"


def _strict(value):
    """NaN and infinities as null: backtest.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def folds_of(plan_: list[Fold]) -> list[dict]:
    """The plan as dicts (for printing and the page)."""
    return [{k: v for k, v in asdict(f).items() if k != "spec"} for f in plan_]
