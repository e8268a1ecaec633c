"""`python -m core explore`: the explorer's results as files, for checking outside the app.

    python -m core explore --run RUN_DIR --out OUT [--layer 0] [--window K --span A:B --threshold T] [--top N]

writes into OUT:
- halflife.csv: unit, mean_gate, time_constant (-1/ln mean gate), half_life (ln 2 x that), in steps;
  only the header for a SimpleRNN layer (the note on stdout says why).
- signals.csv: a row per unit, a column per signal (level, change, volatility, ma_distance,
  day_of_week, ahead): correlations of the unit's h with the signal over the test windows, and
  `strongest`, the signal with the largest |r|.
- matches.csv (with --span): rank, split, window, target_date, start, end, span_end_date, row, score,
  shared, extra, level, followed_pct, next_1..next_horizon; best first. K is the index of a test
  window (0 is the first), A:B its steps (0-based, both included); the window the span came from
  is the first match.

Bad arguments, a run that cannot be read, or a layer/span/window out of range: one `error:` line on
stderr and exit code 2, before any replay. This module imports nothing heavy until `command` runs.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=Path, required=True, help="a run directory (with spec.json and model.keras)")
    parser.add_argument("--out", type=Path, required=True, help="folder for halflife.csv, signals.csv, matches.csv")
    parser.add_argument("--layer", type=int, default=0, help="which recurrent layer, 0 the first (default 0)")
    parser.add_argument("--window", type=int, default=0, help="K: the test window the span is taken from (0 the first)")
    parser.add_argument("--span", help="A:B, steps of that window (0-based, both included): writes matches.csv")
    parser.add_argument("--threshold", type=float, default=0.3,
                        help="a unit is on where its h is above this (default 0.3, LSTMVis's default)")
    parser.add_argument("--top", type=int, default=100, help="matches to write (default 100)")


def _error(message: str) -> int:
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 2


def parse_span(text: str, steps: int) -> tuple[int, int]:
    """"A:B" -> (A, B), checked against the window's steps; ValueError with a sentence otherwise."""
    try:
        a, b = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"--span {text!r} is not A:B with whole numbers, e.g. --span 50:59") from None
    if not 0 <= a <= b < steps:
        raise ValueError(f"--span {text} is outside the window: it needs 0 <= A <= B <= {steps - 1} "
                         f"(the window has {steps} steps)")
    return a, b


def open_run(run_dir: Path):
    """(spec, windowed, model, history) of a finished run directory; ValueError with what is wrong."""
    from .. import runs, worker
    from ..errors import DataError
    from ..spec import SpecError

    if not run_dir.is_dir():
        raise ValueError(f"--run {run_dir} is not a directory")
    if not runs.has_model(run_dir):
        raise ValueError(f"--run {run_dir} has no model.keras: it is not a finished run (or not a run at all)")
    try:
        spec = runs.read_spec(run_dir)
        _, windowed = worker.prepare(spec)
    except (OSError, SpecError, DataError) as exc:
        raise ValueError(f"--run {run_dir}: {exc}") from None
    model = runs.load_model(run_dir)
    history = runs.weight_history(run_dir) or {0: model.get_weights()}
    return spec, windowed, model, history


def _check(args) -> str | None:
    if not math.isfinite(args.threshold):
        return "--threshold must be a number"
    if args.top < 1:
        return "--top must be 1 or more"
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} is a file; give a folder"
    return None


def command(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        return _error(problem)
    try:
        spec, windowed, model, history = open_run(args.run)
    except ValueError as exc:
        return _error(str(exc))
    from . import states as st

    layers = st.explorable(model)
    if not 0 <= args.layer < len(layers):
        return _error(f"--layer {args.layer} does not exist: this model has {len(layers)} recurrent layer"
                      f"{'s' if len(layers) != 1 else ''} to explore (0 to {len(layers) - 1})")
    steps, tests = windowed.input_shape[0], len(windowed.X["test"])
    span = None
    if args.span is not None:
        if not 0 <= args.window < tests:
            return _error(f"--window {args.window} does not exist: the test split has {tests} windows (0 to {tests - 1})")
        try:
            span = parse_span(args.span, steps)
        except ValueError as exc:
            return _error(str(exc))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _error(f"--out {args.out} cannot be written ({exc.strerror or exc})")
    layer = layers[args.layer]
    epoch = list(history)[-1]
    found = st.compute(model, windowed, history[epoch], layer.name)
    _write(args, found, windowed, span)
    return 0


def _write(args, found, windowed, span) -> None:
    """The three files, and a line per file on stdout."""
    from . import match, units

    life = units.half_life(found.keep)
    life.to_csv(args.out / "halflife.csv", index=False)
    print(f"halflife.csv: {units.half_life_words(life, found.steps)}")
    corr = units.signal_map(found, windowed.levels, windowed.index, windowed.horizon)
    table = corr.round(6)
    table["strongest"] = units.strongest(corr)
    table.to_csv(args.out / "signals.csv")
    print(f"signals.csv: {len(corr)} units x {corr.shape[1]} signals ({found.layer})")
    if span is None:
        return
    a, b = span
    row = found.find("test", args.window)
    chosen = match.pattern(found.h[row], a, b, args.threshold)
    print(f"pattern: {int(chosen.sum())} of {found.units} units above {args.threshold:g} over steps {a}-{b} "
          f"of test window {args.window}")
    hits = match.search(found, chosen, b - a + 1, args.threshold, args.top, ("test", args.window, a))
    out = match.table(hits, windowed, windowed.levels)
    out.insert(0, "rank", range(1, len(out) + 1))
    out.to_csv(args.out / "matches.csv", index=False)
    everything = match.baseline(found, windowed.levels, b - a + 1, windowed.horizon)
    print(f"matches.csv: {len(out)} matches. {match.summary(out, everything, windowed.horizon)}")
