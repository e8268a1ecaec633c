"""Load the series a spec's data section names -> a DataFrame indexed by date, sorted oldest first.

Each source (a built-in dataset, a generator, a ticker, a CSV file) is a module of core/sources/,
which `load` asks; this module trims the dates, checks the columns, and holds what every source's
frame shares (numeric columns, missing values, the likely target). The per-source names that lived
here (BUILTINS, GENERATORS, load_builtin, load_csv, ...) are re-exported from their modules.

Every failure a person can cause (an unknown dataset, a missing column, a file that does not
parse, a ticker that returns nothing) raises `DataError` with a message that says what happened
and what to do about it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import sources, tickers
from .errors import DataError, SpecError
from .sources.builtin import BUILTINS, MNIST_IMAGES, Builtin, load_builtin, mnist_path  # noqa: F401
from .sources.synthetic import GENERATORS, Generator, Param, load_synthetic  # noqa: F401
from .sources.ticker import load_ticker  # noqa: F401
from .sources.upload import check_csv_path, load_csv  # noqa: F401
from .spec import DataSpec

__all__ = ["DataError", "BUILTINS", "GENERATORS", "load", "check_columns", "numeric_columns", "missing_counts"]


def load(spec: DataSpec, require_columns: bool = True, csv_root: str | Path | None = None) -> pd.DataFrame:
    """Load the series a DataSpec names.

    Args:
        require_columns: check that the target and feature columns exist and are numeric.
        csv_root: read a CSV only from inside this folder (the app passes its upload folder, so no
            spec, whatever route it came by, can make the server read another file); None reads
            any path (the command line, where the user names their own files).

    Returns:
        A DataFrame with a DatetimeIndex sorted oldest first, trimmed to spec.start/spec.end.
        `frame.attrs["notes"]` lists what was fixed or guessed on the way (CSV and tickers).
    """
    frame = sources.source(spec.source).load(spec, csv_root)
    attrs = dict(frame.attrs)
    frame = _trim(frame, spec.start, spec.end)
    frame.attrs = attrs
    if frame.empty:
        raise DataError(f"no rows between {spec.start or 'the start'} and {spec.end or 'the end'}; widen the dates")
    if require_columns:
        check_columns(frame, [spec.target, *spec.features])
    return frame


def uploads_dir() -> Path:
    """Where the app keeps uploaded CSV files (next to the ticker cache), so a run's spec.data.path
    can be read again; the only folder the app reads CSV files from."""
    return tickers.cache_dir().parent / "uploads"


def check_outside_spec(spec, root: str | Path | None = None):
    """A spec that came from outside (a link, an imported file, a bundle) may name a CSV only if it
    was uploaded to this app (`root`, default uploads_dir()): otherwise a link could make the
    server read any file it can see. Returns the spec; raises SpecError naming data.path."""
    if spec.data.path or (spec.data.source in sources.SOURCES and sources.source(spec.data.source).uploads):
        try:
            check_csv_path(spec.data.path, root or uploads_dir())
        except DataError as exc:
            raise SpecError("data.path", str(exc)) from None
    return spec


def _trim(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    try:
        return frame.loc[pd.Timestamp(start) if start else None: pd.Timestamp(end) if end else None]
    except (TypeError, ValueError):
        raise DataError(f"data.start/data.end must be dates like 2015-01-31, got {start!r} and {end!r}") from None


def check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise DataError naming any column that is missing or not numeric."""
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise DataError(f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not in the data; "
                        f"available columns: {', '.join(map(str, frame.columns))}")
    bad = [c for c in dict.fromkeys(columns) if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(f"column{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                        "must hold numbers; pick numeric target and feature columns")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]


def missing_counts(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """{column: number of missing values} for the given columns."""
    return {c: int(frame[c].isna().sum()) for c in dict.fromkeys(columns) if c in frame.columns}


def default_target(frame: pd.DataFrame) -> str | None:
    """The column a person most likely wants to predict: a close/price/value column, else the last number."""
    numeric = numeric_columns(frame)
    for word in ("close", "price", "value", "收盘"):
        for column in numeric:
            if word in column.lower() and "adj" not in column.lower():
                return column
    return numeric[-1] if numeric else None
