"""The date column of a CSV file: found by name or by content, and read in the one layout it uses.

A column that mixes layouts (2015-01-31 next to 31.01.2015 or 01/31/2015) is refused with the lines
that disagree: it could only be read by guessing which dates are day first. core/csvfile.py reads
the file; this decides which column holds the dates and what they are.
"""
from __future__ import annotations

import calendar
import re

import pandas as pd

from .errors import DataError

DATE_NAMES = ("date", "datetime", "time", "timestamp", "trade_date", "tradedate", "day", "month", "year",
              "period", "datum", "fecha", "data", "日期", "时间", "交易日期")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%d,%m,%Y", "%m,%d,%Y", "%Y-%m", "%Y年%m月%d日", "%Y")


class DateColumnError(DataError):
    """No usable date column; `columns` lists the file's columns so a person can pick one."""

    def __init__(self, message: str, columns: list[str]):
        super().__init__(message)
        self.columns = columns


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
