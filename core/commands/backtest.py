"""python -m core backtest: a walk-forward backtest whose folds train through a pool (core/backtest.py)."""
from __future__ import annotations

import argparse
import math
import os

from ..spec import SpecError
from .common import Signals, fail, load_spec, owned_workers, quiet_tensorflow, run_store_problem, unwritable


def _print_results(table, summary, statistical: tuple) -> None:
    """A line per fold against the baselines, the overall line and the verdict."""
    def num(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) and math.isfinite(v) else "-"

    for row in table.to_dict("records"):
        stats = "  ".join(f"{n} {num(row.get(f'{n}_rmse'))}" for n in statistical if f"{n}_rmse" in row)
        print(f"fold {row['fold']}  rmse {num(row['rmse'])}  mae {num(row['mae'])}  mase {num(row['mase'])}  "
              f"persistence {num(row.get('naive_rmse'))}  {stats}")
    model = summary["model"]
    print(f"overall  rmse {num(model.get('rmse'))}  mae {num(model.get('mae'))}  mase {num(model.get('mase'))}  "
          f"persistence {num(summary['baselines'].get('naive', {}).get('rmse'))}")
    print(f"verdict: {summary['verdict']}")


def _problem(out, workers: int) -> str | None:
    """Why the backtest cannot run: --workers out of range, or an output path that cannot be written."""
    if not 1 <= workers <= 64:
        return "--workers must be a whole number from 1 to 64"
    return unwritable(out, "--out") or run_store_problem() or next(
        (f"--out {out / name} is a folder; backtest.{name.split('.')[1]} cannot be written there"
         for name in ("backtest.csv", "backtest.json") if (out / name).is_dir()), None)


def _run(job, signals) -> None:
    """Wait for the folds in the main thread, so a signal is seen within 0.2 s and stops them."""
    job.start()
    while job.alive:
        if signals.received and not job.stopped:
            print(f"stopping ({signals.name}): the folds are stopped and saved", flush=True)
            job.stop()
        job.join(0.2)


def backtest_command(args: argparse.Namespace) -> int:
    """Plan the folds, train them through a pool, print a line per fold and the verdict, write the files.
    Every output path is checked before any fold trains. SIGTERM or SIGINT stops the folds (saved as
    stopped), writes nothing to --out and exits 128 + the signal."""
    from .. import backtest, container, data
    from .. import pool as pools
    from .. import runs
    from ..backtest_job import BacktestJob

    try:
        spec = load_spec(args.config)
        frame = data.load(spec.data)
        folds = backtest.with_seeds(backtest.plan(spec, frame, args.folds), args.seeds)
    except (OSError, SpecError, data.DataError) as exc:
        return fail(str(exc))
    workers = args.workers if args.workers is not None else container.plan().max_workers  # not the host's cores
    root = runs.default_root()
    backtest_id = "bt-" + runs.new_run_id()
    out = args.out or root / "backtests" / backtest_id
    problem = _problem(out, workers)
    if problem:
        return fail(problem)
    print(f"backtest {backtest_id}: {len(folds)} folds of {folds[0].test_targets} test and {folds[0].val_targets} "
          f"validation targets, {min(workers, len(folds))} at once", flush=True)
    for f in folds:
        print(f"fold {f.number}: trains on {f.train_targets} targets before {f.origin}, tests {f.test_start} to {f.end}",
              flush=True)
    if os.environ.get("RNNLAB_WORKER") == "thread":
        quiet_tensorflow()  # folds train in this process
    with Signals() as signals, owned_workers():
        pool = pools.from_env(workers)
        try:
            job = BacktestJob(folds, pool, root, spec, backtest_id=backtest_id, on_fold=lambda f, status: print(
                f"fold {f.number} {status} (run {f.run_id})", flush=True))
            _run(job, signals)
        finally:
            pool.close()
    if signals.received:
        return fail(f"stopped by {signals.name}; nothing was written to {out} (the folds' runs are saved as stopped "
                    f"in {root})", 128 + signals.received)
    if job.error:
        return fail(f"the folds could not be started ({job.error})", 1)
    table, summary = backtest.results(folds, root, job.seconds)
    try:
        csv_path, json_path = backtest.write(out, table, summary)
    except OSError as exc:
        return fail(f"cannot write the results to {out}: {exc.strerror} (the folds' runs are in {root})", 1)
    _print_results(table, summary, backtest.STATISTICAL)
    print(f"wrote {csv_path} and {json_path}")
    return 1 if summary["failed_folds"] else 0
