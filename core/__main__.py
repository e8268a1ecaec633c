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
import os
import signal
import sys
from pathlib import Path

from . import tickers  # noqa: F401  (first: curl_cffi must load before TensorFlow, see core/tickers.py)
from .commands.backtest import backtest_command
from .commands.common import fail, load_spec  # noqa: F401  (load_spec: as the tests import it)
from .commands.explore import explore_command
from .commands.store import import_model_command, presets_command, runs_command, worker_command
from .commands.sweep import sweep_command
from .commands.train import train


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"train": train, "runs": runs_command, "presets": presets_command,
            "worker": worker_command, "import-model": import_model_command, "sweep": sweep_command,
            "backtest": backtest_command, "explore": explore_command}[args.command](args)


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
        code = fail("interrupted", 128 + signal.SIGINT)
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    process_main()
