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

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .csvdates import (  # noqa: F401  (csvfile.<name>, as callers use them)
    DATE_FORMATS, DATE_NAMES, DateColumnError, MixedDatesError, _date_column, _parse_dates,
)
from .csvnumbers import DECIMAL_COMMA, _to_numbers  # noqa: F401
from .errors import DataError

DEFAULT_MAX_MB = 50
# Measured on this 2-core machine: 10,000 columns (3.3 MB) took 66 s and +0.9 GB to read, and
# 500 columns x 20,000 rows of short numbers (19 MB) 9 s and +230 MB, so both the width and the
# number of values are bounded before pandas parses anything.
DEFAULT_MAX_COLUMNS = 500
DEFAULT_MAX_CELLS = 10_000_000
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
