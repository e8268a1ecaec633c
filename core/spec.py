"""ExperimentSpec: the one configuration of an RNN Lab experiment.

Widgets edit it, the command line reads it, export writes it. Nothing else holds configuration.
The JSON form is a public interface: fields are only ever added, never renamed.

    {"data":   {"source": "builtin", "name": "sp500", "ticker": null, "start": null, "end": null,
                "path": null, "date_column": null, "target": "Close", "features": ["Close"],
                "transform": "raw", "missing": "drop", "scaler": "minmax", "interval": "1d",
                "period": null, "params": {}},
     "window": {"length": 60, "horizon": 1, "stride": 1, "forecast_steps": 20},
     "split":  {"val": 0.15, "test": 0.15},
     "model":  {"cell": "LSTM", "units": [64], "dropout": 0.0, "bidirectional": false,
                "mode": "many_to_one", "recurrent_dropout": 0.0, "head_units": 0,
                "task": "regression", "input_dense": 0, "embedding_dim": 0},
     "train":  {"epochs": 20, "batch_size": 64, "optimizer": "adam", "learning_rate": 0.001,
                "seed": 7, "loss": "mse", "early_stopping": null, "reduce_lr": null,
                "clipnorm": null, "momentum": 0.0},
     "evaluate": {"season": null, "moving_average": 5}}

Missing keys take these defaults; unknown keys raise `SpecError` naming them.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError
from .spec_checks import (CELLS, CHECKS, INTERVALS, LOOKAHEAD, LOSSES, MAX_LAYERS, MAX_UNITS,  # noqa: F401
                          MISSING, MODES, OPTIMIZERS, PERIODS, SCALERS, SOURCES, TASKS, TICKER_PATTERN, TRANSFORMS)
from .spec_values import (_OPTIONS, MAX_BATCH_SIZE, MAX_DEPTH, MAX_DIGITS, MAX_EPOCHS, MAX_PATIENCE,  # noqa: F401
                          MAX_SEASON, MAX_SEED, MAX_SPLIT_ROWS, MAX_STEPS, MAX_TEXT, _as_float, _check_values,
                          _keyed_once, _refuse_duplicate_keys, _show)

__all__ = ["ExperimentSpec", "DataSpec", "WindowSpec", "SplitSpec", "ModelSpec", "TrainSpec", "EvaluateSpec",
           "SpecError"]


class _Section:
    """Base of the spec's sections: a whole number given for a float field becomes a float.

    JSON has one kind of number, so `"learning_rate": 1` means 1.0; Keras, though, refuses an int
    learning rate or momentum ("should be float"). Converting here, from the type annotations, covers
    every float field (and the float options of early_stopping/reduce_lr) in one place, whichever way
    the spec is built. `float | int` fields (split.val/test) are left alone: there an int is a row count.
    """

    def __post_init__(self) -> None:
        for name in _float_fields(type(self)):
            setattr(self, name, _as_float(getattr(self, name)))
        for name, rules in _OPTIONS.get(type(self).__name__, {}).items():
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, {k: _as_float(v) if rules.get(k, (None,))[0] is float else v
                                     for k, v in value.items()})


@dataclass
class DataSpec(_Section):
    """Where the series comes from and which columns the network sees.

    Args:
        source: "builtin" (a dataset shipped in an installed package), "synthetic" (a generator),
            "ticker" (Yahoo Finance through yfinance) or "csv".
        name: the built-in dataset's or the generator's name (sources "builtin", "synthetic").
        ticker, start, end: a ticker symbol and an optional ISO date range; start/end also
            trim built-in and CSV data.
        path: a CSV file (source "csv").
        date_column: the CSV's date column; None means "find it".
        target: the column to predict.
        features: the input columns, one network feature each.
        transform: "raw", "log", "pct" (percent change) or "diff" (difference). Inputs change
            row to row; the target is the change from the window's last step, and predictions
            are turned back into original units.
        missing: what to do with missing values in the used columns: "drop" the rows, "ffill"
            (carry the last value forward) or "interpolate" (linear in time).
        scaler: "minmax", "standard" or "none", fitted on the training rows only; or
            "standard-lookahead", a look-ahead leak kept to show one: the validation and test
            periods are each standardised with their own mean and std (see SCALERS).
        interval: the ticker's bar size: "1d", "1wk" or "1mo".
        period: the ticker's history when no start date is given: 1mo ... 10y, ytd or max
            (None means max).
        params: the synthetic generator's parameters, e.g. {"points": 2000, "noise": 0.1}.
    """

    source: str = "builtin"
    name: str | None = "sp500"
    ticker: str | None = None
    start: str | None = None
    end: str | None = None
    path: str | None = None
    date_column: str | None = None
    target: str = "Close"
    features: list[str] = field(default_factory=lambda: ["Close"])
    transform: str = "raw"
    missing: str = "drop"
    scaler: str = "minmax"
    interval: str = "1d"
    period: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class WindowSpec(_Section):
    """`length` past steps predict the value `horizon` steps after the window's last step.

    `horizon` 0 predicts the target at the window's own steps (its last step, or every step in
    many_to_many): labelling a window, or mapping one column to another. Then the target column
    may not be an input (that would hand the model the answer), except in the autoencoder mode,
    which reconstructs its input window by design.

    `stride` keeps every stride-th window (1 keeps them all; `length` makes them not overlap).
    `forecast_steps`: how far a one-step model forecasts past the data, feeding its predictions
    back in (direct and seq2seq models forecast `horizon` steps).
    """

    length: int = 60
    horizon: int = 1
    stride: int = 1
    forecast_steps: int = 20


@dataclass
class SplitSpec(_Section):
    """Chronological split of the target rows.

    A value in (0, 1) is a fraction of the target rows; an integer >= 1 is a count of the last
    target rows. Test is the last segment, validation the one before it.
    """

    val: float | int = 0.15
    test: float | int = 0.15


@dataclass
class ModelSpec(_Section):
    """A stack of 1 to 4 recurrent layers (`units[i]` units in layer i), then a dense head.

    Args:
        mode: the sequence shape. "many_to_one": the window predicts one value, `horizon` steps
            after it. "direct": Dense(horizon) predicts the next `horizon` values at once.
            "many_to_many": every step of the window predicts the value `horizon` steps after
            it (TimeDistributed Dense). "seq2seq": an encoder, RepeatVector(horizon), a decoder
            and TimeDistributed Dense predict the next `horizon` values. "stateful": stateful
            layers carry their state from batch to batch over consecutive, unshuffled windows.
            "autoencoder": an encoder, RepeatVector(length) and a decoder reconstruct the window
            itself (window.horizon 0).
        dropout: Dropout after each recurrent layer.
        recurrent_dropout: dropout on the recurrent connections (rules out cuDNN on a GPU).
        head_units: a hidden Dense(head_units, relu) before the output layer; 0 for none.
        task: "regression" predicts numbers; "classification" predicts a class label (the target
            column holds whole-number labels, e.g. 0/1 or a letter's index): softmax output,
            cross-entropy loss (train.loss "crossentropy") and accuracy.
        input_dense: a Dense(input_dense) projection of every time step before the first
            recurrent layer (the classic "input hidden layer"); 0 for none.
        embedding_dim: an Embedding(vocabulary, embedding_dim) in front: the single input feature
            holds whole-number tokens (e.g. a letter's index); 0 for none.
    """

    cell: str = "LSTM"
    units: list[int] = field(default_factory=lambda: [64])
    dropout: float = 0.0
    bidirectional: bool = False
    mode: str = "many_to_one"
    recurrent_dropout: float = 0.0
    head_units: int = 0
    task: str = "regression"
    input_dense: int = 0
    embedding_dim: int = 0


@dataclass
class TrainSpec(_Section):
    """How the network is fitted: epochs, batch size, optimizer, learning rate, seed, loss, callbacks.

    Args:
        loss: "mse", "mae" or "huber" (regression); "crossentropy" (classification).
        early_stopping: null, or {"patience": 5, "restore_best_weights": true} (watches val_loss).
        reduce_lr: null, or {"factor": 0.5, "patience": 3, "min_lr": 1e-6} (ReduceLROnPlateau).
        clipnorm: null, or the largest gradient norm (gradient clipping).
        momentum: SGD's momentum (ignored by the other optimizers).
    """

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 0.001
    seed: int = 7
    loss: str = "mse"
    early_stopping: dict[str, Any] | None = None
    reduce_lr: dict[str, Any] | None = None
    clipnorm: float | None = None
    momentum: float = 0.0


@dataclass
class EvaluateSpec(_Section):
    """How the baselines are set up (see core/evaluate.py).

    Args:
        season: the seasonal naive baseline's season in steps (e.g. 5 for a business week of
            daily data, 24 for hourly data); null detects it from the training rows.
        moving_average: how many of the window's last values the moving-average baseline
            averages (at most the window length is used).
    """

    season: int | None = None
    moving_average: int = 5


@dataclass
class ExperimentSpec:
    data: DataSpec = field(default_factory=DataSpec)
    window: WindowSpec = field(default_factory=WindowSpec)
    split: SplitSpec = field(default_factory=SplitSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    evaluate: EvaluateSpec = field(default_factory=EvaluateSpec)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, raw: Any) -> "ExperimentSpec":
        """Build and validate a spec; missing keys take defaults, unknown keys are an error.

        Values nested too deeply, numbers that are not finite (NaN, Infinity: Python's json reads
        them) or absurdly long, and non-text keys are refused before anything is built from them."""
        _check_values(raw, "", 1)
        spec = _build(cls, raw, "")
        spec.validate()
        return spec

    @classmethod
    def from_checked(cls, raw: dict) -> "ExperimentSpec":
        """The spec from the dict of one validated before (the pool checks a run's spec once, when it is
        queued; the worker, and a cache keyed by a spec's JSON, build it again without checking again)."""
        return _build(cls, raw, "")

    def to_query(self) -> dict[str, str]:
        """URL query parameters for the fields that differ from the defaults: {"model.cell": "GRU",
        "model.units": "[32,16]", ...}. Text fields are written as they are ("" for null), every
        other field as compact JSON."""
        default, out = ExperimentSpec().to_dict(), {}
        for section, fields in self.to_dict().items():
            for name, value in fields.items():
                if value == default[section][name]:
                    continue
                if name in _TEXT_FIELDS.get(section, ()):
                    out[f"{section}.{name}"] = "" if value is None else str(value)
                else:
                    out[f"{section}.{name}"] = json.dumps(value, separators=(",", ":"))
        return out

    @classmethod
    def from_query(cls, params: dict[str, str]) -> "ExperimentSpec":
        """The spec from `to_query` parameters; other parameters (ws, run) are ignored and missing
        fields take the defaults. Raises SpecError naming a bad or unknown field."""
        raw = ExperimentSpec().to_dict()
        for key, text in params.items():
            section, _, name = key.partition(".")
            if section not in raw or not name:
                continue
            if name not in raw[section]:
                raise SpecError(key, f"unknown key in the link; known keys in {section}: {', '.join(raw[section])}")
            if name in _TEXT_FIELDS.get(section, ()):
                raw[section][name] = text or None
                continue
            if not isinstance(text, str) or len(text) > MAX_TEXT:
                size = f"{len(text)} characters" if isinstance(text, str) else type(text).__name__
                raise SpecError(key, f"the value in the link is {size}, not a setting (at most {MAX_TEXT} "
                                     "characters of JSON); copy the link again from the app")
            try:
                raw[section][name] = json.loads(text, object_pairs_hook=_keyed_once)
            except RecursionError:
                raise SpecError(key, "the value in the link is nested too deeply to be a setting; "
                                     "copy the link again from the app") from None
            except ValueError:  # JSONDecodeError, or a number with thousands of digits
                raise SpecError(key, f"{_show(text)} in the link is not a valid value") from None
            _refuse_duplicate_keys(raw[section][name], key, 2)
        return cls.from_dict(raw)

    @classmethod
    def from_json(cls, text: str) -> "ExperimentSpec":
        """The spec from its JSON text. A leading byte-order mark (Windows editors write one) is
        skipped; text that is not JSON, or JSON nested so deeply that the parser gives up, is a
        SpecError that says so rather than a traceback."""
        try:
            raw = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_keyed_once)
        except json.JSONDecodeError as exc:
            raise SpecError("", f"the spec is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except RecursionError:
            raise SpecError("", "the spec is not valid JSON (nested too deeply to read); a spec is an object "
                                "of sections, e.g. {\"train\": {\"epochs\": 20}}") from None
        except ValueError:  # a number with more digits than Python converts (4300)
            raise SpecError("", "the spec is not valid JSON (a number in it has thousands of digits); "
                                "fix the number, e.g. \"seed\": 7") from None
        _refuse_duplicate_keys(raw, "", 1)
        return cls.from_dict(raw)

    def replace(self, **sections: Any) -> "ExperimentSpec":
        """A copy with whole sections or fields changed: `spec.replace(train={"epochs": 2})`."""
        raw = self.to_dict()
        for name, value in sections.items():
            if name not in raw:
                raise SpecError(name, f"unknown section; expected one of {', '.join(raw)}")
            raw[name] = {**raw[name], **value} if isinstance(value, dict) else value
        return ExperimentSpec.from_dict(raw)

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise SpecError naming the first field that cannot work.

        Runs the checks in `CHECKS` (core/spec_checks.py) in order: each section on its own, and between them the
        named rules that tie fields of several sections together. The order decides which fault
        a spec with several is reported by, so it stays fixed.
        """
        for check in CHECKS:
            check(self)


def _build(cls: type, raw: Any, path: str) -> Any:
    """Turn nested dicts into the dataclass tree, rejecting unknown keys."""
    where = path or "spec"
    if not isinstance(raw, dict):
        raise SpecError(path, f"{where} must be a JSON object, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        prefix = f"{path}." if path else ""
        names = ", ".join(prefix + k for k in unknown)
        raise SpecError(
            prefix + unknown[0],
            f"unknown key{'s' if len(unknown) > 1 else ''} {names}; known keys in {where}: {', '.join(fields)}",
        )
    kwargs = {}
    for name, value in raw.items():
        sub = _SECTIONS.get(name) if cls is ExperimentSpec else None
        kwargs[name] = _build(sub, value, name) if sub else value
    return cls(**kwargs)


_SECTIONS = {"data": DataSpec, "window": WindowSpec, "split": SplitSpec, "model": ModelSpec, "train": TrainSpec,
             "evaluate": EvaluateSpec}


def _text_fields() -> dict[str, tuple[str, ...]]:
    """section -> its fields annotated `str` or `str | None`, read from the dataclass annotations
    (sections without one are left out)."""
    out = {}
    for section, cls in _SECTIONS.items():
        hints = typing.get_type_hints(cls)
        names = tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (str, str | None))
        if names:
            out[section] = names
    return out


_TEXT_FIELDS = _text_fields()
"""Fields that hold text (or null): in a link they are written as they are, never as JSON."""


@functools.cache
def _float_fields(cls: type) -> tuple[str, ...]:
    """The fields annotated `float` or `float | None`, read from the dataclass annotations."""
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (float, float | None))

