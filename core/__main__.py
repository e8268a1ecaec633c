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
    python -m core explore --run RUN_DIR --out OUT [--layer 0] [--window K --span A:B --threshold T]

`train` prints one line per epoch and writes the run directory (see core/runs.py); without --out
it goes into the run store ($RNNLAB_RUNS_DIR, default ./runs) under a new run id. What the CSV
reader fixed or guessed follows the `data:` line as `note: ...` lines. A bad spec or bad data exits
with code 2 and a one-line message; a run that fails while training, or whose run directory cannot
be written, exits with 1. Progress and results go to stdout, every error as one `error: ...` line
to stderr. `runs list` prints the store's runs (all workspaces), `runs export` writes a run's
bundle (.zip), as the app's Runs page does. `sweep` searches the spec fields of a space file with
Optuna (core/sweep.py): a line per finished trial, then the best trial, its run and settings, and its
test metrics next to the baselines; exit 0 when the study has its N trials, 2 for a bad space or spec.

Every output path (--out, the run store) is checked before anything trains. SIGTERM or SIGINT stops
a command within seconds, as Stop does in the app: `train` saves its run as stopped, `sweep` and
`backtest` stop their workers (their runs saved as stopped, the sweep's trials failed in the study),
and the command exits with 128 + the signal (143, 130); a second signal ends it at once. Workers a
command started end with it, even when it is killed with SIGKILL. A successful command prints
nothing on stderr. A database URL is never printed with its password.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
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
    train.add_argument("--seeds", type=int, help="N: train N runs, seeds seed..seed+N-1, into --out and write seeds.json "
                                               "(mean, spread, in how many seeds the model beat persistence)")
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
    back.add_argument("--seeds", type=int, default=1, help="N: every fold with seeds seed..seed+N-1 (default 1)")
    back.add_argument("--workers", type=int, help="folds trained at once (default: $RNNLAB_MAX_WORKERS or what the container fits)")
    from .explore import cli as explore_cli  # imports nothing heavy

    explore_cli.add_arguments(sub.add_parser("explore", help="what the cells learned: half-lives, the unit-signal "
                                                             "map and select-and-match, as CSV files"))
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


def max_json_bytes() -> int:
    """The largest --config or --space file read ($RNNLAB_MAX_JSON_BYTES, default 1,000,000): a spec or
    a space is a few lines."""
    try:
        return max(1, int(os.environ.get("RNNLAB_MAX_JSON_BYTES") or 1_000_000))
    except ValueError:
        return 1_000_000


def read_json_text(path: Path, what: str) -> str:
    """The UTF-8 text of a JSON file given on the command line (a byte-order mark skipped: Notepad and
    PowerShell write one), read to at most max_json_bytes() + 1 bytes: the size a file reports is not
    trusted (/dev/zero reports 0 and never ends; a pipe reports nothing). Raises SpecError(`what`)."""
    cap = max_json_bytes()
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
    except OSError as exc:
        raise SpecError(what, f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > cap:
        raise SpecError(what, f"{path} is larger than {cap:,} bytes, the most a JSON file here may have "
                              "($RNNLAB_MAX_JSON_BYTES); is it the right file?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(what, f"{path} is not UTF-8 text; save it as UTF-8 JSON") from None


class DuplicateKey(ValueError):
    """A JSON object with the same key twice (json keeps the last one silently)."""


def _unique_keys(pairs: list) -> dict:
    """object_pairs_hook for json.loads: refuse a key given twice in one object."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def load_spec(path: Path | None, epochs: int | None = None) -> ExperimentSpec:
    """The spec in `path` (defaults without one), with --epochs applied. UTF-8 with or without a
    byte-order mark, as the app accepts; at most max_json_bytes()."""
    if path is None:
        spec = ExperimentSpec()
    else:
        text = read_json_text(path, "--config")
        spec = ExperimentSpec.from_json(text)
    return spec.replace(train={"epochs": epochs}) if epochs is not None else spec


def unwritable(path: Path, what: str) -> str | None:
    """Why a directory cannot be written at `path`, or None: checked before any training, so a bad
    --out does not cost every fold's training first (it did: `backtest --out /etc/hostname`)."""
    if path.exists() and not path.is_dir():
        return f"{what} {path} is a file; give a directory"
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{what} {path} cannot be made: {probe} is a file"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{what} {path} cannot be written: no permission to write in {probe}"
    return None


def _run_store_problem() -> str | None:
    """Why the run store ($RNNLAB_RUNS_DIR) cannot take runs, or None."""
    from .runs import default_root

    return unwritable(default_root(), "the run store ($RNNLAB_RUNS_DIR)")


class Signals:
    """SIGTERM and SIGINT while a command waits on its workers: the first one is kept (`received`),
    for the command to stop its runs as the app's Stop does; a second ends the process at once (the
    workers then stop by themselves: core/worker.py watch_parent). Installed only in the main thread."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> "Signals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, _frame) -> None:
        if self.received is not None:
            print(f"error: {signal.Signals(signum).name} again: ending now", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.received = signum

    def __exit__(self, *exc) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old)

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""


@contextlib.contextmanager
def _owned_workers():
    """Workers started while this runs end when this process ends, even by SIGKILL (core/worker.py)."""
    from .worker import PARENT_ENV

    previous = os.environ.get(PARENT_ENV)
    os.environ[PARENT_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PARENT_ENV, None)
        else:
            os.environ[PARENT_ENV] = previous


def quiet_tensorflow() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null: TF 2.21 writes "All log
    messages before absl::InitializeLog()" and a oneDNN line on stderr at import, whatever
    TF_CPP_MIN_LOG_LEVEL says (tensorflow/tensorflow#100442), and a successful command prints
    nothing on stderr. An import error still raises, with its traceback, after stderr is back."""
    if "tensorflow" in sys.modules:
        return
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import data, worker
    from .data import DataError

    if args.out is None:
        from .runs import default_root, new_run_id

        args.out = default_root() / new_run_id()
    problem = unwritable(args.out, "--out")
    if problem:
        return _fail(problem)
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
        if args.seeds is not None:  # N runs through the pool: core/seeds.py
            from . import seeds

            with _owned_workers():
                return seeds.command(spec, args.seeds, args.out, _fail)
        frame, windowed = worker.prepare(spec)  # the worker's pipeline: one, not two
    except (SpecError, DataError) as exc:
        return _fail(str(exc))
    print(f"data: {len(frame)} rows; {windowed.shape_text()}", flush=True)
    for note in frame.attrs.get("notes") or []:  # what the CSV reader fixed or guessed, an older ticker copy
        print(f"note: {note}", flush=True)

    quiet_tensorflow()
    from .training import FAILED, STOPPED

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

        for key in evaluate.registry.STATISTICAL:
            if key in final.metrics["baselines"]:
                other = final.metrics["baselines"][key]
                print(f"{key:<6} rmse {other['rmse']:.4f}  mae {other['mae']:.4f}  "
                      f"({final.metrics.get('statistical', {}).get(key, evaluate.BASELINE_NAMES[key])}, fitted on the "
                      "training rows)")
        print("verdict: " + evaluate.full_verdict("the model", test, final.metrics["baselines"], windowed.naive_name))
        for line in evaluate.scores.lines(final.metrics):  # OWA, direction against a coin, intervals, per step
            print(line)
    if final.forecast is not None:
        last = final.forecast.iloc[-1]
        print(f"forecast {len(final.forecast)} steps past the data, to {last['date']:%Y-%m-%d}: {last['forecast']:.4f}")
    elif final.forecast_note:
        print(f"no forecast: {final.forecast_note}")
    if not job.saved:
        return _fail(final.message, 1)
    if final.status == FAILED:
        return _fail(f"{final.message} (the run is saved in {args.out})", 1)
    if job.signal is not None:  # stopped as the app's Stop does: saved, and the exit status says by what
        return _fail(f"stopped by {signal.Signals(job.signal).name}: {final.message} (the run is saved in "
                     f"{args.out})", 128 + job.signal)
    if final.status == STOPPED:  # its stop file
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
    if args.out.is_dir():
        return _fail(f"--out {args.out} is a folder; give the .zip file to write")
    problem = unwritable(args.out.parent, "the folder of --out")
    if problem:
        return _fail(problem)
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


def read_space(path: Path) -> dict:
    """The space file's JSON: at most max_json_bytes(), UTF-8, each key once per object (json keeps the
    last of two silently, so a space that names "model.cell" twice searched only the second).
    Raises SpecError("--space")."""
    raw = read_json_text(path, "--space")
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise SpecError("--space", f"{path} gives the key {exc.args[0]!r} twice in one object; JSON would keep "
                                   "only the last one silently, so give each key once") from None
    except RecursionError:
        raise SpecError("--space", f"{path} is not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise SpecError("--space", f"{path} is not valid JSON ({exc})") from None


def sweep_command(args: argparse.Namespace) -> int:
    """Search a space with Optuna: a line per finished trial, then the best trial and its test metrics.
    SIGTERM or SIGINT stops the trials that train (saved as stopped, failed in the study) and exits 128 + the signal."""
    import hashlib

    from . import pool as pools
    from . import runs, sweep

    try:
        base = load_spec(args.config)
        space = read_space(args.space)
    except (OSError, SpecError) as exc:
        return _fail(str(exc))
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
        problem = _run_store_problem()  # every trial is a run there: checked before the study starts one
        if problem:
            return _fail(problem)
        root = runs.default_root()
        store = sweep.storage(args.storage, root, name)
        study = sweep.open_study(name, store, metric, base.train.seed)
    except sweep.SweepError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a database that fails later, a journal that cannot be written
        problem = sweep.db_problem(exc, args.storage) if args.storage else None
        return _fail(problem or sweep.scrub(f"the study's storage cannot be used ({exc.__class__.__name__}: "
                                            f"{(str(exc).strip().splitlines() or [''])[0][:200]})", args.storage))
    where = sweep.redact_url(args.storage) if args.storage else str(sweep.journal_path(root, name))
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
    with Signals() as signals, _owned_workers():
        pool = pools.from_env(args.workers)
        try:
            job = sweep.Sweep(base, dims, study, args.trials, pool, root, slots=args.workers, metric=metric,
                              on_trial=line, storage_text=where).start()
            while job.alive:
                if signals.received and not job.stopped:
                    print(f"stopping ({signals.name}): the trials that train now are stopped, saved and failed in "
                          "the study", flush=True)
                    job.stop()
                job.join(0.2)
        finally:
            pool.close()
    if signals.received:
        return _fail(f"stopped by {signals.name}; the stopped trials' runs are saved in {root}", 128 + signals.received)
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
    """Plan the folds, train them through a pool, print a line per fold and the verdict, write the files.
    Every output path is checked before any fold trains. SIGTERM or SIGINT stops the folds (saved as
    stopped), writes nothing to --out and exits 128 + the signal."""
    import math

    from . import backtest, container, data
    from . import pool as pools
    from . import runs

    try:
        spec = load_spec(args.config)
        frame = data.load(spec.data)
        folds = backtest.with_seeds(backtest.plan(spec, frame, args.folds), args.seeds)
    except (OSError, SpecError, data.DataError) as exc:
        return _fail(str(exc))
    workers = args.workers if args.workers is not None else container.plan().max_workers  # not the host's cores
    if not 1 <= workers <= 64:
        return _fail("--workers must be a whole number from 1 to 64")
    root = runs.default_root()
    backtest_id = "bt-" + runs.new_run_id()
    out = args.out or root / "backtests" / backtest_id
    problem = unwritable(out, "--out") or _run_store_problem() or next(
        (f"--out {out / name} is a folder; backtest.{name.split('.')[1]} cannot be written there"
         for name in ("backtest.csv", "backtest.json") if (out / name).is_dir()), None)
    if problem:
        return _fail(problem)
    print(f"backtest {backtest_id}: {len(folds)} folds of {folds[0].test_targets} test and {folds[0].val_targets} "
          f"validation targets, {min(workers, len(folds))} at once", flush=True)
    for f in folds:
        print(f"fold {f.number}: trains on {f.train_targets} targets before {f.origin}, tests {f.test_start} to {f.end}",
              flush=True)
    if os.environ.get("RNNLAB_WORKER") == "thread":
        quiet_tensorflow()  # folds train in this process
    t0 = time.perf_counter()
    stop = threading.Event()
    with Signals() as signals, _owned_workers():
        pool = pools.from_env(workers)
        try:
            failure: list[BaseException] = []

            def run_folds() -> None:
                try:
                    backtest.run(folds, pool, root, backtest_id, stop=stop, on_fold=lambda f, status: print(
                        f"fold {f.number} {status} (run {f.run_id})", flush=True))
                except Exception as exc:  # noqa: BLE001 - said below, in a line
                    failure.append(exc)

            runner = threading.Thread(target=run_folds, name="backtest", daemon=True)
            runner.start()
            while runner.is_alive():  # the main thread waits here, so a signal is seen within 0.2 s
                if signals.received and not stop.is_set():
                    print(f"stopping ({signals.name}): the folds are stopped and saved", flush=True)
                    stop.set()
                runner.join(0.2)
        finally:
            pool.close()
    if signals.received:
        return _fail(f"stopped by {signals.name}; nothing was written to {out} (the folds' runs are saved as stopped "
                     f"in {root})", 128 + signals.received)
    if failure:
        return _fail(f"the folds could not be started ({failure[0].__class__.__name__}: {failure[0]})", 1)
    table, summary = backtest.results(folds, root, time.perf_counter() - t0)
    try:
        csv_path, json_path = backtest.write(out, table, summary)
    except OSError as exc:
        return _fail(f"cannot write the results to {out}: {exc.strerror} (the folds' runs are in {root})", 1)

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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"train": train, "runs": runs_command, "presets": presets_command,
            "worker": worker_command, "import-model": import_model_command, "sweep": sweep_command,
            "backtest": backtest_command, "explore": explore_command}[args.command](args)


def explore_command(args: argparse.Namespace) -> int:
    from .explore import cli as explore_cli

    quiet_tensorflow()
    return explore_cli.command(args)


def process_main() -> None:
    """`python -m core`: the command in a process of its own. Library warnings are not shown (a
    statsmodels ConvergenceWarning is nothing a user of the command can act on; -W or PYTHONWARNINGS
    still shows them), so a successful command leaves stderr empty; Ctrl-C before a command handles
    it is one line. The process ends with os._exit once stdout and stderr are flushed: TensorFlow's
    tear-down took 8 s after a stopped run had been saved (measured), time a signal must not cost."""
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
        warnings.showwarning = lambda *args, **kwargs: None  # statsmodels re-enables its own at import ("always")
    logging.getLogger("optuna").setLevel(logging.WARNING)
    try:
        code = main()
    except KeyboardInterrupt:
        code = _fail("interrupted", 128 + signal.SIGINT)
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    process_main()
