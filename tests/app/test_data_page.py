"""The Data page through AppTest: every source, bad input that keeps what was loaded, preparation knobs."""
from __future__ import annotations

import pandas as pd
import pytest

from core import tickers

from ..conftest import tiny_spec
from .helpers import button, new_app, open_page, session_run, table


def data_page(spec=None):
    return open_page("data", spec)


def loaded_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Loaded:**"))


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def split_table(at) -> pd.DataFrame:
    return table(at, "samples")


# The tiny spec's splits: the built-in S&P 500 in 2018 (251 trading days), windows of 10, 70/15/15
TINY_SPLITS = pd.DataFrame({"samples": [169, 36, 36], "first target": ["2018-01-17", "2018-09-18", "2018-11-07"],
                            "last target": ["2018-09-17", "2018-11-06", "2018-12-31"]},
                           index=pd.Index(["train", "val", "test"], name="split"))


def test_builtin_switch_takes_the_datasets_target_and_shows_its_license():
    at = data_page()
    at.selectbox(key="w.builtin").set_value("seattle_weather").run()
    spec = at.session_state["spec"]
    assert spec.data.name == "seattle_weather" and spec.data.target == "temp_max" and spec.data.start is None
    assert "Seattle weather" in loaded_line(at) and "1,461 rows" in loaded_line(at)
    assert any("License:" in c.value and "public domain" in c.value for c in at.caption)
    assert any(c.value.startswith("Sample") and "temp_max" in c.value for c in at.caption)


def test_missing_values_are_counted_and_handling_changes_the_windows():
    at = data_page()
    at.selectbox(key="w.builtin").set_value("co2").run()
    assert any("co2: 59; their rows are dropped" in c.value for c in at.caption)
    dropped = split_table(at)["samples"].sum()
    at.radio(key="w.data.missing").set_value("interpolate").run()
    assert at.session_state["spec"].data.missing == "interpolate"
    assert any("co2: 59; filled by linear interpolation" in c.value for c in at.caption)
    assert split_table(at)["samples"].sum() != dropped and not at.exception


def test_transform_scaler_and_stride_reach_the_spec_and_the_shapes():
    at = data_page()
    before = split_table(at)["samples"].sum()
    at.radio(key="w.data.transform").set_value("pct").run()
    at.radio(key="w.data.scaler").set_value("standard").run()
    at.number_input(key="w.window.stride").set_value(5).run()
    spec = at.session_state["spec"]
    assert (spec.data.transform, spec.data.scaler, spec.window.stride) == ("pct", "standard", 5)
    assert split_table(at)["samples"].sum() == len(range(before - 2, -1, -5))  # pct costs the first row
    assert not at.exception


def test_synthetic_generator_and_its_parameters():
    at = data_page()
    at.radio(key="w.source").set_value("synthetic").run()
    spec = at.session_state["spec"]
    assert (spec.data.source, spec.data.name, spec.data.target) == ("synthetic", "sine", "value")
    at.number_input(key="w.gen.sine.points").set_value(500).run()
    assert at.session_state["spec"].data.params == {"points": 500}
    assert "500 rows" in loaded_line(at)
    at.selectbox(key="w.generator").set_value("random_walk").run()
    assert at.session_state["spec"].data.name == "random_walk"


class FakeDownload:
    def __init__(self, result):
        self.result = result

    def __call__(self, ticker, start, end, interval="1d", period=None):
        if isinstance(self.result, BaseException):
            raise self.result
        if isinstance(self.result, pd.DataFrame):
            return self.result
        index = pd.date_range("2020-01-01", periods=300, freq="D")
        return pd.DataFrame({"Open": range(300), "Close": [float(i) for i in range(300)]}, index=index)


def fetch(at, symbol: str):
    at.radio(key="w.source").set_value("ticker").run()
    at.text_input[0].set_value(symbol)
    at.button[0].click().run()  # the form's Fetch button
    assert not at.exception, at.exception
    return at


def test_ticker_fetch_switches_the_data_and_shows_its_age(monkeypatch):
    monkeypatch.setattr(tickers, "download", FakeDownload(None))
    at = fetch(data_page(), "MSFT")
    spec = at.session_state["spec"]
    assert (spec.data.source, spec.data.ticker, spec.data.target) == ("ticker", "MSFT", "Close")
    assert "MSFT (daily, Yahoo Finance)" in loaded_line(at) and "fetched just now" in loaded_line(at)


@pytest.mark.parametrize("failure, message", [
    (ConnectionError("Could not resolve host"), "Could not reach Yahoo Finance"),
    (tickers.TickerNotFound("possibly delisted"), "no data for 'NOPE'"),
    (pd.DataFrame(), "returned no rows"),
])
def test_failed_fetch_explains_and_keeps_the_previous_data(monkeypatch, failure, message):
    at = data_page()
    before = loaded_line(at)
    pd.testing.assert_frame_equal(split_table(at), TINY_SPLITS)
    monkeypatch.setattr(tickers, "download", FakeDownload(failure))
    fetch(at, "NOPE")
    assert message in errors(at) and "previous data is kept" in errors(at)
    assert at.session_state["spec"].data.source == "builtin"
    assert loaded_line(at) == before
    pd.testing.assert_frame_equal(split_table(at), TINY_SPLITS)  # the previous data's windows, still shown


def test_bad_ticker_characters_are_refused_before_any_download(monkeypatch):
    monkeypatch.setattr(tickers, "download", FakeDownload(AssertionError("must not download")))
    at = fetch(data_page(), "AA PL")
    assert "not a ticker symbol" in errors(at)


def upload(at, name: str, content: bytes):
    at.radio(key="w.source").set_value("csv").run()
    at.file_uploader(key="w.upload").set_value((name, content, "text/csv")).run()
    assert not at.exception, at.exception
    return at


EURO_CSV = "Datum;Schluss\n" + "".join(f"{d.strftime('%d.%m.%Y')};{1000 + i},5\n" for i, d in
                                       enumerate(pd.date_range("2020-01-01", periods=200)))


def test_csv_upload_loads_the_file_and_offers_the_date_column():
    at = upload(data_page(), "euro.csv", EURO_CSV.encode("utf-8"))
    spec = at.session_state["spec"]
    assert spec.data.source == "csv" and spec.data.target == "Schluss" and spec.data.path.endswith("-euro.csv")
    assert "euro.csv · 200 rows" in loaded_line(at)
    assert date_box(at).value == "Datum"
    assert any("Decimal commas in 'Schluss'" in c.value for c in at.caption)


def date_box(at):
    return next(s for s in at.selectbox if s.label == "Date column")


def test_a_good_upload_after_a_bad_one_clears_the_error_and_the_old_date_column():
    at = upload(data_page(), "one.csv", b"date,close\n2020-01-01,1\n")
    assert "only 1 row" in errors(at)
    at = upload(at, "euro.csv", EURO_CSV.encode("utf-8"))
    assert errors(at) == "" and "euro.csv" in loaded_line(at)
    other = "when,price\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 29))
    at = upload(at, "other.csv", other.encode())
    assert date_box(at).value == "when" and "other.csv" in loaded_line(at)


def test_picking_a_date_column_that_holds_no_dates_explains_and_keeps_the_dates():
    text = "date,open,close\n" + "".join(f"2020-01-{d:02d},{d},{d + 1}\n" for d in range(1, 29))
    at = upload(data_page(), "prices.csv", text.encode())
    date_box(at).set_value("open").run()
    assert "holds no dates" in errors(at) and "previous data is kept" in errors(at)
    assert date_box(at).value == "date" and at.session_state["spec"].data.date_column is None
    assert "28 rows" in loaded_line(at)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"date,close\n", "no rows of data"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"date,name\n2020-01-01,a\n2020-01-02,b\n", "no numeric column"),
])
def test_broken_upload_explains_and_keeps_the_previous_data(content, message):
    at = data_page()
    before = loaded_line(at)
    upload(at, "broken.csv", content)
    assert message in errors(at) and "previous data is kept" in errors(at)
    assert errors(at).startswith("broken.csv ")  # the name the user knows, not the stored copy's
    assert at.session_state["spec"].data.source == "builtin" and loaded_line(at) == before


def test_oversized_upload_is_refused(monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_CSV_MB", "0.001")
    at = upload(data_page(), "big.csv", EURO_CSV.encode("utf-8") * 3)
    assert "over the" in errors(at) and "RNNLAB_MAX_CSV_MB" in errors(at)
    assert at.session_state["spec"].data.source == "builtin"


def test_window_longer_than_the_data_keeps_the_chart_and_names_the_longest_that_fits():
    at = data_page()
    at.selectbox(key="w.builtin").set_value("sunspots").run()
    at.number_input(key="w.window.length").set_value(5000).run()
    assert "the longest window that fits is 305" in errors(at)
    assert any(c.proto.spec and "sunspots" in c.proto.spec for c in at.get("plotly_chart"))  # the series stays
    at.switch_page("pages/train.py").run()
    button(at, "Train").click().run()
    shown = [e.value for e in [*at.error, *at.warning, *at.info]]
    assert sum("longest window that fits" in v for v in shown) == 1  # said once, not twice
    assert not any("Click **Train** to start" in v for v in shown)


def test_trained_run_survives_a_failed_load(monkeypatch):
    """Nothing already trained is lost when new data fails to load."""
    at = new_app(tiny_spec(train={"epochs": 1}))
    at.run()
    button(at, "Train").click().run()
    job = session_run(at)
    job.join(60)
    at.switch_page("pages/data.py").run()
    upload(at, "broken.csv", b"")
    assert "is empty" in errors(at) and session_run(at).run_id == job.run_id
    at.switch_page("pages/train.py").run()
    assert not at.exception and any(s.value.startswith("Status:") for s in [*at.success, *at.warning])


def test_a_file_whose_dates_were_not_found_can_be_told_where_they_are():
    text = "when,price\n" + "".join(f"{1950 + i},{i * 2}\n" for i in range(60))  # years look like numbers
    at = upload(data_page(), "years.csv", text.encode())
    assert "no date column" in errors(at)
    picker = next(s for s in at.selectbox if s.label == "Which column holds the dates?")
    assert picker.options == ["when", "price"]
    picker.set_value("when").run()
    next(b for b in at.button if b.label == "Use this column").click().run()
    assert not at.exception, at.exception
    spec = at.session_state["spec"]
    assert (spec.data.source, spec.data.date_column, spec.data.target) == ("csv", "when", "price")
    assert "years.csv · 60 rows · 1950-01-01" in loaded_line(at) and errors(at) == ""


def test_the_baselines_list_explains_every_baseline_the_metrics_table_names():
    at = open_page("data")
    listed = next(m.value for m in at.markdown if "**ETS**" in m.value)
    for name in ("persistence", "seasonal naive", "moving average", "linear AR", "ETS", "ARIMA"):
        assert f"**{name}**:" in listed
