"""The command line: the same pipeline as the app, headless.

    python -m core train --config spec.json [--out DIR] [--epochs N]
    python -m core runs list
    python -m core runs export RUN --out FILE.zip
    python -m core presets
    python -m core train --preset NAME [--out DIR] [--epochs N]
    python -m core worker         (started by the app's pool: one request on stdin, see core/worker.py)

`train` prints one line per epoch and writes the run directory (see core/runs.py); without --out
it goes into the run store ($RNNLAB_RUNS_DIR, default ./runs) under a new run id. What the CSV
reader fixed or guessed follows the `data:` line as `note: ...` lines. A bad spec or bad data exits
with code 2 and a one-line message; a run that fails while training, or whose run directory cannot
be written, exits with 1. Progress and results go to stdout, every error as one `error: ...` line
to stderr. `runs list` prints the store's runs (all workspaces), `runs export` writes a run's
bundle (.zip), as the app's Runs page does.
"""
from __future__ import annotations

import argparse
import os
import sys
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"train": train, "runs": runs_command, "presets": presets_command,
            "worker": worker_command}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
