"""CSV files as people really have them, and the broken ones they sometimes upload."""
import numpy as np
import pandas as pd
import pytest

from core import csvfile, data
from core.data import DataError
from core.spec import DataSpec


def read(tmp_path, content: bytes | str, name="prices.csv", **kwargs) -> pd.DataFrame:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return data.load_csv(path, **kwargs)


def test_chinese_gbk_export_with_slash_dates_newest_first(tmp_path):
    text = "日期,开盘,收盘,成交量\n2015/12/11,3.2,3.3,1000\n2015/12/10,3.1,3.2,900\n2015/12/09,3.0,3.1,800\n"
    frame = read(tmp_path, text.encode("gbk"))
    assert list(frame.columns) == ["开盘", "收盘", "成交量"]
    assert frame.index.tolist() == list(pd.to_datetime(["2015-12-09", "2015-12-10", "2015-12-11"]))
    assert frame["收盘"].tolist() == [3.1, 3.2, 3.3]
    notes = " ".join(frame.attrs["notes"])
    assert "GB18030" in notes and "newest first" in notes
    assert data.default_target(frame) == "收盘"


def test_utf8_bom_and_yyyymmdd_integer_dates(tmp_path):
    frame = read(tmp_path, "\ufefftrade_date,close\n20151210,1.5\n20151211,1.6\n".encode("utf-8"))
    assert list(frame.columns) == ["close"]
    assert frame.index[0] == pd.Timestamp("2015-12-10") and frame.attrs["date_column"] == "trade_date"


def test_semicolons_with_decimal_commas_and_thousands_dots(tmp_path):
    frame = read(tmp_path, "Datum;Schluss;Volumen\n10.12.2015;1.234,5;100\n11.12.2015;1.240,25;200\n")
    assert frame["Schluss"].tolist() == [1234.5, 1240.25]
    assert frame.index[0] == pd.Timestamp("2015-12-10")
    assert "separated by semicolons. Decimal commas in 'Schluss'" in " ".join(frame.attrs["notes"])


def test_tab_separated_with_time_column(tmp_path):
    frame = read(tmp_path, "time\tvalue\n2020-01-01 10:00\t1\n2020-01-01 11:00\t2\n")
    assert frame["value"].tolist() == [1, 2] and frame.index[1] == pd.Timestamp("2020-01-01 11:00")


def test_utf16_spreadsheet_text_export(tmp_path):
    frame = read(tmp_path, "date\tclose\n2020-01-01\t1\n2020-01-02\t2\n".encode("utf-16"))
    assert frame["close"].tolist() == [1, 2]


def test_unnamed_index_column_is_dropped_and_dates_sorted(tmp_path):
    frame = read(tmp_path, ",date,open,close,code\n0,2020-01-03,3,3.5,sh600000\n1,2020-01-01,1,1.5,sh600000\n"
                           "2,2020-01-02,2,2.5,sh600000\n")
    assert list(frame.columns) == ["open", "close", "code"]
    assert frame["close"].tolist() == [1.5, 2.5, 3.5]
    assert data.numeric_columns(frame) == ["open", "close"]
    assert "out of date order" in " ".join(frame.attrs["notes"])


def test_duplicate_dates_are_flagged_and_the_last_row_kept(tmp_path):
    frame = read(tmp_path, "date,close\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n2020-01-03,4\n")
    assert frame["close"].tolist() == [1, 3, 4]
    assert frame.attrs["duplicates"] == 1
    assert "1 duplicate date (e.g. 2020-01-02)" in " ".join(frame.attrs["notes"])


def test_date_column_found_by_content_or_given(tmp_path):
    frame = read(tmp_path, "when,value\n2020-01-01,1\n2020-01-02,2\n")
    assert frame.attrs["date_column"] == "when"
    frame = read(tmp_path, "a,b\n1,2020-02-01\n2,2020-02-02\n", date_column="b")
    assert frame.index[0] == pd.Timestamp("2020-02-01")


def test_month_first_dates_are_noted_when_ambiguous(tmp_path):
    frame = read(tmp_path, "date,v\n03/04/2020,1\n03/05/2020,2\n")
    assert frame.index[0] == pd.Timestamp("2020-03-04")
    assert "month first" in " ".join(frame.attrs["notes"])
    frame = read(tmp_path, "date,v\n13/04/2020,1\n14/04/2020,2\n")
    assert frame.index[0] == pd.Timestamp("2020-04-13")


def test_text_in_a_numeric_column_becomes_missing_with_a_note(tmp_path):
    rows = "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 10))
    frame = read(tmp_path, "date,close\n" + rows + "2020-01-10,error\n")
    assert pd.api.types.is_float_dtype(frame["close"]) and frame["close"].isna().sum() == 1
    assert "'error'" in " ".join(frame.attrs["notes"])


def test_unreadable_dates_drop_only_their_rows(tmp_path):
    frame = read(tmp_path, "date,close\n2020-01-01,1\nsoon,2\n2020-01-03,3\n")
    assert frame["close"].tolist() == [1, 3]
    assert "Dropped 1 row" in " ".join(frame.attrs["notes"])


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"date,close\n", "has a header .* but no rows of data"),
    (b"date,name\n2020-01-01,a\n2020-01-02,b\n", "no numeric column"),
    (b"date,close\n2020-01-01,1\n", "only 1 row"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
    (b"PK\x03\x04\x14\x00\x06\x00rest-of-an-xlsx", "Excel workbook"),
    (b"a,b\n1,2\n3,4\n", "no date column"),
    (b"date,close\nfoo,1\nbar,2\n", "holds no dates"),
])
def test_bad_files_say_what_to_do(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        read(tmp_path, content, name="upload.csv")


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_CSV_MB", "0.001")  # about 1 KB
    rows = "".join(f"2020-01-01,{i}\n" for i in range(200))
    with pytest.raises(DataError, match=r"over the 0 MB limit.*RNNLAB_MAX_CSV_MB"):
        read(tmp_path, "date,close\n" + rows)
    with pytest.raises(DataError, match="over the"):
        csvfile.read_bytes(("date,close\n" + rows).encode(), "upload.csv")


def test_csv_spec_loads_the_file_the_same_way(tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text("Datum;Wert\n" + "".join(f"{d:02d}.01.2020;{d},5\n" for d in range(1, 20)))
    frame = data.load(DataSpec(source="csv", path=str(path), target="Wert", features=["Wert"]))
    np.testing.assert_allclose(frame["Wert"].to_numpy()[:2], [1.5, 2.5])


def test_decimal_marks_are_decided_per_column(tmp_path):
    frame = read(tmp_path, 'date,v,w,x\n2020-01-01,"1,5","1,234.5",-2\n2020-01-02,"2","2,000.25","-0,75"\n')
    assert frame["v"].tolist() == [1.5, 2.0]  # a quoted decimal comma in a comma file
    assert frame["w"].tolist() == [1234.5, 2000.25]  # thousands commas
    assert frame["x"].tolist() == [-2.0, -0.75]
    frame = read(tmp_path, "date;v;w\n2020-01-01;1,231;1.5\n2020-01-02;1.210,25;2.5\n")
    assert frame["v"].tolist() == [1.231, 1210.25] and frame["w"].tolist() == [1.5, 2.5]


def test_infinite_values_and_duplicate_column_names_do_not_crash(tmp_path):
    frame = read(tmp_path, "date,Close ,Close\n2020-01-01,1,2\n2020-01-02,inf,3\n2020-01-03,1e400,4\n")
    assert list(frame.columns) == ["Close", "Close.1"]
    assert frame["Close"].isna().sum() == 2 and "'inf'" in " ".join(frame.attrs["notes"])


def test_dates_with_offsets_keep_their_local_day(tmp_path):
    frame = read(tmp_path, "date,close\n2020-01-02 00:00:00+08:00,1\n2020-01-03T00:00:00+08:00,2\n"
                           "2020-01-06 00:00:00+08:00,3\n")
    assert [d.date().isoformat() for d in frame.index] == ["2020-01-02", "2020-01-03", "2020-01-06"]


def test_an_unnamed_date_index_is_the_date_column(tmp_path):
    frame = pd.DataFrame({"Close": [1.0, 2.0, 3.0]}, index=pd.date_range("2020-01-01", periods=3))
    path = tmp_path / "saved.csv"
    frame.to_csv(path)  # header ",Close"
    assert data.load_csv(path).index[0] == pd.Timestamp("2020-01-01")


def test_date_column_found_by_exact_name_and_content_not_by_a_price_that_looks_like_years(tmp_path):
    assert read(tmp_path, "updated,date,v\nyes,2020-01-01,1\nno,2020-01-02,2\n").attrs["date_column"] == "date"
    frame = read(tmp_path, "close,when\n3007,2020-01-01\n3014,2020-01-02\n")
    assert frame.attrs["date_column"] == "when" and frame["close"].tolist() == [3007, 3014]
    frame = read(tmp_path, "YEAR,SUNACTIVITY\n1700.0,5\n1701.0,11\n")  # statsmodels' sunspots export
    assert frame.index[0] == pd.Timestamp("1700-01-01")
    assert read(tmp_path, "date,v\n20200101.0,1\n20200102.0,2\n").index[1] == pd.Timestamp("2020-01-02")


def test_no_date_column_error_lists_the_columns_to_pick_from(tmp_path):
    with pytest.raises(csvfile.DateColumnError) as err:
        read(tmp_path, "a,b\n1,2\n3,4\n")
    assert err.value.columns == ["a", "b"]


def test_latin1_is_not_mistaken_for_gbk_and_utf16_without_bom_is_text(tmp_path):
    rows = "".join(f"2020-01-{d:02d};{d},5\n" for d in range(1, 10))
    frame = read(tmp_path, ("Datum;Schlußkurs\n" + rows).encode("cp1252"))
    assert list(frame.columns) == ["Schlußkurs"] and "CP1252" in " ".join(frame.attrs["notes"])
    frame = read(tmp_path, "date,close\n2020-01-01,1\n2020-01-02,2\n".encode("utf-16-le"))
    assert frame["close"].tolist() == [1, 2]


def dated_rows(formats: list[str], days: int = 300, start: str = "2015-01-01") -> str:
    """`days` rows `date,close`, the i-th date written in formats[i % len(formats)] and close = i."""
    dates = pd.date_range(start, periods=days)
    return "".join(f"{d.strftime(formats[i % len(formats)])},{i}\n" for i, d in enumerate(dates))


@pytest.mark.parametrize("header", ["date", "when"])  # found by name, and by content
def test_dates_in_mixed_formats_are_refused_naming_rows_and_formats(tmp_path, header):
    text = f"{header},close\n" + dated_rows(["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d"])
    with pytest.raises(csvfile.MixedDatesError) as err:  # it was read: days and months swapped, rows lost
        read(tmp_path, text)
    message = str(err.value)
    assert f"the dates in {header!r} of prices.csv are written in 4 formats" in message
    assert "YYYY-MM-DD (row 2 '2015-01-01', row 6 '2015-01-05')" in message
    assert "row 3 '02.01.2015'" in message and "row 4 '01/03/2015'" in message
    assert "YYYYMMDD (row 5 '20150104'" in message
    assert "could be 2 January or 1 February" in message
    assert message.endswith("Save all the dates in one format, e.g. 2015-01-31, and load the file again")
    assert not isinstance(err.value, csvfile.DateColumnError)  # the column is right; its dates are not


def test_day_first_and_month_first_in_one_column_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"day first in some rows \(row 3 '13/04/2015'\) and the month first in "
                                        r"others \(row 4 '04/14/2015'\).*'03/04/2015' \(row 2\) could be 3 April "
                                        r"or 4 March"):
        read(tmp_path, "date,v\n03/04/2015,1\n13/04/2015,2\n04/14/2015,3\n")


def test_mixed_date_rows_are_numbered_as_in_the_file(tmp_path):
    text = 'date,note,v\n\n2015-01-01,"two\nlines",1\n02.01.2015,x,2\n2015-01-03,y,3\n'
    with pytest.raises(DataError, match=r"YYYY-MM-DD \(row 3 '2015-01-01', row 6 '2015-01-03'\); "
                                        r"DD.MM.YYYY or MM.DD.YYYY \(row 5 '02.01.2015'\)"):
        read(tmp_path, text)


def test_a_different_layout_past_the_first_rows_is_refused(tmp_path):
    text = "date,v\n" + dated_rows(["%Y-%m-%d"], days=250) + "01/02/2016,1\n"
    with pytest.raises(DataError, match=r"2 formats: YYYY-MM-DD .*\(row 252 '01/02/2016'\)"):
        read(tmp_path, text)


def test_a_day_first_date_past_the_first_rows_turns_the_whole_column_day_first(tmp_path):
    ambiguous = [d for d in pd.date_range("2015-01-01", "2016-12-31") if d.day <= 12][:250]
    text = "date,v\n" + "".join(f"{d:%d/%m/%Y},{i}\n" for i, d in enumerate(ambiguous)) + "13/12/2016,250\n"
    frame = read(tmp_path, text)
    assert frame.index[1] == pd.Timestamp("2015-01-02") and len(frame) == 251
    assert "read day first, as later rows show (e.g. 13/12/2016)" in " ".join(frame.attrs["notes"])


@pytest.mark.parametrize("formats", [["%Y-%m-%d"], ["%d.%m.%Y"], ["%Y%m%d"], ["%Y/%m/%d %H:%M"], ["%Y-%m-%dT%H:%M:%S"]])
def test_dates_in_one_format_still_read(tmp_path, formats):
    frame = read(tmp_path, "date,close\n" + dated_rows(formats))
    assert (frame.index.normalize() == pd.date_range("2015-01-01", periods=300)).all()
    assert frame["close"].tolist() == list(range(300)) and not frame.attrs["notes"]


@pytest.mark.parametrize("content, first, second", [
    ('"Jan 5, 2015",1\n"Jan 6, 2015",2\n2015-01-07,3\n', "2015-01-05", "2015-01-06"),  # month names
    ("2015-12-10 09:30:00.5+08:00,1\n2015-12-10T09:31:00.25+08:00,2\n",  # fractions of a second, offsets, T
     "2015-12-10 09:30:00.5", "2015-12-10 09:31:00.25"),
    ("2015-01-01,1\n2015-01-02 10:00,2\n", "2015-01-01", "2015-01-02 10:00"),  # a time on some rows only
    ("03.04.2015,1\nsoon,2\n05.04.2015,3\n", "2015-04-03", "2015-04-05"),  # dotted: day first
    ("13/04/2015,1\nsoon,2\n05/04/2015,3\n", "2015-04-05", "2015-04-13"),  # 13/04 says: day first
])
def test_dates_pandas_must_read_one_by_one_still_read_when_they_agree(tmp_path, content, first, second):
    frame = read(tmp_path, "date,close\n" + content)
    assert frame.index[:2].tolist() == [pd.Timestamp(first), pd.Timestamp(second)]


def test_a_number_column_with_gaps_is_not_taken_for_mixed_dates(tmp_path):
    rows = "".join(f"{v},{d:%Y-%m-%d},1\n" for v, d in zip(["1234", "12345678", "n/a"] * 10,
                                                           pd.date_range("2015-01-01", periods=30)))
    frame = read(tmp_path, "volume,when,close\n" + rows)
    assert frame.attrs["date_column"] == "when" and len(frame) == 30


def test_a_file_wider_than_the_column_cap_is_refused_before_pandas_parses_it(tmp_path, monkeypatch):
    """10,000 columns (3.3 MB) took 66 s and +0.9 GB to read; now refused from the header line."""
    def parse(*args, **kwargs):
        raise AssertionError("the whole file must not be parsed")

    monkeypatch.setattr(csvfile.pd, "read_csv", parse)
    header = "date," + ",".join(f"c{i}" for i in range(10_000))
    text = header + "\n" + "".join(f"2020-01-{d:02d}," + ",".join(["1.5"] * 10_000) + "\n" for d in range(1, 11))
    with pytest.raises(DataError, match=r"wide.csv has 10,001 columns; RNN Lab reads at most 500 \(RNNLAB_MAX_COLUMNS\)"):
        read(tmp_path, text, name="wide.csv")
    monkeypatch.setenv("RNNLAB_MAX_COLUMNS", "20000")  # the variable raises it
    with pytest.raises(AssertionError, match="must not be parsed"):
        read(tmp_path, text, name="wide.csv")


def test_a_file_with_more_values_than_the_cell_cap_is_refused_with_its_shape(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_CELLS", "1000")
    text = "date,a,b,c\n" + "".join(f"{d.date()},1,2,3\n" for d in pd.date_range("2020-01-01", periods=300))
    with pytest.raises(DataError, match=r"about 300 rows x 4 columns = 1,200 values; RNN Lab reads at most 1,000 "
                                        r"\(RNNLAB_MAX_CELLS\)"):
        read(tmp_path, text)
    assert len(read(tmp_path, text.split("\n", 200)[0] + "\n" + "\n".join(text.split("\n")[1:200]))) == 199


GERMAN = "Datum;Preis;Menge\n" + "".join(f"{d:%d.%m.%Y};1.{d.day:03d},50;{900 + d.day}.037\n"
                                          for d in pd.date_range("2015-02-01", periods=20))


def test_a_thousands_point_is_read_as_one_when_the_file_writes_decimal_commas():
    """Issue 26.14: 900.037 next to 1.000,00 is 900037, not 900.037 (1,000x too small)."""
    frame = csvfile.read_bytes(GERMAN.encode(), "de.csv")
    assert frame["Preis"].iloc[0] == 1001.5
    assert frame["Menge"].iloc[0] == 901037.0
    notes = " ".join(frame.attrs["notes"])
    assert "Values like '901.037' in 'Menge' are read as 901037: the file writes decimals with a comma" in notes


def test_values_that_could_have_either_mark_are_flagged_when_nothing_decides():
    text = "Datum;Menge\n" + "".join(f"{d:%d.%m.%Y};{900 + d.day}.037\n" for d in pd.date_range("2015-02-01", periods=5))
    frame = csvfile.read_bytes(text.encode(), "de.csv")
    assert frame["Menge"].iloc[0] == 901.037
    assert ("Values like '901.037' in 'Menge' could be 901037 (a thousands point) or 901.037 (a decimal point); "
            "nothing in the file says which") in " ".join(frame.attrs["notes"])
    plain = csvfile.read_bytes(text.replace(";", ",").encode(), "en.csv")  # a comma file writes points: no doubt
    assert plain["Menge"].iloc[0] == 901.037 and not any("could be" in n for n in plain.attrs["notes"])


def test_decimal_points_decide_the_file_too():
    text = "date,a,b\n" + "".join(f'{d.date()},"1,{d.day:03d}",{d.day}.5\n' for d in pd.date_range("2020-01-01", periods=5))
    frame = csvfile.read_bytes(text.encode(), "en.csv")
    assert frame["a"].iloc[0] == 1001 and frame["b"].iloc[0] == 1.5
    text = "date;a;b\n" + "".join(f"{d.date()};1,{d.day:03d};{d.day}.5\n" for d in pd.date_range("2020-01-01", periods=5))
    assert csvfile.read_bytes(text.encode(), "en.csv")["a"].iloc[0] == 1001  # 1,001 is a thousands comma here too


def comma_dates(days: list[int], month_first: bool = False) -> bytes:
    rows = "".join(f"{(f'02,{d:02d}' if month_first else f'{d:02d},02')},2015;1.{d:03d},00\n" for d in days)
    return ("Datum;Preis\n" + rows).encode()


def test_dates_written_with_commas_are_day_first_and_flagged_when_no_day_proves_it():
    frame = csvfile.read_bytes(comma_dates(list(range(1, 13))), "de.csv")
    assert frame.index[0] == pd.Timestamp("2015-02-01") and frame.index[-1] == pd.Timestamp("2015-02-12")
    assert ("Dates like 01,02,2015 are read day first (1 February 2015), as files that write dates with commas "
            "usually mean; no date in the file has a day over 12") in " ".join(frame.attrs["notes"])
    proven = csvfile.read_bytes(comma_dates(list(range(1, 20))), "de.csv")  # 13,02,2015 shows the order
    assert proven.index[-1] == pd.Timestamp("2015-02-19") and not any("Dates like" in n for n in proven.attrs["notes"])
    month_first = csvfile.read_bytes(comma_dates(list(range(1, 20)), month_first=True), "us.csv")
    assert month_first.index[0] == pd.Timestamp("2015-02-01") and month_first.index[-1] == pd.Timestamp("2015-02-19")


def test_dates_with_commas_in_both_orders_are_refused():
    text = comma_dates([1, 13]).decode() + "02,14,2015;1.000,00\n"
    with pytest.raises(csvfile.MixedDatesError, match="day first in some rows"):
        csvfile.read_bytes(text.encode(), "de.csv")
