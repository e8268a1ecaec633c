"""A stock ticker's bars from Yahoo Finance (yfinance), cached on disk (see core/tickers.py)."""
from __future__ import annotations

import pandas as pd

from .. import tickers
from ..errors import SpecError
from .base import Source

INTERVAL_TEXT = {"1d": "daily", "1wk": "weekly", "1mo": "monthly"}


def load_ticker(ticker: str, start: str | None, end: str | None, interval: str = "1d",
                period: str | None = None) -> pd.DataFrame:
    """A ticker's bars from Yahoo Finance or the disk cache (see core.tickers)."""
    return tickers.load(ticker, start, end, interval, period)


def _check(d) -> None:
    if not d.ticker:
        raise SpecError("data.ticker", "give a ticker symbol, e.g. \"AAPL\"")


def _title(d) -> str:
    return f"{d.ticker} ({INTERVAL_TEXT.get(d.interval, d.interval)}, Yahoo Finance)"


SOURCE = Source(
    name="ticker", label="Ticker (Yahoo Finance)", fields=("ticker", "interval", "period"),
    defaults={"ticker": "AAPL"}, check=_check, title=_title,
    load=lambda d, csv_root=None: load_ticker(d.ticker or "", d.start, d.end, d.interval, d.period),
    # Each fold cuts the data at its own end date: for a ticker that was a download per fold (offline, every
    # fold failed) and yfinance's end date is exclusive, which shifted the blocks by a row. The folds read the
    # one frame already downloaded instead, cut locally (core/backtest.local_copy).
    downloads=True)
