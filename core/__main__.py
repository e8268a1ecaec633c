"""The command line: the same pipeline as the app, headless.

    python -m core train --config spec.json [--out DIR] [--epochs N]
    python -m core runs list
    python -m core runs export RUN --out FILE.zip
    python -m core presets
    python -m core train --preset NAME [--out DIR] [--epochs N]
    python -m core worker         (started by the app's pool: one request on stdin, see core/worker.py)
    python -m core import-model   (started by the app for an uploaded model: one request on stdin, see
                                   core/model_import.py)
    python -m core sweep --config base.json --space space.json --trials N [--workers K]
                         [--storage URL] [--study NAME] [--metric val_rmse|val_mae|val_accuracy]
    python -m core backtest --config spec.json --folds K [--out DIR] [--workers N]

`train` prints one line per epoch and writes the run directory (see core/runs.py); without --out
it goes into the run store ($RNNLAB_RUNS_DIR, default ./runs) under a new run id. What the CSV
reader fixed or guessed follows the `data:` line as `note: ...` lines. A bad spec or bad data exits
with code 2 and a one-line message; a run that fails while training, or whose run directory cannot
be written, exits with 1. Progress and results go to stdout, every error as one `error: ...` line
to stderr. `runs list` prints the store's runs (all workspaces), `runs export` writes a run's
bundle (.zip), as the app's Runs page does. `sweep` searches the spec fields of a space file with
Optuna (core/sweep.py): a line per finished trial, then the best trial, its run and settings, and its
test metrics next to the baselines; exit 0 when the study has its N trials, 2 for a bad space or spec.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import tickers  # noqa: F401  (first: curl_cffi must load before TensorFlow, see core/tickers.py)
from .spec import ExperimentSpec, SpecError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="RNN Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a spec and write a run directory")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="spec JSON file (missing keys take defaults; omit for all defaults)")
    source.add_argument("--preset", help="a preset's name instead of a spec file (see `python -m core presets`)")
    train.add_argument("--out", type=Path, help="run directory to write (default: a new run in the run store)")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--csv", type=Path, help="with --preset: run it on this CSV (columns matched by name, any case)")
    sub.add_parser("presets", help="list the presets (the classic tutorials as specs)")
    sub.add_parser("worker", help="a training worker: waits for one request (a JSON line) on stdin, trains it "
                                  "into its run directory, exits (the app's pool starts these)")
    sub.add_parser("import-model", help="load an untrusted model within a memory and time limit: one request (a "
                                        "JSON line) on stdin, see core/model_import.py (the app starts these)")
    sweep = sub.add_parser("sweep", help="search spec fields with Optuna; every trial is a run in the run store")
    sweep.add_argument("--config", type=Path, help="the base spec JSON file (omit for all defaults)")
    sweep.add_argument("--space", type=Path, required=True,
                       help='JSON: dotted spec fields to ranges, e.g. {"model.cell": {"choices": ["LSTM", "GRU"]}, '
                            '"train.learning_rate": {"float": [1e-4, 1e-2], "log": true}}')
    sweep.add_argument("--trials", type=int, required=True, help="N: trials in the study, across every machine")
    sweep.add_argument("--workers", type=int, default=1, help="trials this machine trains at once (default 1)")
    sweep.add_argument("--storage", help="a database URL shared by several machines (postgresql://user@host/db); "
                                         "default: a journal file in the run store")
    sweep.add_argument("--study", help="the study's name (default: one derived from the spec and the space, so the "
                                       "same command on another machine joins the same study)")
    sweep.add_argument("--metric", help="val_rmse (default), val_mae, or val_accuracy (classification's default)")
    back = sub.add_parser("backtest", help="walk-forward backtest: the spec refitted on K folds, each later than the last")
    back.add_argument("--config", type=Path, help="spec JSON file (omit for all defaults)")
    back.add_argument("--folds", type=int, default=4, help="K folds (default 4)")
    back.add_argument("--out", type=Path, help="where backtest.csv and backtest.json go (default: "
                                              "backtests/<id> in the run store)")
    back.add_argument("--workers", type=int, help="folds trained at once (default: $RNNLAB_MAX_WORKERS or what the container fits)")
    store = sub.add_parser("runs", help="the run store ($RNNLAB_RUNS_DIR, default ./runs)")
    actions = store.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list the runs, newest first")
    export = actions.add_parser("export", help="write a run's bundle (.zip)")
    export.add_argument("run", help="the run id (see `runs list`)")
    export.add_argument("--out", type=Path, required=True, help="the .zip file to write")
    return parser


def _fail(message: str, code: int = 2) -> int:
    """Print one `error: ...` line on stderr (stdout keeps the progress and results) and return `code`."""
    sys.stdout.flush()  # progress first, then the error, when both go to one terminal
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def load_spec(path: Path | None, epochs: int | None = None) -> ExperimentSpec:
    """The spec in `path` (defaults without one), with --epochs applied. UTF-8 with or without a
    byte-order mark (Notepad and PowerShell write one), as the app accepts."""
    if path is None:
        spec = ExperimentSpec()
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise SpecError("--config", f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SpecError("--config", f"{path} is not UTF-8 text; save the spec as UTF-8 JSON") from None
        spec = ExperimentSpec.from_json(text)
    return spec.replace(train={"epochs": epochs}) if epochs is not None else spec


def train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import data, worker
    from .data import DataError

    if args.out is None:
        from .runs import default_root, new_run_id

        args.out = default_root() / new_run_id()
    if args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out} is a file; give a directory for the run")
    try:
        if getattr(args, "preset", None):
            from . import presets

            spec = presets.get(args.preset).experiment()
            spec = spec.replace(train={"epochs": args.epochs}) if args.epochs is not None else spec
            if args.csv is not None:
                columns = list(data.load_csv(args.csv).columns)
                spec, note = presets.on_csv(spec, str(args.csv), columns)
                print(note, flush=True)
        elif args.csv is not None:
            return _fail("--csv goes with --preset; for a spec file, set data.source \"csv\" and data.path in it")
        else:
            spec = load_spec(args.config, args.epochs)
        frame, windowed = worker.prepare(spec)  # the worker's pipeline: one, not two
    except (SpecError, DataError) as exc:
        return _fail(str(exc))
    print(f"data: {len(frame)} rows; {windowed.shape_text()}", flush=True)
    for note in frame.attrs.get("notes") or []:  # what the CSV reader fixed or guessed, an older ticker copy
        print(f"note: {note}", flush=True)

    from .training import FAILED

    def print_epoch(snap) -> None:
        h = snap.history
        accuracy = (f"  accuracy {100 * h['accuracy'][-1]:.1f}%  val_accuracy {100 * h['val_accuracy'][-1]:.1f}%"
                    if h.get("accuracy") else "")
        print(f"epoch {snap.epoch}/{snap.epochs}  loss {h['loss'][-1]:.6f}  val_loss {h['val_loss'][-1]:.6f}"
              f"{accuracy}  {snap.elapsed:.1f}s", flush=True)

    name = args.out.resolve().name
    from .runs import valid_id

    run_id = name if valid_id(name) else None  # the directory names the run
    job, final = worker.train(spec, windowed, args.out, run_id, on_epoch=print_epoch)
    if final.metrics and windowed.classes:
        test, naive = final.metrics["test"], final.metrics["baselines"]["naive"]
        print(f"test   accuracy {test['accuracy']:.2f}%  log loss {test['log_loss']:.4f}")
        print(f"naive  accuracy {naive['accuracy']:.2f}%  ({windowed.naive_name})")
    elif final.metrics:
        test, naive = final.metrics["test"], final.metrics["baselines"]["naive"]
        print(f"test   rmse {test['rmse']:.4f}  mae {test['mae']:.4f}  mape {test['mape']:.3f}%  mse {test['mse']:.6g}")
        print(f"naive  rmse {naive['rmse']:.4f}  mae {naive['mae']:.4f}  mape {naive['mape']:.3f}%  mse {naive['mse']:.6g}"
              f"  ({windowed.naive_name})")
        from . import evaluate

        for key in ("ets", "arima"):
            if key in final.metrics["baselines"]:
                other = final.metrics["baselines"][key]
                print(f"{key:<6} rmse {other['rmse']:.4f}  mae {other['mae']:.4f}  "
                      f"({final.metrics.get('statistical', {}).get(key, evaluate.BASELINE_NAMES[key])}, fitted on the "
                      "training rows)")
        print("verdict: " + evaluate.full_verdict("the model", test, final.metrics["baselines"], windowed.naive_name))
    if final.forecast is not None:
        last = final.forecast.iloc[-1]
        print(f"forecast {len(final.forecast)} steps past the data, to {last['date']:%Y-%m-%d}: {last['forecast']:.4f}")
    elif final.forecast_note:
        print(f"no forecast: {final.forecast_note}")
    if not job.saved:
        return _fail(final.message, 1)
    if final.status == FAILED:
        return _fail(f"{final.message} (the run is saved in {args.out})", 1)
    print(f"{final.message}; wrote {args.out}", flush=True)
    return 0


def runs_command(args: argparse.Namespace) -> int:
    from . import runs

    root = runs.default_root()
    if args.action == "list":
        rows = runs.list_runs(root, everyone=True)
        if not rows:
            print(f"no runs in {root}")
            return 0
        print(f"{'run':<24}{'status':<12}{'cell':<10}{'units':<8}{'data':<16}{'epochs':>8}{'test RMSE':>12}"
              f"{'persistence':>13}")
        for r in rows:
            epochs = f"{r['epoch'] if r['epoch'] is not None else '?'}/{r['epochs']}"
            rmse = f"{r['rmse']:.4f}" if r["rmse"] is not None else "-"
            naive = f"{r['naive_rmse']:.4f}" if r["naive_rmse"] is not None else "-"
            print(f"{r['run_id']:<24}{r['status']:<12}{str(r['cell']):<10}{str(r['units']):<8}"
                  f"{str(r['data'])[:15]:<16}{epochs:>8}{rmse:>12}{naive:>13}")
        return 0
    path = runs.find(args.run, root)
    if path is None and runs.valid_id(args.run) and (root / args.run / "started.json").is_file():
        live = runs.livefiles.is_live(root / args.run)
        return _fail(f"run {args.run!r} " + ("is still training; export it when it has ended" if live else
                     "was interrupted before it ended, so it has no results to export; its settings are in "
                     f"{root / args.run / 'spec.json'} (train them again with --config)"))
    if path is None:
        return _fail(f"no run {args.run!r} in {root}; `python -m core runs list` shows the runs")
    try:
        args.out.write_bytes(runs.bundle(path))
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror}", 1)
    print(f"wrote {args.out}")
    return 0


def presets_command(args: argparse.Namespace) -> int:
    from .presets import PRESETS

    width = max(len(name) for name in PRESETS)
    for preset in PRESETS.values():
        print(f"{preset.name:<{width}}  {preset.title}")
    return 0


def worker_command(args: argparse.Namespace) -> int:
    from . import worker as workers

    return workers.serve()


def import_model_command(args: argparse.Namespace) -> int:
    from . import model_import

    return model_import.serve()


def sweep_command(args: argparse.Namespace) -> int:
    """Search a space with Optuna: a line per finished trial, then the best trial and its test metrics."""
    import hashlib
    import json
    import threading

    from . import pool as pools
    from . import runs, sweep

    try:
        base = load_spec(args.config)
    except (OSError, SpecError) as exc:
        return _fail(str(exc))
    try:
        if args.space.stat().st_size > 1_000_000:  # a space is a few lines: refuse a huge file before reading it
            return _fail(f"{args.space} is {args.space.stat().st_size:,} bytes; a space file is at most 1 MB")
        raw = args.space.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return _fail(f"{args.space} is not UTF-8 text; save the space as UTF-8 JSON")
    except OSError as exc:
        return _fail(f"cannot read the space file {args.space}: {exc.strerror}")
    try:
        space = json.loads(raw)
    except RecursionError:
        return _fail(f"{args.space} is not valid JSON (nested too deeply)")
    except ValueError as exc:
        return _fail(f"{args.space} is not valid JSON ({exc})")
    try:
        dims = sweep.parse_space(space, base)
        metric = sweep.metric_for(base, args.metric)
        if not 1 <= args.trials <= sweep.MAX_TRIALS:
            raise sweep.SweepError("--trials", f"must be a whole number from 1 to {sweep.MAX_TRIALS}")
        if not 1 <= args.workers <= 64:
            raise sweep.SweepError("--workers", "must be a whole number from 1 to 64")
        digest = hashlib.sha1((base.to_json() + json.dumps(space, sort_keys=True) + metric).encode()).hexdigest()[:10]
        name = args.study or f"sweep-{digest}"
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
            raise sweep.SweepError("--study", "use 1 to 64 letters, digits, - and _")
        root = runs.default_root()
        store = sweep.storage(args.storage, root, name)
        study = sweep.open_study(name, store, metric, base.train.seed)
    except sweep.SweepError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a database that cannot be reached, a journal that cannot be written
        return _fail(f"the study's storage cannot be used ({exc.__class__.__name__}: "
                     f"{(str(exc).strip().splitlines() or [''])[0][:200]})")
    where = _storage_text(args.storage) if args.storage else str(sweep.journal_path(root, name))
    print(f"study {name} in {where}: {args.trials} trials in all, {args.workers} at once here; objective {metric} "
          f"(validation, original units); {len(sweep.counted(study))} done before", flush=True)
    printing = threading.Lock()

    def line(o: sweep.Outcome) -> None:
        value = f"{metric} {o.value:.4f}" if o.value is not None else o.state
        settings = ", ".join(f"{k}={json.dumps(v)}" for k, v in o.params.items())
        with printing:
            print(f"trial {o.number:>3}  {o.state:<9} {value:<20} {o.seconds:6.1f} s  run {o.run_id or '-'}  {settings}"
                  + (f"  ({o.note})" if o.note and o.state != "complete" else ""), flush=True)

    pool = pools.from_env(args.workers)
    job = sweep.Sweep(base, dims, study, args.trials, pool, root, slots=args.workers, metric=metric,
                      on_trial=line, storage_text=where).start()
    try:
        while job.alive:
            job.join(0.5)
    except KeyboardInterrupt:
        print("stopping: the trials that train now are stopped and saved", flush=True)
        job.stop()
        job.join()
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


def backtest_command(args: argparse.Namespace) -> int:
    """Plan the folds, train them through a pool, print a line per fold and the verdict, write the files."""
    import math

    from . import backtest, container, data
    from . import pool as pools
    from . import runs

    try:
        spec = load_spec(args.config)
        frame = data.load(spec.data)
        folds = backtest.plan(spec, frame, args.folds)
    except (OSError, SpecError, data.DataError) as exc:
        return _fail(str(exc))
    workers = args.workers if args.workers is not None else container.plan().max_workers  # not the host's cores
    if not 1 <= workers <= 64:
        return _fail("--workers must be a whole number from 1 to 64")
    root = runs.default_root()
    backtest_id = "bt-" + runs.new_run_id()
    out = args.out or root / "backtests" / backtest_id
    print(f"backtest {backtest_id}: {len(folds)} folds of {folds[0].test_targets} test and {folds[0].val_targets} "
          f"validation targets, {min(workers, len(folds))} at once", flush=True)
    for f in folds:
        print(f"fold {f.number}: trains on {f.train_targets} targets before {f.origin}, tests {f.test_start} to {f.end}",
              flush=True)
    pool = pools.from_env(workers)
    t0 = time.perf_counter()
    backtest.run(folds, pool, root, backtest_id,
                 on_fold=lambda f, status: print(f"fold {f.number} {status} (run {f.run_id})", flush=True))
    table, summary = backtest.results(folds, root, time.perf_counter() - t0)
    csv_path, json_path = backtest.write(out, table, summary)

    def num(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) and math.isfinite(v) else "-"

    for row in table.to_dict("records"):
        stats = "  ".join(f"{n} {num(row.get(f'{n}_rmse'))}" for n in backtest.STATISTICAL if f"{n}_rmse" in row)
        print(f"fold {row['fold']}  rmse {num(row['rmse'])}  mae {num(row['mae'])}  mase {num(row['mase'])}  "
              f"persistence {num(row.get('naive_rmse'))}  {stats}")
    model = summary["model"]
    print(f"overall  rmse {num(model.get('rmse'))}  mae {num(model.get('mae'))}  mase {num(model.get('mase'))}  "
          f"persistence {num(summary['baselines'].get('naive', {}).get('rmse'))}")
    print(f"verdict: {summary['verdict']}")
    print(f"wrote {csv_path} and {json_path}")
    return 1 if summary["failed_folds"] else 0


def _storage_text(url: str) -> str:
    """A database URL without its password, for printing and for sweep.json."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: the storage check says so
        return url.split("@")[-1]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"train": train, "runs": runs_command, "presets": presets_command,
            "worker": worker_command, "import-model": import_model_command, "sweep": sweep_command,
            "backtest": backtest_command}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
