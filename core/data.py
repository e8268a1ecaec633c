"""Data sources -> a DataFrame indexed by date, sorted oldest first.

Every failure a person can cause (an unknown dataset, a missing column, a file that does not
parse, a ticker that returns nothing) raises `DataError` with a message that says what happened
and what to do about it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from .spec import DataSpec


class DataError(ValueError):
    """Data that cannot be used, with a message a person can act on."""


@dataclass(frozen=True)
class Builtin:
    """A dataset that ships inside an installed package, so it loads offline."""

    name: str
    title: str
    description: str
    frequency: str
    source: str
    license: str
    loader: Callable[[], pd.DataFrame]


def _arch(module: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import importlib

        return importlib.import_module(f"arch.data.{module}").load()

    return load


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "sp500",
            "S&P 500 index, daily",
            "Daily open, high, low, close, adjusted close and volume of the S&P 500, 1999-2018 (5031 trading days).",
            "daily (trading days)",
            "Yahoo! Finance via the `arch` package (arch.data.sp500)",
            "arch is NCSA-licensed; the price data is public market data",
            _arch("sp500"),
        ),
        Builtin(
            "nasdaq",
            "NASDAQ Composite, daily",
            "Daily open, high, low, close, adjusted close and volume of the NASDAQ Composite, 1999-2018.",
            "daily (trading days)",
            "Yahoo! Finance via the `arch` package (arch.data.nasdaq)",
            "arch is NCSA-licensed; the price data is public market data",
            _arch("nasdaq"),
        ),
    )
}


def load(spec: DataSpec, require_columns: bool = True) -> pd.DataFrame:
    """Load the series a DataSpec names.

    Args:
        require_columns: check that the target and feature columns exist and are numeric.

    Returns:
        A DataFrame with a DatetimeIndex sorted oldest first, trimmed to spec.start/spec.end.
    """
    if spec.source == "builtin":
        frame = load_builtin(spec.name or "")
    elif spec.source == "csv":
        frame = load_csv(spec.path or "", spec.date_column)
    elif spec.source == "ticker":
        frame = load_ticker(spec.ticker or "", spec.start, spec.end)
    else:
        raise DataError(f"unknown data source {spec.source!r}; use builtin, ticker or csv")
    frame = _trim(frame, spec.start, spec.end)
    if require_columns:
        check_columns(frame, [spec.target, *spec.features])
    return frame


def load_builtin(name: str) -> pd.DataFrame:
    if name not in BUILTINS:
        raise DataError(f"there is no built-in dataset called {name!r}; choose one of {', '.join(BUILTINS)}")
    frame = BUILTINS[name].loader()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame.sort_index()


DATE_NAMES = ("date", "datetime", "time", "timestamp", "trade_date", "day", "日期", "时间")


def load_csv(path: str | Path, date_column: str | None = None) -> pd.DataFrame:
    """Read a CSV with a date column into a date-indexed frame (oldest row first)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no file at {path}; check the path in data.path")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path.name} could not be read as CSV ({exc.__class__.__name__}: {exc}); "
                        "save it as comma-separated UTF-8 text and try again") from None
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed:")]]
    column = date_column or next((c for c in frame.columns if str(c).strip().lower() in DATE_NAMES), None)
    if column is None or column not in frame.columns:
        wanted = f"the column {date_column!r}" if date_column else "a date column (date, Date, trade_date, ...)"
        raise DataError(f"{path.name} has no {wanted}; its columns are {', '.join(map(str, frame.columns))}. "
                        "Set data.date_column to the column that holds the dates")
    try:  # utc=True copes with offsets (+08:00), mixed or not; then drop the zone
        dates = pd.to_datetime(frame[column].astype(str), errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
    except (TypeError, ValueError):
        dates = pd.Series(pd.NaT, index=frame.index)
    if dates.isna().all():
        raise DataError(f"the column {column!r} in {path.name} holds no dates that can be read")
    frame = frame.drop(columns=[column]).set_index(pd.DatetimeIndex(dates, name="date"))
    return frame[frame.index.notna()].sort_index()


def download(ticker: str, start: str | None, end: str | None) -> pd.DataFrame:
    """yfinance's download, in one place so tests can replace it."""
    import yfinance as yf

    kwargs = {"start": start, "end": end} if start else {"period": "max"}
    return yf.download(ticker, progress=False, auto_adjust=False, multi_level_index=False, **kwargs)


def load_ticker(ticker: str, start: str | None, end: str | None) -> pd.DataFrame:
    try:
        frame = download(ticker, start, end)
    except Exception as exc:  # yfinance raises many unrelated types offline
        raise DataError(f"downloading {ticker!r} failed ({exc.__class__.__name__}); check the network "
                        "connection or pick a built-in dataset") from None
    if frame is None or frame.empty:
        raise DataError(f"Yahoo Finance returned no rows for {ticker!r}: the symbol may be unknown or there is "
                        "no network. Check the symbol, or pick a built-in dataset that works offline")
    frame.index = pd.DatetimeIndex(frame.index, name="date").tz_localize(None)
    return frame.sort_index()


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
