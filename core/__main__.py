"""The command line: the same pipeline as the app, headless.

    python -m core train --config spec.json --out DIR [--epochs N]

Prints one line per epoch and writes the run directory (see core/runs.py). A bad spec or bad
data exits with code 2 and a one-line message; a run that fails while training, or whose run
directory cannot be written, exits with 1.
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
    train.add_argument("--config", type=Path, help="spec JSON file (missing keys take defaults; omit for all defaults)")
    train.add_argument("--out", type=Path, required=True, help="run directory to write")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def load_spec(path: Path | None, epochs: int | None = None) -> ExperimentSpec:
    if path is None:
        spec = ExperimentSpec()
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError("--config", f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SpecError("--config", f"{path} is not UTF-8 text; save the spec as UTF-8 JSON") from None
        spec = ExperimentSpec.from_json(text)
    return spec.replace(train={"epochs": epochs}) if epochs is not None else spec


def train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import data, windows
    from .data import DataError

    if args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out} is a file; give a directory for the run")
    try:
        spec = load_spec(args.config, args.epochs)
        frame = data.load(spec.data)
        windowed = windows.make(frame, spec)
    except (SpecError, DataError) as exc:
        return _fail(str(exc))
    print(f"data: {len(frame)} rows; {windowed.shape_text()}", flush=True)

    from .training import FAILED, TrainingJob

    def print_epoch(snap) -> None:
        h = snap.history
        print(f"epoch {snap.epoch}/{snap.epochs}  loss {h['loss'][-1]:.6f}  val_loss {h['val_loss'][-1]:.6f}"
              f"  {snap.elapsed:.1f}s", flush=True)

    job = TrainingJob(spec, windowed, run_dir=args.out, on_epoch=print_epoch)
    final = job.run()
    if final.metrics:
        test, naive = final.metrics["test"], final.metrics["baselines"]["naive"]
        print(f"test   rmse {test['rmse']:.4f}  mae {test['mae']:.4f}  mape {test['mape']:.3f}%")
        print(f"naive  rmse {naive['rmse']:.4f}  mae {naive['mae']:.4f}  mape {naive['mape']:.3f}%")
    if final.forecast is not None:
        last = final.forecast.iloc[-1]
        print(f"forecast {len(final.forecast)} steps past the data, to {last['date']:%Y-%m-%d}: {last['forecast']:.4f}")
    elif final.forecast_note:
        print(f"no forecast: {final.forecast_note}")
    if not job.saved:
        print(final.message, flush=True)
        return 1
    print(f"{final.message}; wrote {args.out}", flush=True)
    return 1 if final.status == FAILED else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"train": train}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
