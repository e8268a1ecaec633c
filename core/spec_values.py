"""Checks of one spec value, and the guards against hostile input (deep nesting, huge numbers,
control characters, keys given twice) that run before a spec is built from raw JSON.

Each raises SpecError naming the field (core/errors.py); core/spec_checks.py builds the section
checks from them and core/spec.py runs the guards on every JSON text and link it reads.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any

from .errors import SpecError

# Upper bounds: a value past them cannot train (Keras refuses it, or it overflows) or would train for
# days, so validation refuses it up front instead of letting training fail later.
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed seeds NumPy, which takes 0 .. 2**32 - 1
MAX_EPOCHS = 10_000  # a default-spec epoch takes ~1 s on 2 CPU cores: 10,000 is already hours; more is a typo
MAX_BATCH_SIZE = 65_536  # 2**16: past the data's size a batch is the whole data anyway; 2**70 overflowed
MAX_STEPS = 10_000  # window.length, horizon and stride: an LSTM unrolled over more steps does not train in a session
MAX_SPLIT_ROWS = 100_000_000  # split.val/test as a row count: more rows than any series the lab can hold
MAX_SEASON = 100_000  # evaluate.season and moving_average, in steps
MAX_PATIENCE = 1_000  # early_stopping/reduce_lr patience, in epochs
MAX_TEXT = 4_096  # characters in one text field: longer than any path (Linux PATH_MAX) or column name
MAX_DEPTH = 8  # lists/objects inside lists/objects, counted from the spec's top level; a real spec uses 3
MAX_DIGITS = 100  # a whole number with more digits is no setting (and Python cannot even print 5000 digits)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Control characters (null byte, newline, tab, ...) and lone surrogates: no path, symbol or column name
holds them, and the OS refuses a path with a null byte."""


_OPTIONS = {"TrainSpec": {
    "early_stopping": {"patience": (int, 1, MAX_PATIENCE), "restore_best_weights": (bool,)},
    "reduce_lr": {"factor": (float, 0.0, 1.0), "patience": (int, 1, MAX_PATIENCE), "min_lr": (float, 0.0, 1.0)},
}}
"""The keys of the object-valued options, per section class: key -> (type, lo, hi) or (bool,)."""


def _as_float(value: Any) -> Any:
    """A whole number as a float (1 -> 1.0); anything else, or an int too large for a float, unchanged
    (validation then refuses it with the field's name)."""
    if not _is_int(value):
        return value
    try:
        return float(value)
    except OverflowError:
        return value


def _show(value: Any, limit: int = 60) -> str:
    """repr(value) for an error message, shortened: a hostile value must not make the message huge."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of thousands of digits; a self-containing list
        text = f"<a {type(value).__name__} too large to show>"
    return text if len(text) <= limit else f"{text[:limit - 5]}...{text[-2:]}"


_LOG10_2 = math.log10(2)  # decimal digits per bit


def _check_values(value: Any, path: str, depth: int) -> None:
    """Refuse what no spec field can hold, before building anything from it: lists/objects nested
    more than MAX_DEPTH deep, NaN or infinite numbers, whole numbers of more than MAX_DIGITS digits
    and object keys that are not text. The error names the field (e.g. model.units)."""
    if isinstance(value, (dict, list)):
        if depth > MAX_DEPTH:
            field = ".".join(re.split(r"[.\[]", path)[:2]) or "spec"
            raise SpecError(field, f"is nested more than {MAX_DEPTH} levels deep; a spec value is a number, text, "
                                   "or a short list or object such as [64, 32]")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                raise SpecError(path or "spec", f"has the key {_show(key)}; keys must be text")
            where = f"{path}[{key}]" if isinstance(value, list) else (f"{path}.{key}" if path else key)
            _check_values(item, where, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise SpecError(path, f"must be a finite number, got {value!r}; NaN and Infinity cannot train")
    elif _is_int(value) and abs(value).bit_length() * _LOG10_2 > MAX_DIGITS:
        raise SpecError(path, f"is a whole number of about {int(abs(value).bit_length() * _LOG10_2)} digits; "
                              "no setting is that large")


class _Duplicated(dict):
    """A JSON object that was given a key more than once; `duplicates`: key -> its values in order."""

    def __init__(self, pairs: list[tuple[str, Any]], repeated: list[str]):
        super().__init__(pairs)
        self.duplicates = {key: [v for k, v in pairs if k == key] for key in repeated}


def _keyed_once(pairs: list[tuple[str, Any]]) -> dict:
    """json's object_pairs_hook: a plain dict, or a `_Duplicated` one when a key comes twice.

    Python's json keeps the last of duplicate keys without a word, so `{"epochs": 5, "epochs": 5000}`
    would train 5000 epochs while the file seems to say 5. `_refuse_duplicate_keys` then refuses
    it with the key's dotted path, which this hook cannot know."""
    repeated = [key for key, n in Counter(key for key, _ in pairs).items() if n > 1]
    return _Duplicated(pairs, repeated) if repeated else dict(pairs)


def _refuse_duplicate_keys(value: Any, path: str, depth: int) -> None:
    """SpecError naming the first key an object of `value` gives more than once, and its values.
    Nesting past MAX_DEPTH is left to _check_values, which refuses it."""
    if depth > MAX_DEPTH + 1:
        return
    if isinstance(value, dict):
        for key, values in getattr(value, "duplicates", {}).items():
            where = f"{path}.{key}" if path else key
            shown = ", ".join(_show(v, 30) for v in values[:3]) + (", ..." if len(values) > 3 else "")
            raise SpecError(where, f"is given {len(values)} times in the same object ({shown}); JSON keeps only "
                                   "the last one, silently. Give each key once")
        for key, item in value.items():
            _refuse_duplicate_keys(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_duplicate_keys(item, f"{path}[{i}]", depth + 1)


def _features_once(features: list[str]) -> None:
    """Each input column once: a repeated column adds no information, but multiplies the windows'
    memory (450 x "Close" in a link kept +760 MB in the server) and the first layer's weights."""
    repeated = [(name, n) for name, n in Counter(features).items() if n > 1]
    if repeated:
        shown = ", ".join(f"{_show(name, 40)} ({n} times)" for name, n in repeated[:5])
        more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
        raise SpecError("data.features", f"lists the same column more than once: {shown}{more}; list each "
                                         "input column once")


def _text(name: str, value: Any) -> None:
    """null, or text of at most MAX_TEXT characters without control characters."""
    if value is None:
        return
    if not isinstance(value, str):
        raise SpecError(name, f"must be text or null, got {_show(value)}")
    if len(value) > MAX_TEXT:
        raise SpecError(name, f"is {len(value)} characters long; text fields hold at most {MAX_TEXT}")
    bad = _CONTROL.search(value)
    if bad:
        raise SpecError(name, f"contains the control character U+{ord(bad.group()):04X} ({_show(value)}); "
                              "remove it (null bytes, newlines and tabs cannot be part of a name, path or symbol)")


def _params(name: str, params: Any) -> None:
    """The generator's parameters: an object of text keys and finite numbers or text values (the
    generator checks names and ranges when it runs)."""
    if not isinstance(params, dict):
        raise SpecError(name, f"must be an object of generator parameters, e.g. {{\"points\": 2000}}, "
                              f"got {_show(params)}")
    for key, value in params.items():
        if not isinstance(key, str):
            raise SpecError(name, f"has the key {_show(key)}; parameter names are text, e.g. \"points\"")
        _text(name, key)
        where = f"{name}.{key}"
        if isinstance(value, str):
            _text(where, value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(where, f"must be a number or text, got {_show(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise SpecError(where, f"must be a finite number, got {value!r}")


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SpecError(name, f"{_show(value)} is not one of {', '.join(allowed)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_at_least(name: str, value: Any, lo: int, hi: int | None = None, why: str = "") -> None:
    """A whole number (not a bool) in lo..hi; `why` says where the upper bound comes from."""
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        limits = f">= {lo}" if hi is None else f"from {lo} to {hi}"
        raise SpecError(name, f"must be a whole number {limits}{f' ({why})' if why else ''}, got {_show(value)}")


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(name, f"must be true or false, got {_show(value)}")


def _number_in(name: str, value: Any, lo: float, hi: float, lo_open=False, hi_open=False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise SpecError(name, f"must be a number in {lb}{lo:g}, {hi:g}{rb}, got {_show(value)}")


def _date(name: str, value: str | None) -> None:
    if not value:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise SpecError(name, f"must be a date like 2015-01-31, got {_show(value)}") from None


def _options(name: str, value: Any, allowed: dict[str, tuple]) -> None:
    """null, or an object whose keys are among `allowed`: key -> (type, lo, hi) or (bool,)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise SpecError(name, f"must be null or an object with keys {', '.join(allowed)}, got {_show(value)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise SpecError(f"{name}.{unknown[0]}", f"unknown key; known keys: {', '.join(allowed)}")
    for key, rule in allowed.items():
        if key not in value:
            continue
        if rule[0] is bool:
            _bool(f"{name}.{key}", value[key])
        elif rule[0] is int:
            _int_at_least(f"{name}.{key}", value[key], rule[1], rule[2])
        else:
            _number_in(f"{name}.{key}", value[key], rule[1], rule[2], lo_open=True, hi_open=True)


def _split_value(name: str, value: Any) -> None:
    if _is_int(value) and 1 <= value <= MAX_SPLIT_ROWS:
        return
    if isinstance(value, float) and 0 < value < 1:
        return
    raise SpecError(name, f"must be a fraction in (0, 1) or a row count from 1 to {MAX_SPLIT_ROWS}, "
                          f"got {_show(value)}")
