"""Prices from Yahoo Finance through yfinance, cached on disk so a ticker fetched once works offline.

`download` is the one function that touches the network; tests replace it. It turns the errors
yfinance only logs (an unknown symbol, no network) into exceptions, and `load` turns every
exception into a DataError that names the cause and what to do.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .errors import DataError

try:  # Load curl_cffi's libcurl before TensorFlow, whose own libcurl would otherwise take over its symbols:
    import curl_cffi  # noqa: F401   then every yfinance request fails with "Impersonating chrome150 is not supported".
except ImportError:  # yfinance falls back to requests
    pass

FRESH_SECONDS = 6 * 3600  # a cached copy younger than this is used without asking Yahoo again
NETWORK_WORDS = ("resolve host", "dnserror", "failed to perform", "timed out", "timeout", "connection",
                 "network", "ssl", "curl")
UNKNOWN_WORDS = ("delisted", "no price data", "not found", "no timezone", "no data found", "invalid")


INTERVAL_WORDS = {"1d": "daily", "1wk": "weekly", "1mo": "monthly"}
PERIOD_WORDS = {"1mo": "the last month", "3mo": "the last 3 months", "6mo": "the last 6 months",
                "1y": "the last year", "2y": "the last 2 years", "5y": "the last 5 years", "10y": "the last 10 years",
                "ytd": "this year so far", "max": "all available history"}


class TickerNotFound(Exception):
    """Yahoo has no data for the symbol."""


def cache_dir() -> Path:
    """$RNNLAB_CACHE_DIR/tickers, default ./cache/tickers in the project folder (gitignored)."""
    return Path(os.environ.get("RNNLAB_CACHE_DIR") or Path.cwd() / "cache") / "tickers"


def download(ticker: str, start: str | None, end: str | None, interval: str = "1d",
             period: str | None = None) -> pd.DataFrame:
    """yfinance's download for one ticker; errors it only logs are raised.

    Raises:
        YFRateLimitError: Yahoo is rate-limiting.
        ConnectionError: Yahoo could not be reached.
        TickerNotFound: Yahoo knows no data for the symbol.
    """
    import yfinance as yf

    _quiet_warnings()
    kwargs = {"start": start, "end": end} if start else {"period": period or "max"}
    errors = _LogCapture()
    logger = logging.getLogger("yfinance")
    logger.addHandler(errors)
    try:
        frame = yf.download(ticker, interval=interval, progress=False, auto_adjust=False, multi_level_index=False,
                            threads=False, **kwargs)
    finally:
        logger.removeHandler(errors)
    if (frame is None or frame.empty) and errors.messages:
        message = " ".join(errors.messages)
        lowered = message.lower()
        if "rate limit" in lowered or "too many requests" in lowered:
            from yfinance.exceptions import YFRateLimitError

            raise YFRateLimitError()
        if any(word in lowered for word in NETWORK_WORDS):
            raise ConnectionError(message)
        if any(word in lowered for word in UNKNOWN_WORDS):
            raise TickerNotFound(message)
        raise RuntimeError(errors.messages[0].strip())
    return frame


def _quiet_warnings() -> None:
    """Silence the warnings raised in yfinance's code (pandas deprecations in yfinance/multi.py: six
    lines on every download). They say nothing a person can act on, and they buried the one-line
    error of an offline download. A filter on yfinance's modules, for the whole process, because
    `warnings.catch_warnings` is not thread-safe and downloads run in the app's session threads;
    adding the same filter again replaces it, so calling this on every download is harmless."""
    warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load(ticker: str, start: str | None = None, end: str | None = None, interval: str = "1d",
         period: str | None = None, fresh_seconds: float = FRESH_SECONDS) -> pd.DataFrame:
    """A ticker's OHLCV bars, from a fresh disk copy, Yahoo, or (when Yahoo fails) an older copy.

    `frame.attrs` gets fetched_at (ISO time of the download), age_seconds, and notes (e.g. that an
    older copy is shown because Yahoo could not be reached).
    """
    path = _cache_path(ticker, start, end, interval, period)
    cached = _read_cache(path)
    if cached is not None and cached.attrs["age_seconds"] < fresh_seconds:
        return cached
    try:
        frame = download(ticker, start, end, interval, period)
        if frame is None or frame.empty:
            raise _Empty()
    except Exception as exc:  # every failure either falls back to the disk copy or explains itself
        problem = _explain(exc, ticker, interval, start, end, period)
        if cached is None:
            raise DataError(problem) from None
        cached.attrs["notes"] = [f"{problem.split('. ')[0]}. Showing the copy saved {_age(cached.attrs['age_seconds'])}."]
        return cached
    frame = _tidy(frame)
    fetched = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        path.with_suffix(".json").write_text(json.dumps({"ticker": ticker, "fetched_at": fetched}), encoding="utf-8")
    except OSError:
        pass  # no writable cache: the data still works for this session
    frame.attrs.update(fetched_at=fetched, age_seconds=0.0, notes=[])
    return frame


class _Empty(Exception):
    pass


def _explain(exc: Exception, ticker: str, interval: str, start, end, period) -> str:
    name = type(exc).__name__
    if name == "YFRateLimitError":
        return ("Yahoo Finance is rate-limiting requests (too many in a short time). Wait a few minutes and fetch "
                "again, or use a built-in dataset")
    if isinstance(exc, TickerNotFound) or name in ("YFTickerMissingError", "YFPricesMissingError", "YFTzMissingError"):
        return (f"Yahoo Finance has no data for {ticker!r}. Check the symbol: it may be misspelt or delisted, and "
                "non-US listings need a suffix (e.g. VOD.L, 600519.SS, ^GSPC for an index)")
    if isinstance(exc, _Empty):
        span = f"{start} to {end or 'today'}" if start else PERIOD_WORDS.get(period or "max", period)
        return (f"Yahoo Finance returned no rows for {ticker!r} ({INTERVAL_WORDS.get(interval, interval)} bars, "
                f"{span}). The symbol may be unknown or have no data in that range: check the symbol, or widen the "
                "range")
    detail = _short(str(exc)) or name
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or any(w in detail.lower() for w in NETWORK_WORDS):
        return (f"Could not reach Yahoo Finance ({detail}). Check the network connection; built-in datasets and "
                "CSV files work offline")
    return (f"Downloading {ticker!r} from Yahoo Finance failed ({detail}). Try again later; built-in datasets "
            "and CSV files work offline")


def _short(message: str) -> str:
    """yfinance's error text without its wrapping: "Could not resolve host: query2.finance.yahoo.com"."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = re.sub(r"^Failed to get ticker '[^']*' reason: ", "", text)
    text = re.sub(r"^\w+Error\('(.*)'\)$", r"\1", text)
    text = re.sub(r"Failed to perform, curl: \(\d+\) ", "", text)
    text = re.sub(r"\.? ?See https?://\S+.*$", "", text)
    return text[:160]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = frame.columns.get_level_values(0)
    index = pd.DatetimeIndex(frame.index, name="date")
    frame.index = index.tz_localize(None) if index.tz is not None else index
    return frame.sort_index()


def _cache_path(ticker: str, start, end, interval: str, period) -> Path:
    key = json.dumps([ticker.upper(), start, end, interval, None if start else (period or "max")])
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", ticker.upper())
    return cache_dir() / f"{safe}-{interval}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.csv"


def _read_cache(path: Path) -> pd.DataFrame | None:
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        frame = pd.read_csv(path, index_col=0, parse_dates=[0])
    except (OSError, ValueError):
        return None
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    fetched = datetime.fromisoformat(meta["fetched_at"])
    frame.attrs.update(fetched_at=meta["fetched_at"], notes=[],
                       age_seconds=max((datetime.now(timezone.utc) - fetched).total_seconds(), 0.0))
    return frame


def _age(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def age_text(frame: pd.DataFrame) -> str:
    """'fetched 3 hours ago (2026-11-23 09:00 UTC)' for a frame from `load`, else ''."""
    if "fetched_at" not in frame.attrs:
        return ""
    when = datetime.fromisoformat(frame.attrs["fetched_at"])
    age = (datetime.now(timezone.utc) - when).total_seconds()
    return f"fetched {_age(age)} ({when:%Y-%m-%d %H:%M} UTC)"
