"""Read the CSV files people really have into a date-indexed frame.

Handles UTF-8 (with or without BOM), UTF-16 and GBK/GB18030 text; comma, semicolon, tab and pipe
delimiters; decimal commas; date columns found by name (date, trade_date, 日期, ...) or by content,
in formats such as 2015-12-10, 2015/12/10, 20151210 and 10.12.2015; unnamed index columns; rows
in any order; duplicate dates; stray text in numeric columns. Everything it had to guess or fix
is listed in `frame.attrs["notes"]`; anything it cannot use raises DataError saying what to do.
"""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

DEFAULT_MAX_MB = 50
DATE_NAMES = ("date", "datetime", "time", "timestamp", "trade_date", "tradedate", "day", "month", "year",
              "period", "datum", "fecha", "data", "日期", "时间", "交易日期")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y-%m", "%Y年%m月%d日", "%Y")
DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{12}-")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def max_bytes() -> int:
    """The largest CSV accepted: $RNNLAB_MAX_CSV_MB megabytes (default 50)."""
    try:
        mb = float(os.environ.get("RNNLAB_MAX_CSV_MB", DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(mb * 1024 * 1024)


def check_size(size: int, name: str) -> None:
    limit = max_bytes()
    if size > limit:
        raise DataError(f"{name} is {size / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit. Keep only the "
                        "columns and dates you need, or raise the limit with the RNNLAB_MAX_CSV_MB variable")


def read_path(path: str | Path, date_column: str | None = None) -> pd.DataFrame:
    """Read a CSV file from disk (see `read_bytes`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no file at {path}; check the path in data.path")
    name = UPLOAD_PREFIX.sub("", path.name)  # an upload is stored as <digest>-<its name>
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
    sep, decimal = _dialect(text)
    if sep != ",":
        notes.append(f"Columns are separated by {DELIMITERS[sep]}s" + (", with decimal commas." if decimal == "," else "."))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{name} could not be read as CSV ({str(exc).strip().splitlines()[0]}). Check that every row "
                        "has the same number of columns as the header") from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:") or c == ""]
    if unnamed:
        frame = frame.drop(columns=unnamed)
        notes.append(f"Dropped {len(unnamed)} unnamed column{'s' if len(unnamed) > 1 else ''} (a saved row index).")
    if frame.empty:
        raise DataError(f"{name} has a header ({', '.join(frame.columns[:8])}) but no rows of data. "
                        "Export the file again with its data")
    columns = list(frame.columns)
    column = _date_column(frame, date_column, name)
    dates, how = _parse_dates(frame[column])
    if how:
        notes.append(how)
    bad = int(dates.isna().sum())
    if bad == len(dates):
        raise DataError(f"the column {column!r} in {name} holds no dates that can be read (e.g. "
                        f"{frame[column].iloc[0]!r}). Use dates like 2015-12-10, or pick the date column by hand")
    if bad:
        notes.append(f"Dropped {bad} row{'s' if bad > 1 else ''} whose {column!r} is not a date.")
    frame = frame.drop(columns=[column]).set_index(pd.DatetimeIndex(dates, name="date"))
    frame = frame[frame.index.notna()]
    _to_numbers(frame, notes, decimal)
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


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    head = raw[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{name} is an Excel workbook or a zip archive, not CSV text. Open it in a spreadsheet and "
                        "save it as CSV")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if b"\x00" in head:
        raise DataError(f"{name} is a binary file, not CSV text. Choose a .csv file exported as text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("cp1252", errors="replace"), "cp1252"


def _dialect(text: str) -> tuple[str, str]:
    """(delimiter, decimal mark): the delimiter that splits the first lines most consistently."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for sep in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=sep)]
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) / len(widths), mode)
        if mode > 1 and score > best_score:
            best, best_score = sep, score
    decimal = "."
    if best != ",":
        cells = [c.strip() for row in csv.reader(lines[1:], delimiter=best) for c in row]
        if sum(bool(DECIMAL_COMMA.match(c)) for c in cells) > 0.2 * max(len(cells), 1):
            decimal = ","
    return best, decimal


def _date_column(frame: pd.DataFrame, wanted: str | None, name: str) -> str:
    if wanted:
        if wanted not in frame.columns:
            raise DataError(f"{name} has no column {wanted!r} for the dates; its columns are "
                            f"{', '.join(frame.columns)}")
        return wanted
    by_name = [c for c in frame.columns if c.lower().replace(" ", "_") in DATE_NAMES or "date" in c.lower()]
    if by_name:
        return by_name[0]
    for column in frame.columns:  # by content: the first column that mostly reads as dates
        if not pd.api.types.is_float_dtype(frame[column]):
            dates, _ = _parse_dates(frame[column].head(50))
            if dates.notna().mean() > 0.9:
                return column
    raise DataError(f"{name} has no date column (looked for date, Date, trade_date, 日期, 时间, ... and for "
                    f"dates inside the columns {', '.join(frame.columns)}). Pick the date column by hand "
                    "(data.date_column)")


def _parse_dates(values: pd.Series) -> tuple[pd.Series, str]:
    """Dates from text or numbers, trying common formats whole-column first; (dates, note)."""
    text = values.astype(str).str.strip()
    text = text.where(~values.isna(), None)
    sample = text.dropna().head(200)
    if sample.empty:
        return pd.Series(pd.NaT, index=values.index), ""
    for fmt in DATE_FORMATS:
        if fmt == "%Y" and not sample.str.fullmatch(r"\d{4}(\.0)?").all():
            continue
        parsed = pd.to_datetime(sample.str.replace(r"\.0$", "", regex=True) if fmt == "%Y" else sample,
                                format=fmt, errors="coerce")
        if parsed.notna().all():
            src = text.str.replace(r"\.0$", "", regex=True) if fmt == "%Y" else text
            dates = pd.to_datetime(src, format=fmt, errors="coerce")
            note = "Dates like 03/04/2020 are read month first." if fmt == "%m/%d/%Y" and _ambiguous_dmy(sample) else ""
            return dates, note
    try:  # anything else pandas can read, offsets (+08:00) included; then drop the zone
        dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
    except (TypeError, ValueError, OverflowError):
        dates = pd.Series(pd.NaT, index=values.index)
    return dates, ""


def _ambiguous_dmy(sample: pd.Series) -> bool:
    parts = sample.str.extract(r"^(\d{1,2})/(\d{1,2})/")
    return bool(parts.notna().all(axis=None) and (parts.astype(int) <= 12).all(axis=None))


def _to_numbers(frame: pd.DataFrame, notes: list[str], decimal: str) -> None:
    """Turn columns that are mostly numbers into numbers; the stray text becomes missing."""
    for column in frame.columns:
        try:
            frame[column] = pd.to_numeric(frame[column]) if decimal == "." else frame[column]
            if decimal == ".":
                continue
        except (ValueError, TypeError):
            pass
        text = frame[column].astype("string").str.strip()
        if decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        text = text.str.replace(r"[,\s%$€¥]", "", regex=True)
        numbers = pd.to_numeric(text, errors="coerce")
        present = frame[column].notna() & (text != "")
        if present.sum() and numbers[present].notna().mean() >= 0.8:
            bad = present & numbers.isna()
            frame[column] = numbers.astype(np.float64)
            if bad.any():
                sample = text[bad].iloc[0]
                notes.append(f"Column {column!r}: {int(bad.sum())} value{'s' if bad.sum() > 1 else ''} that are not "
                             f"numbers (e.g. {sample!r}) read as missing.")
