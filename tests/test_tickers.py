"""Tickers through yfinance: every failure path, the disk cache and the offline fallback. No network."""
import json
import logging

import pandas as pd
import pytest
import yfinance
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

from core import data, tickers
from core.data import DataError
from core.spec import DataSpec, ExperimentSpec, SpecError


def bars(rows=5, tz="America/New_York") -> pd.DataFrame:
    index = pd.date_range("2021-01-04", periods=rows, freq="D", tz=tz)
    return pd.DataFrame({"Open": range(rows), "Close": [float(i) for i in range(rows)]}, index=index)[::-1]


class FakeDownload:
    """Stands in for tickers.download: records calls, returns a frame or raises."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def __call__(self, ticker, start, end, interval="1d", period=None):
        self.calls.append((ticker, start, end, interval, period))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result.copy()


def fake(monkeypatch, result) -> FakeDownload:
    stub = FakeDownload(result)
    monkeypatch.setattr(tickers, "download", stub)
    return stub


def ticker_spec(**kw) -> DataSpec:
    return DataSpec(source="ticker", ticker=kw.pop("ticker", "AAPL"), **kw)


def test_download_is_parsed_cached_and_dated(monkeypatch):
    stub = fake(monkeypatch, bars())
    frame = data.load(ticker_spec(interval="1wk", period="5y"))
    assert frame["Close"].tolist() == [0, 1, 2, 3, 4] and frame.index.tz is None
    assert stub.calls == [("AAPL", None, None, "1wk", "5y")]
    assert frame.attrs["fetched_at"] and tickers.age_text(frame).startswith("fetched just now")
    again = data.load(ticker_spec(interval="1wk", period="5y"))  # fresh copy on disk: no second download
    assert len(stub.calls) == 1 and again["Close"].tolist() == frame["Close"].tolist()
    data.load(ticker_spec(interval="1d", period="5y"))  # another interval is another download
    assert len(stub.calls) == 2


def test_offline_later_falls_back_to_the_saved_copy_and_says_how_old(monkeypatch):
    fake(monkeypatch, bars())
    data.load(ticker_spec())
    meta = next(tickers.cache_dir().glob("*.json"))
    meta.write_text(json.dumps({"ticker": "AAPL", "fetched_at": "2020-01-01T00:00:00+00:00"}))
    fake(monkeypatch, ConnectionError("Could not resolve host: query2.finance.yahoo.com"))
    frame = data.load(ticker_spec())
    assert frame["Close"].tolist() == [0, 1, 2, 3, 4]
    note = frame.attrs["notes"][0]
    assert "Could not reach Yahoo Finance" in note and "days ago" in note
    assert "days ago (2020-01-01" in tickers.age_text(frame)


@pytest.mark.parametrize("failure, message", [
    (tickers.TickerNotFound("$ZZZZ: possibly delisted; no price data found"), "no data for 'ZZZZ'.*suffix"),
    (YFPricesMissingError("ZZZZ", ""), "no data for 'ZZZZ'"),
    (ConnectionError("Failed to get ticker 'ZZZZ' reason: Failed to perform, curl: (6) Could not resolve host: "
                     "query2.finance.yahoo.com. See https://curl.se/libcurl/c/libcurl-errors.html first"),
     r"^Could not reach Yahoo Finance \(Could not resolve host: query2.finance.yahoo.com\)\. Check the network"),
    (OSError("timed out"), "Could not reach Yahoo Finance"),
    (YFRateLimitError(), "rate-limiting.*Wait a few minutes"),
    (pd.DataFrame(), r"returned no rows for 'ZZZZ' \(daily bars, all available history\)"),
    (RuntimeError("ImpersonateError('Impersonating chrome150 is not supported')"), r"failed \(Impersonating chrome150 is not supported\)"),
])
def test_each_failure_names_its_cause(monkeypatch, failure, message):
    fake(monkeypatch, failure)
    with pytest.raises(DataError, match=message):
        data.load(ticker_spec(ticker="ZZZZ"))


def fake_yfinance(monkeypatch, logged: str | None, frame: pd.DataFrame):
    """Replace yfinance.download itself: log like yfinance does offline, then return `frame`."""
    def download(ticker, **kwargs):
        if logged:
            logging.getLogger("yfinance").error(f"['{ticker}']: {logged}")
        return frame

    monkeypatch.setattr(yfinance, "download", download)


@pytest.mark.parametrize("logged, error", [
    ("DNSError('Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com.')", ConnectionError),
    ("possibly delisted; no price data found  (period=max)", tickers.TickerNotFound),
    ("YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')", YFRateLimitError),
    ("ImpersonateError('Impersonating chrome150 is not supported')", RuntimeError),
])
def test_errors_yfinance_only_logs_are_raised(monkeypatch, logged, error):
    fake_yfinance(monkeypatch, logged, pd.DataFrame())
    with pytest.raises(error):
        tickers.download("AAPL", None, None)


def test_offline_empty_download_reaches_the_user_as_a_network_message(monkeypatch):
    fake_yfinance(monkeypatch, "DNSError('Failed to perform, curl: (6) Could not resolve host')", pd.DataFrame())
    with pytest.raises(DataError, match="Could not reach Yahoo Finance"):
        data.load(ticker_spec())


def test_real_wrapper_passes_a_good_frame_through(monkeypatch):
    fake_yfinance(monkeypatch, None, bars())
    assert len(tickers.download("AAPL", "2021-01-01", None, "1d")) == 5


@pytest.mark.parametrize("symbol", ["AAPL", "BRK-B", "^GSPC", "EURUSD=X", "600519.SS", "vod.l"])
def test_ticker_symbols_that_are_allowed(symbol):
    ExperimentSpec.from_dict({"data": {"source": "ticker", "ticker": symbol}})


@pytest.mark.parametrize("symbol", ["AA PL", "AAPL;rm", "../etc", "$$$", "A" * 30])
def test_ticker_symbols_with_bad_characters_are_refused(symbol):
    with pytest.raises(SpecError, match="data.ticker.*not a ticker symbol"):
        ExperimentSpec.from_dict({"data": {"source": "ticker", "ticker": symbol}})


def test_curl_cffi_still_impersonates_after_tensorflow_is_imported():
    """TensorFlow ships its own libcurl; loaded first, it broke every yfinance request in the app."""
    import http.server
    import subprocess
    import sys
    import threading
    from pathlib import Path

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    code = ("import core.data, tensorflow; from curl_cffi import requests; "
            f"print(requests.get({url!r}, impersonate='chrome', timeout=20).status_code)")
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                                capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    assert result.stdout.strip().endswith("200"), result.stderr[-2000:]


def test_yfinance_warnings_are_silenced_and_others_are_not(monkeypatch):
    """pandas deprecations raised in yfinance's own code printed six lines before every download's
    one-line error; they are filtered by module, so warnings from elsewhere still show."""
    import warnings

    def download(ticker, **kwargs):
        warnings.warn_explicit("The inplace keyword in DataFrame.sort_index is deprecated", FutureWarning,
                               "yfinance/multi.py", 224, module="yfinance.multi")
        warnings.warn("a warning of our own", UserWarning)  # attributed to this test module
        return bars()

    monkeypatch.setattr(yfinance, "download", download)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert len(tickers.download("AAPL", None, None)) == 5
    assert [str(w.message) for w in shown] == ["a warning of our own"]
