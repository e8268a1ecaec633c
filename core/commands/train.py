"""python -m core train: one run, trained in this process, a line per epoch."""
from __future__ import annotations

import argparse
import os
import signal

from ..spec import SpecError
from .common import fail, load_spec, owned_workers, quiet_tensorflow, unwritable


def _spec(args: argparse.Namespace):
    """The spec to train: a preset (on --csv when given) or a spec file, with --epochs. Raises SpecError,
    DataError; returns (spec, None) or (None, an error line)."""
    from .. import data

    if getattr(args, "preset", None):
        from .. import presets

        spec = presets.get(args.preset).experiment()
        spec = spec.replace(train={"epochs": args.epochs}) if args.epochs is not None else spec
        if args.csv is not None:
            columns = list(data.load_csv(args.csv).columns)
            spec, note = presets.on_csv(spec, str(args.csv), columns)
            print(note, flush=True)
        return spec, None
    if args.csv is not None:
        return None, "--csv goes with --preset; for a spec file, set data.source \"csv\" and data.path in it"
    return load_spec(args.config, args.epochs), None


def _print_epoch(snap) -> None:
    h = snap.history
    accuracy = (f"  accuracy {100 * h['accuracy'][-1]:.1f}%  val_accuracy {100 * h['val_accuracy'][-1]:.1f}%"
                if h.get("accuracy") else "")
    print(f"epoch {snap.epoch}/{snap.epochs}  loss {h['loss'][-1]:.6f}  val_loss {h['val_loss'][-1]:.6f}"
          f"{accuracy}  {snap.elapsed:.1f}s", flush=True)


def _print_results(final, windowed) -> None:
    """The test metrics against the baselines, the verdict, and the forecast past the data."""
    if final.metrics and windowed.classes:
        test, naive = final.metrics["test"], final.metrics["baselines"]["naive"]
        print(f"test   accuracy {test['accuracy']:.2f}%  log loss {test['log_loss']:.4f}")
        print(f"naive  accuracy {naive['accuracy']:.2f}%  ({windowed.naive_name})")
    elif final.metrics:
        test, naive = final.metrics["test"], final.metrics["baselines"]["naive"]
        print(f"test   rmse {test['rmse']:.4f}  mae {test['mae']:.4f}  mape {test['mape']:.3f}%  mse {test['mse']:.6g}")
        print(f"naive  rmse {naive['rmse']:.4f}  mae {naive['mae']:.4f}  mape {naive['mape']:.3f}%  mse {naive['mse']:.6g}"
              f"  ({windowed.naive_name})")
        from .. import evaluate

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


def _exit_code(job, final, out) -> int:
    """0 for a finished, saved run (after its last line); else the error line and 1, or 128 + a signal."""
    from ..snapshot import FAILED, STOPPED

    if not job.saved:
        return fail(final.message, 1)
    if final.status == FAILED:
        return fail(f"{final.message} (the run is saved in {out})", 1)
    if job.signal is not None:  # stopped as the app's Stop does: saved, and the exit status says by what
        return fail(f"stopped by {signal.Signals(job.signal).name}: {final.message} (the run is saved in "
                    f"{out})", 128 + job.signal)
    if final.status == STOPPED:  # its stop file
        return fail(f"{final.message} (the run is saved in {out})", 1)
    print(f"{final.message}; wrote {out}", flush=True)
    return 0


def train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .. import worker
    from ..data import DataError
    from ..runs import default_root, new_run_id, valid_id

    if args.out is None:
        args.out = default_root() / new_run_id()
    problem = unwritable(args.out, "--out")
    if problem:
        return fail(problem)
    try:
        spec, error = _spec(args)
        if error:
            return fail(error)
        if args.seeds is not None:  # N runs through the pool: core/seeds.py
            from .. import seeds

            with owned_workers():
                return seeds.command(spec, args.seeds, args.out, fail)
        frame, windowed = worker.prepare(spec)  # the worker's pipeline: one, not two
    except (SpecError, DataError) as exc:
        return fail(str(exc))
    print(f"data: {len(frame)} rows; {windowed.shape_text()}", flush=True)
    for note in frame.attrs.get("notes") or []:  # what the CSV reader fixed or guessed, an older ticker copy
        print(f"note: {note}", flush=True)
    quiet_tensorflow()
    name = args.out.resolve().name
    run_id = name if valid_id(name) else None  # the directory names the run
    job, final = worker.train(spec, windowed, args.out, run_id, on_epoch=_print_epoch)
    _print_results(final, windowed)
    return _exit_code(job, final, args.out)
