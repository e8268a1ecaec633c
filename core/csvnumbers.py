"""The numbers in a CSV file's text columns: the decimal mark, decided once for the whole file from
the numeric-looking cells of every column (so 900.037 in a file that writes 1.000,00 is 900037),
thousands separators, spaces, percent and currency signs, and stray text. core/csvfile.py calls it.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")


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
