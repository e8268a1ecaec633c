"""The schema of a run directory's files, and reading them without trusting them.

A run directory is not always what a worker wrote: a bundle someone uploaded, a disk that filled up
half way, a hand edit. Every reader of core/runs.py passes what it parsed through here:

- `metrics`, `run_info`, `history`, `predictions`, `forecast` return the content with every value
  of the wrong type read as missing (None or NaN, or the key left out, so the reader's default
  applies) and a list of problems, one line each naming the file and the field: "metrics.json:
  test.rmse is 'abc', not a number or null". Pages then never meet a string where they compute
  with a number, and a damaged run still lists, opens and deletes.
- core/runs.import_bundle refuses a bundle with any problem, naming the first.

Unknown keys and columns pass as they are: the run directory grows by adding files and fields.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

# metrics.json (core/evaluate.py writes it; NaN is written as null)
SCORE_TABLES = ("test", "val")  # {"rmse": number or null, ...}
BASELINE_TABLES = ("baselines", "val_baselines")  # {"naive": {"rmse": number or null, ...}, ...}
REQUIRED_TABLES = ("test", "baselines")  # the pages read these in every run (and val_baselines with val)
METRIC_INTS = ("lag", "naive_lag", "season")
METRIC_NUMBERS = ("up_share",)
METRIC_TEXTS = ("season_how", "naive_name", "task")
METRIC_BOOLS = ("lag_clear",)
BY_STEP_INTS = ("step", "windows")

# run.json (and live.json, which load() reads in its place while a run trains)
INFO_TEXTS = ("run_id", "status", "message", "saved_at", "started_at")
INFO_OPTIONAL_TEXTS = ("workspace", "imported")
INFO_COUNTS = ("epoch", "epochs", "batch", "batches", "queue_position", "queue_length", "predictions_epoch")
INFO_SECONDS = ("elapsed_seconds", "eta_seconds")

HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "accuracy", "val_accuracy")
PREDICTION_REQUIRED = ("date", "split", "truth", "prediction", "naive")
PREDICTION_NUMBERS = ("truth", "prediction", "naive", "window_error")
PREDICTION_PREFIXES = ("p_", "lower_", "upper_")
SPLITS = ("val", "test")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _shown(value) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Check:
    """Collects the problems of one file while its content is cleaned."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[str] = []

    def bad(self, field: str, value, wanted: str) -> None:
        self.problems.append(f"{self.file}: {field} is {_shown(value)}, not {wanted}")

    def missing(self, field: str, wanted: str) -> None:
        self.problems.append(f"{self.file} has no {field} ({wanted})")

    def number(self, value, field: str):
        """A number, or None (null, or anything else, which is a problem)."""
        if value is None or _number(value):
            return value
        self.bad(field, value, "a number or null")
        return None

    def scores(self, value, field: str) -> dict | None:
        """{"rmse": number or null, ...}; None when it is not an object at all."""
        if not isinstance(value, dict):
            self.bad(field, value, "an object of numbers")
            return None
        return {str(k): self.number(v, f"{field}.{k}") for k, v in value.items()}

    def tables(self, value, field: str) -> dict | None:
        """{"naive": {"rmse": ...}, ...}: baselines by name."""
        if not isinstance(value, dict):
            self.bad(field, value, "an object of baselines")
            return None
        out = {str(k): self.scores(v, f"{field}.{k}") for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}


def metrics(raw) -> tuple[dict | None, list[str]]:
    """metrics.json's content with every number checked; None when it lacks what the pages read
    (the test scores and persistence's, and the same for validation when there are validation scores)."""
    check = _Check("metrics.json")
    if not isinstance(raw, dict):
        check.bad("the file", raw, "a JSON object")
        return None, check.problems
    out = dict(raw)
    for key in SCORE_TABLES:
        if key in raw:
            out[key] = check.scores(raw[key], key)
    for key in BASELINE_TABLES:
        if key in raw:
            out[key] = check.tables(raw[key], key)
    for key in METRIC_INTS:
        if key in raw and raw[key] is not None and not (isinstance(raw[key], int) and not isinstance(raw[key], bool)):
            check.bad(key, raw[key], "a whole number or null")
            out[key] = None
    for key in METRIC_NUMBERS:
        if key in raw:
            out[key] = check.number(raw[key], key)
    for key in METRIC_TEXTS:
        if key in raw and not isinstance(raw[key], str):
            check.bad(key, raw[key], "text")
            del out[key]
    for key in METRIC_BOOLS:
        if key in raw and not isinstance(raw[key], bool):
            check.bad(key, raw[key], "true or false")
            del out[key]
    for key in ("lag_correlations", "intervals"):
        if key in raw:
            value = check.scores(raw[key], key) if key == "lag_correlations" else check.tables(raw[key], key)
            if value is None:
                del out[key]
            else:
                out[key] = value
    if "statistical" in raw:
        if not (isinstance(raw["statistical"], dict) and all(isinstance(v, str) for v in raw["statistical"].values())):
            check.bad("statistical", raw["statistical"], "an object of model names")
            del out["statistical"]
    if "test_by_step" in raw and not _by_step_ok(raw["test_by_step"], check):
        del out["test_by_step"]
    _classes(raw, out, check)
    main = "accuracy" if out.get("task") == "classification" else "rmse"  # what the pages compare runs by
    for key in (*REQUIRED_TABLES, *(("val", "val_baselines") if "val" in out else ())):
        tables = {key: out.get(key)} if key in SCORE_TABLES else {f"{key}.{k}": v for k, v in (out.get(key) or {}).items()}
        if not isinstance(out.get(key), dict) or (key in BASELINE_TABLES and "naive" not in out[key]):
            check.missing(key if key in SCORE_TABLES else f"{key}.naive", "the scores every run has")
            return None, check.problems
        for name, table in tables.items():
            if main not in table:
                check.missing(f"{name}.{main}", "the score every run has")
                return None, check.problems
    return out, check.problems


def _by_step_ok(rows, check: _Check) -> bool:
    """test_by_step: [{"step": int, "rmse": number or null, ..., "windows": int}, ...]."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        check.bad("test_by_step", rows, "a list of objects")
        return False
    before = len(check.problems)
    for i, row in enumerate(rows):
        for key, value in row.items():
            field = f"test_by_step[{i}].{key}"
            if key in BY_STEP_INTS:
                if not _count(value):
                    check.bad(field, value, "a whole number")
            else:
                check.number(value, field)
        for key in (*BY_STEP_INTS, "rmse", "naive_rmse"):
            if key not in row:
                check.missing(f"test_by_step[{i}].{key}", "each step's error")
    return len(check.problems) == before


def _classes(raw: dict, out: dict, check: _Check) -> None:
    """A classifier's "classes" (names) and "confusion" (a square table of counts, one row per class)."""
    classes = raw.get("classes")
    if "classes" in raw and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        check.bad("classes", classes, "a list of class names")
        del out["classes"]
        classes = None
    if "confusion" in raw:
        table = raw["confusion"]
        n = len(classes) if isinstance(classes, list) else -1
        if not (isinstance(table, list) and len(table) == n
                and all(isinstance(r, list) and len(r) == n and all(_count(v) for v in r) for r in table)):
            check.bad("confusion", table, "a square table of counts, one row per class")
            del out["confusion"]


def run_info(raw, file: str = "run.json") -> tuple[dict, list[str]]:
    """run.json (or live.json) with each known field of its type; a field that is not is left out,
    so the reader's default applies (an epoch count from history.csv, no elapsed time, ...)."""
    check = _Check(file)
    if raw is None:
        return {}, [f"{file} cannot be read as JSON"]
    if not isinstance(raw, dict):
        check.bad("the file", raw, "a JSON object")
        return {}, check.problems
    out = dict(raw)
    for key in (*INFO_TEXTS, *INFO_OPTIONAL_TEXTS):
        if key in raw and not isinstance(raw[key], str) and not (key in INFO_OPTIONAL_TEXTS and raw[key] is None):
            check.bad(key, raw[key], "text")
            del out[key]
    for key in INFO_COUNTS:
        if key in raw and not _count(raw[key]):
            check.bad(key, raw[key], "a whole number of 0 or more")
            del out[key]
    for key in INFO_SECONDS:
        value = raw.get(key)
        if key in raw and value is not None and not (_number(value) and math.isfinite(value) and value >= 0):
            check.bad(key, value, "a number of seconds")
            del out[key]
    return out, check.problems


def _numeric(frame: pd.DataFrame, columns, check: _Check) -> pd.DataFrame:
    """`columns` of `frame` as floats; a cell that is there but is not a number becomes NaN, and a problem."""
    for column in columns:
        if column not in frame:
            continue
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].astype(np.float64)  # what a worker writes: nothing to check cell by cell
            continue
        values = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        given = frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        bad = given & values.isna() & ~frame[column].astype(str).str.strip().str.lower().isin(("nan", "inf", "-inf"))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            check.bad(f"column {column!r}, row {row + 2}", frame[column].iloc[row], "a number")
        frame[column] = values
    return frame


def history(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """history.csv: epoch and every loss and accuracy column numbers (NaN where they are not)."""
    check = _Check("history.csv")
    return _numeric(frame.copy(), HISTORY_COLUMNS, check), check.problems


def predictions(frame: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """predictions.csv: dates, "val"/"test" splits and numbers; None when a column every run has is missing."""
    check = _Check("predictions.csv")
    missing = [c for c in PREDICTION_REQUIRED if c not in frame]
    if missing:
        check.missing(f"column {missing[0]!r}", "every run's predictions have it")
        return None, check.problems
    frame = frame.copy()
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        check.bad(f"column 'date', row {row + 2}", frame["date"].iloc[row], "a date")
    frame["date"] = dates
    splits = frame["split"].astype(str)
    if not splits.isin(SPLITS).all():
        row = int(np.flatnonzero(~splits.isin(SPLITS).to_numpy())[0])
        check.bad(f"column 'split', row {row + 2}", frame["split"].iloc[row], "val or test")
    frame["split"] = splits
    numbers = [c for c in frame.columns if c in PREDICTION_NUMBERS or str(c).startswith(PREDICTION_PREFIXES)]
    frame = _numeric(frame, numbers, check)
    classes = sum(str(c).startswith("p_") for c in frame.columns)
    return (_labels(frame, classes, check) if classes else frame), check.problems


def _labels(frame: pd.DataFrame, classes: int, check: _Check) -> pd.DataFrame:
    """A classifier's truth, prediction and naive are class indices 0 .. classes - 1 (the charts index
    the class names with them): a row whose truth is not one is left out, another bad index reads as NaN."""
    for column in ("truth", "prediction", "naive"):
        values = frame[column]
        bad = values.notna() & ~((values == values.round()) & (values >= 0) & (values < classes))
        if column == "truth":
            bad |= values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            check.bad(f"column {column!r}, row {row + 2}", values.iloc[row], f"a class index below {classes}")
            frame = frame[~bad] if column == "truth" else frame.assign(**{column: values.where(~bad)})
    return frame.reset_index(drop=True)


def forecast(frame: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """forecast.csv: dates and numbers; None without its date and forecast columns."""
    check = _Check("forecast.csv")
    if "date" not in frame or "forecast" not in frame:
        check.missing("date and forecast columns", "a forecast has both")
        return None, check.problems
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    if frame["date"].isna().any():
        check.bad("column 'date'", "a missing or odd date", "a date")
    numbers = [c for c in frame.columns if c == "forecast" or str(c).startswith(PREDICTION_PREFIXES)]
    return _numeric(frame, numbers, check), check.problems
