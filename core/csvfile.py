"""Read the CSV files people really have into a date-indexed frame.

Handles UTF-8 (with or without BOM), UTF-16 and GBK/GB18030 text; comma, semicolon, tab and pipe
delimiters; decimal commas; date columns found by name (date, trade_date, 日期, ...) or by content,
in formats such as 2015-12-10, 2015/12/10, 20151210 and 10.12.2015; unnamed index columns; rows
in any order; duplicate dates; stray text in numeric columns. Everything it had to guess or fix
is listed in `frame.attrs["notes"]`; anything it cannot use raises DataError saying what to do,
among it a date column that mixes layouts (2015-01-31 next to 31.01.2015 or 01/31/2015), which
could only be read by guessing which dates are day first.

The decimal mark is decided once for the whole file from the numeric-looking cells of every
column, so 900.037 in a file that writes 1.000,00 is 900037; values nothing decides are flagged.

Caps (environment variables, read at each call), each checked before pandas parses the file:
    RNNLAB_MAX_CSV_MB   the file's size in MB (default 50)
    RNNLAB_MAX_COLUMNS  columns, counted in the first lines (default 500)
    RNNLAB_MAX_CELLS    rows x columns, rows counted as lines (default 10,000,000)
"""
from __future__ import annotations

import calendar
import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

DEFAULT_MAX_MB = 50
# Measured on this 2-core machine: 10,000 columns (3.3 MB) took 66 s and +0.9 GB to read, and
# 500 columns x 20,000 rows of short numbers (19 MB) 9 s and +230 MB, so both the width and the
# number of values are bounded before pandas parses anything.
DEFAULT_MAX_COLUMNS = 500
DEFAULT_MAX_CELLS = 10_000_000
DATE_NAMES = ("date", "datetime", "time", "timestamp", "trade_date", "tradedate", "day", "month", "year",
              "period", "datum", "fecha", "data", "日期", "时间", "交易日期")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%d,%m,%Y", "%m,%d,%Y", "%Y-%m", "%Y年%m月%d日", "%Y")
DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{12}-")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def env_number(name: str, default: float) -> float:
    """A positive number from the environment variable `name`; `default` when unset or not one."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 and np.isfinite(value) else default


def max_bytes() -> int:
    """The largest CSV accepted: $RNNLAB_MAX_CSV_MB megabytes (default 50)."""
    return int(env_number("RNNLAB_MAX_CSV_MB", DEFAULT_MAX_MB) * 1024 * 1024)


def max_columns() -> int:
    """The most columns a CSV may have: $RNNLAB_MAX_COLUMNS (default 500)."""
    return int(env_number("RNNLAB_MAX_COLUMNS", DEFAULT_MAX_COLUMNS))


def max_cells() -> int:
    """The most values (rows x columns) a CSV may hold: $RNNLAB_MAX_CELLS (default 10,000,000)."""
    return int(env_number("RNNLAB_MAX_CELLS", DEFAULT_MAX_CELLS))


def check_size(size: int, name: str) -> None:
    limit = max_bytes()
    if size > limit:
        raise DataError(f"{name} is {size / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit. Keep only the "
                        "columns and dates you need, or raise the limit with the RNNLAB_MAX_CSV_MB variable")


def read_path(path: str | Path, date_column: str | None = None) -> pd.DataFrame:
    """Read a CSV file from disk (see `read_bytes`)."""
    path = Path(path)
    name = UPLOAD_PREFIX.sub("", path.name)  # an upload is stored as <digest>-<its name>
    if not path.is_file() and name != path.name:
        raise DataError(f"the uploaded file {name} is no longer on the server (uploads are deleted some days after "
                        "they were uploaded: RNNLAB_UPLOAD_DAYS). Upload it again on the Data page")
    if not path.is_file():
        raise DataError(f"no file at {path}; check the path in data.path")
    check_size(path.stat().st_size, name)
    return read_bytes(path.read_bytes(), name, date_column)


class DateColumnError(DataError):
    """No usable date column; `columns` lists the file's columns so a person can pick one."""

    def __init__(self, message: str, columns: list[str]):
        super().__init__(message)
        self.columns = columns


def read_bytes(raw: bytes, name: str, date_column: str | None = None) -> pd.DataFrame:
    """Parse CSV bytes into a frame indexed by date (oldest first), numeric columns as numbers.

    Args:
        raw: the file's bytes.
        name: the file name, for messages.
        date_column: the date column; None finds it by name, then by content.
    """
    check_size(len(raw), name)
    notes: list[str] = []
    text, encoding = _decode(raw, name)
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"Read as {encoding.upper()} text.")
    if not text.strip():
        raise DataError(f"{name} is empty. Choose a CSV file with a header row and at least one row of data")
    sep, width = _delimiter(text)
    _check_shape(text, width, name)
    if sep != ",":
        notes.append(f"Columns are separated by {DELIMITERS[sep]}s.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{name} could not be read as CSV ({str(exc).strip().splitlines()[0]}). Check that every row "
                        "has the same number of columns as the header") from None
    frame.columns = _unique([str(c).strip().lstrip("\ufeff") for c in frame.columns])
    if frame.empty:
        raise DataError(f"{name} has a header ({', '.join(frame.columns[:8])}) but no rows of data. "
                        "Export the file again with its data")
    columns = list(frame.columns)
    try:
        column = _date_column(frame, date_column, name)
    except DateColumnError:
        _refuse_prose(frame, text, name)  # no dates and no numbers: say what the file is, not which column to pick
        raise
    try:
        dates, how = _parse_dates(frame[column])
    except MixedDatesError as exc:  # say it again with the file's name and its line numbers
        lines = _record_lines(text, sep, len(frame))
        raise MixedDatesError(exc.values, exc.keys, name, column,
                              (lambda i: lines[i]) if lines else (lambda i: i + 2)) from None
    if how:
        notes.append(how)
    bad = int(dates.isna().sum())
    if bad == len(dates):
        raise DateColumnError(f"the column {column!r} in {name} holds no dates that can be read (e.g. "
                              f"{frame[column].iloc[0]!r}). Use dates like 2015-12-10, or pick the date column "
                              "(data.date_column in a spec)",
                              columns)
    if bad:
        notes.append(f"Dropped {bad} row{'s' if bad > 1 else ''} whose {column!r} is not a date.")
    frame = frame.drop(columns=[column]).set_index(pd.DatetimeIndex(dates, name="date"))
    frame = frame[frame.index.notna()]
    unnamed = [c for c in frame.columns if _is_unnamed(c)]
    if unnamed:
        frame = frame.drop(columns=unnamed)
        notes.append(f"Dropped {len(unnamed)} unnamed column{'s' if len(unnamed) > 1 else ''} (a saved row index).")
    _to_numbers(frame, notes, sep)
    if not any(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns):
        raise DataError(f"{name} has no numeric column to predict (columns: {', '.join(columns)}). "
                        "The file needs at least one column of numbers besides the dates")
    if not frame.index.is_monotonic_increasing:
        order = "newest first" if frame.index.is_monotonic_decreasing else "out of date order"
        notes.append(f"Rows were {order}; sorted oldest first.")
        frame = frame.sort_index(kind="stable")
    duplicated = frame.index.duplicated(keep="last")
    if duplicated.any():
        first = frame.index[duplicated][0].date()
        notes.append(f"{int(duplicated.sum())} duplicate date{'s' if duplicated.sum() > 1 else ''} (e.g. {first}); "
                     "kept the last row of each.")
        frame = frame[~duplicated]
    if len(frame) < 2:
        raise DataError(f"{name} has only {len(frame)} row of data; a time series needs many rows (hundreds or more)")
    frame.attrs.update(notes=notes, duplicates=int(duplicated.sum()), date_column=column, csv_columns=columns)
    return frame


def _refuse_prose(frame: pd.DataFrame, text: str, name: str) -> None:
    """A DataError when not one cell of the file is a number: a letter or notes saved as .csv."""
    cells = frame.stack()
    numbers = pd.to_numeric(cells.str.replace(",", "", regex=False).str.strip(), errors="coerce").notna()
    if numbers.any():
        return
    first = " ".join(text.split())
    first = first if len(first) <= 60 else first[:60].rsplit(" ", 1)[0] + " ..."
    raise DataError(f"{name} is not a table of numbers: not one value in it is a number "
                    f"(it begins {first!r}, which reads like text). Choose a CSV file with a header row, a date "
                    "column and at least one column of numbers")


def _record_lines(text: str, sep: str, rows: int) -> list[int] | None:
    """The line of the file on which each data row starts (the header is line 1), counting blank
    lines and quoted line breaks as a text editor does; None if the rows do not match the frame's."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    starts, end = [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if len(record) > 1 or (record and record[0].strip()):  # pandas skips empty and blank lines
                starts.append(start)
    except csv.Error:  # a field over the csv module's limit: the message gives row numbers pandas counts
        return None
    return starts[1:] if len(starts) == rows + 1 else None


def _is_unnamed(column: str) -> bool:
    return column.startswith("Unnamed:") or column == ""


def _unique(names: list[str]) -> list[str]:
    """Column names made unique: a second "Close" becomes "Close.1"."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append(name if n == 0 else f"{name}.{n}")
    return out


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    head = raw[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{name} is an Excel workbook or a zip archive, not CSV text. Open it in a spreadsheet and "
                        "save it as CSV")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > 0.4 * len(head) / 2 and min(even, odd) == 0:  # UTF-16 text without a BOM
            try:
                return raw.decode("utf-16-le" if odd else "utf-16-be"), "utf-16"
            except UnicodeDecodeError:
                pass
        raise DataError(f"{name} is a binary file, not CSV text. Choose a .csv file exported as text")
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if _looks_chinese(raw):
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", errors="replace"), "cp1252"


def _looks_chinese(raw: bytes) -> bool:
    """GBK text pairs its high bytes (common characters have both bytes >= 0xA1); Latin-1 text puts
    single accented letters between ASCII ones. GB18030 decodes either without error, so look."""
    high = paired = 0
    i, n = 0, min(len(raw), 1 << 16)
    while i < n:
        if raw[i] >= 0x80:
            high += 1
            if i + 1 < n and raw[i + 1] >= 0x80:
                paired += 1
                i += 1
        i += 1
    return high > 0 and paired / high > 0.7


def _delimiter(text: str) -> tuple[str, int]:
    """The delimiter that splits the first lines most consistently, and the most fields it finds
    in one of those lines (the file's width, before pandas reads a row)."""
    head = text[:1 << 20]  # 50 lines of a sane CSV; splitting all of a 50 MB text took as long as parsing it
    lines = head.splitlines()[:51]
    if len(head) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # it may be cut short
    lines = [line for line in lines[:50] if line.strip()]
    best, best_score, best_width = ",", (0.0, 0), 1
    for sep in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=sep)]
        except csv.Error:  # e.g. a quoted field over the csv module's 128 KB limit: not this delimiter
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) / len(widths), mode)
        if mode > 1 and score > best_score:
            best, best_score, best_width = sep, score, max(widths)
    return best, best_width


def _check_shape(text: str, width: int, name: str) -> None:
    """DataError when the file is wider than RNNLAB_MAX_COLUMNS or holds more values than
    RNNLAB_MAX_CELLS, judged from its first lines and its line count, before anything is parsed."""
    limit = max_columns()
    if width > limit:
        raise DataError(f"{name} has {width:,} columns; RNN Lab reads at most {limit:,} (RNNLAB_MAX_COLUMNS). Save "
                        "the date column and the columns you want to use in a new file, or raise the limit with "
                        "the RNNLAB_MAX_COLUMNS variable")
    rows = text.count("\n") + (not text.endswith("\n")) - 1  # counted without parsing: quoted line breaks count too
    limit = max_cells()
    if rows * width > limit:
        raise DataError(f"{name} holds about {rows:,} rows x {width:,} columns = {rows * width:,} values; RNN Lab "
                        f"reads at most {limit:,} (RNNLAB_MAX_CELLS). Keep only the columns and dates you need, or "
                        "raise the limit with the RNNLAB_MAX_CELLS variable")


def _date_column(frame: pd.DataFrame, wanted: str | None, name: str) -> str:
    if wanted:
        if wanted not in frame.columns:
            raise DateColumnError(f"{name} has no column {wanted!r} for the dates; its columns are "
                                  f"{', '.join(frame.columns)}", list(frame.columns))
        return wanted
    exact = [c for c in frame.columns if c.lower().replace(" ", "_") in DATE_NAMES]
    partial = [c for c in frame.columns if "date" in c.lower() and c not in exact]
    for column in exact + partial:  # by name, if the column really holds dates
        if _mostly_dates(frame[column], allow_years=True):
            return column
    for column in frame.columns:  # by content: the first column that mostly reads as dates (not 4-digit numbers)
        if column not in exact + partial and _mostly_dates(frame[column], allow_years=False):
            return column
    if exact + partial:
        return (exact + partial)[0]  # its own error says what it holds
    raise DateColumnError(f"{name} has no date column (looked for date, Date, trade_date, 日期, 时间, ... and for "
                          f"dates inside the columns {', '.join(frame.columns)}). Pick the date column (data.date_column in a "
                          "spec)", list(frame.columns))


def _mostly_dates(values: pd.Series, allow_years: bool) -> bool:
    try:
        dates, _ = _parse_dates(values.head(50), allow_years)
    except MixedDatesError:  # dates in several layouts (reading the column says so), unless most are plain
        text = values.head(50).dropna().astype(str).str.strip()  # numbers: volumes 1234 and 12345678
        dated = _layouts(text).notna()
        if not allow_years:
            dated &= ~text.str.fullmatch(r"\d+(\.0+)?")
        return bool(dated.mean() > 0.5)
    return bool(dates.notna().mean() > 0.9)


def _parse_dates(values: pd.Series, allow_years: bool = True) -> tuple[pd.Series, str]:
    """Dates from text or numbers, trying common formats whole-column first; (dates, note).

    Times keep their local wall-clock time: an offset such as +08:00 is dropped, not converted,
    so a daily bar dated 2020-01-02 in Shanghai stays on 2020-01-02. A column that mixes numeric
    layouts (2015-01-31 and 31.01.2015), or day-first and month-first dates, raises
    MixedDatesError: read together, some of its dates would come out silently wrong.
    """
    text = values.astype(str).str.strip().str.replace(r"^(\d{4}|\d{8})\.0+$", r"\1", regex=True)
    # No lookbehind: pyarrow's regex engine has none, and the Python fallback took 40% of reading 1 M rows.
    text = text.str.replace(r"(\d)(?:Z|[+-]\d{2}:?\d{2})$", r"\1", regex=True).str.replace("T", " ", regex=False)
    text = text.where(~values.isna(), None)
    sample = text.dropna().head(200)
    if sample.empty:
        return pd.Series(pd.NaT, index=values.index), ""
    years = allow_years and bool(sample.str.fullmatch(r"\d{4}").all())
    fits = (fmt for fmt in DATE_FORMATS if (fmt != "%Y" or years)
            and pd.to_datetime(sample, format=fmt, errors="coerce").notna().all())
    first = next(fits, None)
    if first:
        return _one_format(text, sample, first, fits)
    if not allow_years and sample.str.fullmatch(r"[-+]?\d+(\.\d+)?").all():
        return pd.Series(pd.NaT, index=values.index), ""  # plain numbers are not dates
    return _mixed_formats(text)


def _one_format(text: pd.Series, sample: pd.Series, fmt: str, others) -> tuple[pd.Series, str]:
    """Parse with `fmt`, the first format that fits the sample, or with one of `others` that also
    fit it when that reads more of the whole column (03/04/2015 in the sample, 13/04/2015 further
    down). Rows it cannot read that hold a date in another layout, or in the other day/month
    order, make the column mixed: MixedDatesError."""
    dates = pd.to_datetime(text, format=fmt, errors="coerce")
    failed = dates.isna() & text.notna()
    for other in others if failed.any() else ():
        retry = pd.to_datetime(text, format=other, errors="coerce")
        if (retry.isna() & text.notna()).sum() < failed.sum():
            fmt, dates, failed = other, retry, retry.isna() & text.notna()
    if failed.any() and _layouts(text[failed]).notna().any():  # dates it could not read: a look at them all
        _refuse_mixed(text.dropna())
    note = ""
    if fmt in ("%m/%d/%Y", "%d/%m/%Y") and _ambiguous_dmy(sample):
        note = ("Dates like 03/04/2020 are read month first." if fmt == "%m/%d/%Y" else
                f"Dates like {sample.iloc[0]} are read day first, as later rows show (e.g. "
                f"{_first_unambiguous(text)}).")
    elif fmt == "%d,%m,%Y" and _ambiguous_dmy(sample):  # 01,02,2015: a European export, day first
        later = _first_unambiguous(text)
        first = dates[text.notna()].iloc[0]
        note = (f"Dates like {sample.iloc[0]} are read day first ({first.day} {first:%B %Y}), "
                + (f"as later rows show (e.g. {later})." if later else
                   "as files that write dates with commas usually mean; no date in the file has a day over 12 to "
                   "confirm it. Check the dates, or save them as 2015-02-01."))
    return dates, note


def _mixed_formats(text: pd.Series) -> tuple[pd.Series, str]:
    """Dates in a layout no single format covers (month names, fractional seconds, a stray word):
    pandas reads each value on its own, which is safe only while the numeric dates share one
    layout and one day/month order."""
    present = text.dropna()
    keys = _refuse_mixed(present)
    dayfirst, note = False, ""
    layouts = set(keys.dropna())
    if len(layouts) == 1 and layouts <= set(ORDERLESS):  # 03/04/2015: which is the day?
        numeric = present[keys.notna()]
        day, month = _order_evidence(numeric)
        dayfirst = bool(day.any()) or (not month.any() and next(iter(layouts))[2] in ".,")  # 03.04.2015: day first
        if not (day.any() or month.any()):
            note = f"Dates like {numeric.iloc[0].split(' ')[0]} are read {'day' if dayfirst else 'month'} first."
    try:  # anything else pandas can read; it reads 01,02,2015 as 1 January, so as 01.02.2015
        dates = pd.to_datetime(text.str.replace(r"^(\d{1,2}),(\d{1,2}),(\d{2,4})\b", r"\1.\2.\3", regex=True),
                               errors="coerce", format="mixed", dayfirst=dayfirst)
    except (TypeError, ValueError, OverflowError):
        dates = pd.Series(pd.NaT, index=text.index)
    return dates, note


def _ambiguous_dmy(sample: pd.Series) -> bool:
    parts = sample.str.extract(r"^(\d{1,2})[/,](\d{1,2})[/,]")
    return bool(parts.notna().all(axis=None) and (parts.astype(int) <= 12).all(axis=None))


def _first_unambiguous(text: pd.Series) -> str:
    """The first value whose day cannot be a month (13/04/2015), for a note."""
    day, _ = _order_evidence(text.dropna())
    return str(text.dropna()[day].iloc[0]) if day.any() else ""


# Numeric date layouts, most specific first: a regex for the date part (group "sep" is the
# separator) and its name. "??" marks the day and month, when the layout does not say which is which.
LAYOUTS = (
    (r"\d{4}(?P<sep>[-/.])\d{1,2}(?P=sep)\d{1,2}", "YYYY{0}MM{0}DD"),
    (r"\d{4}年\d{1,2}月\d{1,2}日", "YYYY年MM月DD日"),
    (r"\d{8}", "YYYYMMDD"),
    (r"\d{1,2}(?P<sep>[-/.,])\d{1,2}(?P=sep)\d{4}", "??{0}??{0}YYYY"),
    (r"\d{1,2}(?P<sep>[-/.,])\d{1,2}(?P=sep)\d{2}", "??{0}??{0}YY"),
    (r"\d{4}(?P<sep>[-/.])\d{1,2}", "YYYY{0}MM"),
    (r"\d{4}", "YYYY"),
)
ORDERLESS = tuple(key.format(sep) for _, key in LAYOUTS if key.startswith("??") for sep in "-/.,")
TIME = r"(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?)?"


def _layouts(text: pd.Series) -> pd.Series:
    """Each value's numeric date layout ("YYYY-MM-DD", "??/??/YYYY", ...), with or without a time;
    None for anything else (month names, words, numbers that are no date)."""
    keys = pd.Series(None, index=text.index, dtype=object)
    for pattern, key in LAYOUTS:
        todo = keys.isna()
        if not todo.any():
            break
        found = text[todo].astype(str).str.extract(f"^(?P<date>{pattern}){TIME}$")
        hit = found["date"].notna()
        seps = found["sep"][hit] if "sep" in found else pd.Series("", index=hit[hit].index)
        keys[seps.index] = [key.format(sep) for sep in seps]
    return keys


def _order_evidence(numeric: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(day first, month first): values whose first or second number is over 12 (13/04, 04/13)."""
    parts = numeric.str.extract(r"^(\d{1,2})\D(\d{1,2})\D").astype(float)
    return (parts[0] > 12) & (parts[1] <= 12), (parts[1] > 12) & (parts[0] <= 12)


def _refuse_mixed(values: pd.Series) -> pd.Series:
    """The layout of each value (see `_layouts`); MixedDatesError when the values use more than one
    numeric layout, or one layout with the day first in some rows and the month first in others."""
    keys = _layouts(values)
    layouts = set(keys.dropna())
    day, month = _order_evidence(values.where(keys.isin(ORDERLESS), ""))
    if len(layouts) > 1 or (day.any() and month.any()):
        raise MixedDatesError(values, keys)
    return keys


def _layout_name(key: str, day_first: bool, month_first: bool) -> str:
    """A layout as people write it: "??/??/YYYY" is DD/MM/YYYY, MM/DD/YYYY, or either."""
    if not key.startswith("??"):
        return key
    dmy, mdy = key.replace("??", "DD", 1).replace("??", "MM"), key.replace("??", "MM", 1).replace("??", "DD")
    if day_first != month_first:
        return dmy if day_first else mdy
    return f"{dmy} and {mdy}" if day_first else f"{dmy} or {mdy}"


class MixedDatesError(DataError):
    """A date column whose values use several layouts or day/month orders; `describe` names the
    layouts with example rows. `values` and `keys` hold the dates looked at and their layouts."""

    def __init__(self, values: pd.Series, keys: pd.Series, name: str = "the file", column: str = "date",
                 row_of=lambda label: label + 2):
        keep = _examples(values, keys)  # not a whole column: the error may be kept in the session
        self.values, self.keys = values[keep], keys[keep]
        super().__init__(self.describe(name, column, row_of))

    def describe(self, name: str, column: str, row_of) -> str:
        """What is mixed, with rows as `row_of(index label)` numbers them, and what to do."""
        values, keys = self.values, self.keys
        day, month = _order_evidence(values.where(keys.isin(ORDERLESS), ""))

        def rows(picked: pd.Series) -> str:
            picked = picked.drop_duplicates()
            return ", ".join(f"row {row_of(label)} {value!r}" for label, value in picked.head(2).items())

        groups = []
        for key in dict.fromkeys(keys[keys.notna()]):  # in order of first appearance
            members = values[keys == key]
            label = _layout_name(key, day[members.index].any(), month[members.index].any())
            groups.append(f"{label} ({rows(members)})")
        if len(groups) > 1:
            what = f"the dates in {column!r} of {name} are written in {len(groups)} formats: {'; '.join(groups)}"
        else:
            what = (f"the dates in {column!r} of {name} put the day first in some rows ({rows(values[day])}) and "
                    f"the month first in others ({rows(values[month])})")
        return f"{what}. {_why_refused(values, keys, row_of)}. Save all the dates in one format, e.g. 2015-01-31, " \
               "and load the file again"


def _examples(values: pd.Series, keys: pd.Series, each: int = 20) -> pd.Series:
    """Which values a message can draw its examples from: the first few of each layout and of each
    day/month order."""
    day, month = _order_evidence(values.where(keys.isin(ORDERLESS), ""))
    keep = pd.Series(False, index=values.index)
    for picked in [keys == key for key in keys.dropna().unique()] + [day, month]:
        keep[picked[picked].index[:each]] = True
    return keep


def _why_refused(values: pd.Series, keys: pd.Series, row_of) -> str:
    """Why a mixed date column is not read: a date that could be either day/month, when one exists."""
    orderless = values[keys.isin(ORDERLESS)]
    parts = orderless.str.extract(r"^(\d{1,2})\D(\d{1,2})\D").astype(float)
    either = orderless[(parts[0] <= 12) & (parts[1] <= 12) & (parts[0] != parts[1])]
    if either.empty:
        return "A mix like this usually means rows pasted together from different exports, so it is not guessed at"
    a, b = (int(x) for x in re.findall(r"\d+", either.iloc[0])[:2])
    return (f"Read together, some of them would come out wrong without a word: {either.iloc[0].split(' ')[0]!r} "
            f"(row {row_of(either.index[0])}) could be {a} {calendar.month_name[b]} or {b} {calendar.month_name[a]}")


# Evidence for the decimal mark (the whole value must match, after spaces, % and currency signs go):
# a comma is the decimal mark in 1.234,5 (points group thousands), 1.234.567, 0,5, 1,5, 12,3456 and
# 1234,5; a point in the same shapes with the marks swapped. 1,234 and 900.037 are either: one to
# three digits, then one mark and exactly three digits.
COMMA_DECIMAL = r"[-+]?(\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,}|0,\d+|\d+,(\d{1,2}|\d{4,})|\d{4,},\d+)"
POINT_DECIMAL = r"[-+]?(\d{1,3}(,\d{3})+\.\d+|\d{1,3}(,\d{3}){2,}|0\.\d+|\d+\.(\d{1,2}|\d{4,})|\d{4,}\.\d+)"
EITHER_MARK = r"[-+]?[1-9]\d{0,2}[.,]\d{3}"
POINT_GROUPS = r"[-+]?\d{1,3}(\.\d{3})+(,\d*)?"  # 1.234.567,5: the points group thousands
COMMA_GROUPS = r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?"  # 1,234,567.5
# Spaces (also the no-break and thin spaces of 1 234,5), percent and currency signs. Written out, not
# \s: pandas runs a \s pattern through Python's re cell by cell (pyarrow's RE2 differs on \s), which
# took half of reading 500 columns of decimals.
JUNK = "[ \t\r\n\f\v\u00a0\u2009\u202f%$€¥£]"


def _to_numbers(frame: pd.DataFrame, notes: list[str], sep: str) -> None:
    """Turn columns that are mostly numbers into numbers, with one decimal mark for the whole file.

    The mark is decided once from the first values of every column (see `_decimal_marks`): in a file
    that writes 1.000,00, the 900.037 of another column is 900037, not 900.037. Only a file whose
    columns disagree (decimal commas in one, decimal points in another) is read column by column.
    Stray text and infinities become missing values, with a note.
    """
    plain, evidence = {}, {}
    for column in frame.columns:
        try:  # the common case, a plain numeric column: parsed without any pattern matching
            numbers = pd.to_numeric(frame[column]).astype(np.float64)
            if not np.isinf(numbers).any():
                plain[column] = numbers
        except (ValueError, TypeError):
            pass
        evidence[column] = _mark_evidence(frame[column])
    decided: list[str] = []
    marks = _decimal_marks(evidence, sep, decided)
    commas = []
    for column, mark in marks.items():
        if column in plain and (mark != "," or not (evidence[column]["point"] or evidence[column]["either"])):
            frame[column] = plain[column]  # no comma in it, and its points are decimal points
            continue
        raw = frame[column].astype("string").str.strip()
        numbers, bad = _read_numbers(raw, mark, sep)
        if numbers is None:
            continue  # a text column: leave it as text
        frame[column] = numbers
        if mark == "," and evidence[column]["comma"]:
            commas.append(column)
        if bad.any():
            notes.append(f"Column {column!r}: {int(bad.sum())} value{'s' if bad.sum() > 1 else ''} that are not "
                         f"numbers (e.g. {raw[bad].iloc[0]!r}) read as missing.")
    if commas:
        notes.append(f"Decimal commas in {', '.join(map(repr, commas))}.")
    notes.extend(decided)


def _mark_evidence(raw: pd.Series, look: int = 2000) -> dict:
    """How many of a column's first `look` values show a decimal comma, a decimal point, or could be
    either (1,234 and 900.037), with the first such value of each kind for notes.

    The first values only: looking at all of them took 500 columns x 20,000 rows of decimals from
    3.8 to 8.5 CPU-seconds (2,000: 5.1 s). A value further down in the other convention is not
    silently misread: it cannot be read at all, and the "not numbers" note names it."""
    found = {"comma": 0, "point": 0, "either": 0}
    raw = raw.dropna().head(look).astype("string")
    if not raw.str.contains(r"\d[.,]\d", regex=True).fillna(False).any():  # the common integer column: no look
        return found
    values = raw.str.replace(JUNK, "", regex=True)
    for kind, pattern in (("comma", COMMA_DECIMAL), ("point", POINT_DECIMAL), ("either", EITHER_MARK)):
        hit = values.str.fullmatch(pattern).fillna(False)
        found[kind] = int(hit.sum())
        if found[kind]:
            found[f"{kind} example"] = str(raw[hit].iloc[0])
    return found


def _decimal_marks(evidence: dict[str, dict], sep: str, notes: list[str]) -> dict[str, str | None]:
    """Each column's decimal mark: "," or ".", or None where nothing decides it (each value's
    mark then reads as it always did: 1,234 as 1234 in a comma file and as 1.234 otherwise).

    One mark for the whole file when its columns agree; column by column when they do not. Notes
    what was decided for values that could be read either way, and where nothing decided it.
    """
    comma = [c for c, e in evidence.items() if e["comma"] > e["point"]]
    point = [c for c, e in evidence.items() if e["point"] >= e["comma"] and e["point"]]
    either = [c for c, e in evidence.items() if e["either"]]
    if comma and point:  # a file that mixes conventions: each column by its own evidence
        marks = {c: "," if c in comma else "." if c in point else None for c in evidence}
        notes.append(f"Decimal commas in {comma[0]!r} (e.g. {evidence[comma[0]]['comma example']!r}) but decimal "
                     f"points in {point[0]!r} (e.g. {evidence[point[0]]['point example']!r}): each column is read "
                     "with its own decimal mark.")
    else:
        file_mark = "," if comma else "." if point else None
        marks = dict.fromkeys(evidence, file_mark)
        if file_mark:
            proof = (comma or point)[0]
            for column in either:
                if column in comma or column in point:
                    continue
                value = evidence[column]["either example"]
                read = float(_as_decimal(pd.Series([value], dtype="string"), file_mark, sep).iloc[0])
                notes.append(f"Values like {value!r} in {column!r} are read as {read:.15g}: the file writes decimals "
                             f"with a {'comma' if file_mark == ',' else 'point'} (e.g. "
                             f"{evidence[proof][('comma' if file_mark == ',' else 'point') + ' example']!r} in "
                             f"{proof!r}).")
    for column in either:
        if marks[column] is None and (sep != "," or "," in evidence[column]["either example"]):
            value = evidence[column]["either example"]
            mark = "." if "." in value else ","
            as_decimal = float(value.replace(",", "."))
            as_thousands = float(value.replace(",", "").replace(".", ""))
            notes.append(f"Values like {value!r} in {column!r} could be {as_thousands:.15g} (a thousands "
                         f"{'point' if mark == '.' else 'comma'}) or {as_decimal:.15g} (a decimal "
                         f"{'point' if mark == '.' else 'comma'}); nothing in the file says which. They are read as "
                         f"{as_thousands if mark == ',' and sep == ',' else as_decimal:.15g}: check them.")
    return marks


def _as_decimal(raw: pd.Series, mark: str | None, sep: str) -> pd.Series:
    """Values rewritten with a decimal point and no thousands marks, for `mark` (see `_decimal_marks`).

    Thousands marks go only from values grouped as thousands (1.234.567,5), so a value in the
    other convention (1.5 in a decimal-comma column) stays unreadable rather than becoming 15."""
    if mark == ",":
        grouped = raw.str.fullmatch(POINT_GROUPS).fillna(False)
        return raw.where(~grouped, raw.str.replace(".", "", regex=False)).str.replace(",", ".", regex=False)
    if mark == ".":
        grouped = raw.str.fullmatch(COMMA_GROUPS).fillna(False)
        return raw.where(~grouped, raw.str.replace(",", "", regex=False))
    # Nothing decides (only values like 1,234 and 900.037): a comma in a comma file had to be quoted,
    # so it groups thousands; elsewhere it is a decimal comma. A point is a decimal point.
    return raw.str.replace(",", "" if sep == "," else ".", regex=False)


def _read_numbers(raw: pd.Series, mark: str | None, sep: str) -> tuple[pd.Series | None, pd.Series]:
    """(numbers, which present values are not numbers), or (None, _) for a column of text."""
    present = raw.notna() & (raw != "")
    text = raw
    if text.str.contains(JUNK, regex=True).fillna(False).any():
        text = text.str.replace(JUNK, "", regex=True)
    if mark == "," or text.str.contains(",", regex=False).fillna(False).any():  # else nothing to rewrite
        text = _as_decimal(text, mark, sep)
    numbers = pd.to_numeric(text, errors="coerce").astype(np.float64)
    if numbers[present].notna().mean() < 0.8:
        return None, present
    infinite = np.isinf(numbers)
    return numbers.where(~infinite), present & (numbers.isna() | infinite)
