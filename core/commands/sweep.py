"""python -m core sweep: an Optuna study whose trials train through a pool of workers (core/sweep.py)."""
from __future__ import annotations

import argparse
import json
import os
import threading

from ..spec import SpecError
from .common import Signals, fail, load_spec, owned_workers, quiet_tensorflow, read_space, run_store_problem


def sweep_command(args: argparse.Namespace) -> int:
    """Search a space with Optuna: a line per finished trial, then the best trial and its test metrics.
    SIGTERM or SIGINT stops the trials that train (saved as stopped, failed in the study) and exits 128 + the signal."""
    from .. import pool as pools
    from .. import runs, sweep

    try:
        base = load_spec(args.config)
        space = read_space(args.space)
    except (OSError, SpecError) as exc:
        return fail(str(exc))
    root = runs.default_root()
    try:
        setup = sweep.plan(base, space, root, args.trials, args.workers, args.metric, args.study, args.storage)
        problem = run_store_problem()  # every trial is a run there: checked before the study starts one
        if problem:
            return fail(problem)
        study = setup.open().study
    except sweep.SweepError as exc:
        return fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a database that fails later, a journal that cannot be written
        problem = sweep.db_problem(exc, args.storage) if args.storage else None
        return fail(problem or sweep.scrub(f"the study's storage cannot be used ({exc.__class__.__name__}: "
                                            f"{(str(exc).strip().splitlines() or [''])[0][:200]})", args.storage))
    name, metric, where = setup.name, setup.metric, setup.where
    print(f"study {name} in {where}: {args.trials} trials in all, {args.workers} at once here; objective {metric} "
          f"(validation, original units); {len(sweep.counted(study))} done before", flush=True)
    printing = threading.Lock()

    def line(o: sweep.Outcome) -> None:
        value = f"{metric} {o.value:.4f}" if o.value is not None else o.state
        settings = ", ".join(f"{k}={json.dumps(v)}" for k, v in o.params.items())
        with printing:
            print(f"trial {o.number:>3}  {o.state:<9} {value:<20} {o.seconds:6.1f} s  run {o.run_id or '-'}  {settings}"
                  + (f"  ({o.note})" if o.note and o.state != "complete" else ""), flush=True)

    if os.environ.get("RNNLAB_WORKER") == "thread":
        quiet_tensorflow()  # trials train in this process
    with Signals() as signals, owned_workers():
        pool = pools.from_env(args.workers)
        try:
            job = setup.start(pool, args.workers, on_trial=line)
            while job.alive:
                if signals.received and not job.stopped:
                    print(f"stopping ({signals.name}): the trials that train now are stopped, saved and failed in "
                          "the study", flush=True)
                    job.stop()
                job.join(0.2)
        finally:
            pool.close()
    if signals.received:
        return fail(f"stopped by {signals.name}; the stopped trials' runs are saved in {root}", 128 + signals.received)
    counted = sweep.counted(study)
    top = sweep.best(study)
    if top is None:
        print(f"no trial completed ({len(counted)} of {args.trials} ended)")
        return 0 if len(counted) >= args.trials else 1
    settings = ", ".join(f"{k}={json.dumps(v)}" for k, v in top["params"].items())
    print(f"best: trial {top['number']}, {metric} {top['value']:.4f}, run {top['run_id']}, settings: {settings}")
    path = runs.find(top["run_id"], root) if top["run_id"] else None
    report = sweep.test_report(path) if path is not None else None
    if report is not None:
        test, naive = report["test"], report["baselines"].get("naive", {})
        if "rmse" in test:
            others = ", ".join(f"{k} {v.get('rmse', float('nan')):.4f}" for k, v in report["baselines"].items()
                               if k != "naive")
            print(f"test (used once, now): RMSE {test['rmse']:.4f}, MAE {test['mae']:.4f}; persistence RMSE "
                  f"{naive.get('rmse', float('nan')):.4f}" + (f"; {others}" if others else ""))
        else:
            print(f"test (used once, now): accuracy {test.get('accuracy', float('nan')):.1f}%")
        print(f"verdict: {report['verdict']}")
    return 0 if len(counted) >= args.trials else 1
