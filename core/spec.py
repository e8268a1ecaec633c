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
import math
import re
import typing
from collections import Counter
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any

from . import cells

SOURCES = ("builtin", "synthetic", "ticker", "csv")
TRANSFORMS = ("raw", "log", "pct", "diff")
MISSING = ("drop", "ffill", "interpolate")
SCALERS = ("minmax", "standard", "none", "standard-lookahead")
# "standard-lookahead" is a deliberate leak, kept to teach it (the stock-multifeature preset's toggle): the
# validation and test periods are each standardised with their own mean and std, so the model is told the
# level of the future it predicts. Its scores are not honest; the pages say so wherever it is used.
LOOKAHEAD = "standard-lookahead"
INTERVALS = ("1d", "1wk", "1mo")
PERIODS = ("1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max")
TICKER_PATTERN = re.compile(r"[A-Za-z0-9^][A-Za-z0-9.\-=^]{0,19}")  # fullmatch: "AAPL\n" is no symbol
CELLS = cells.NAMES  # the registered cells (core/cells/)
OPTIMIZERS = ("adam", "rmsprop", "sgd")
MODES = ("many_to_one", "direct", "many_to_many", "seq2seq", "stateful", "autoencoder")
LOSSES = ("mse", "mae", "huber", "crossentropy")
TASKS = ("regression", "classification")
MAX_LAYERS = 4
MAX_UNITS = 1024  # per layer: more does not fit a browser session's memory or patience

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


class SpecError(ValueError):
    """A spec that cannot be used. `field` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


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

        Runs the checks in `_CHECKS` in order: each section on its own, and between them the
        named rules that tie fields of several sections together. The order decides which fault
        a spec with several is reported by, so it stays fixed.
        """
        for check in _CHECKS:
            check(self)


def _check_text(spec: ExperimentSpec) -> None:
    """Every text field (and each feature) is null or text of at most MAX_TEXT characters without
    control characters: a null byte in a path, or a newline after a ticker, must be refused here,
    not fail deep inside pandas or the OS. (Which fields may be null is checked field by field.)"""
    for section, names in _TEXT_FIELDS.items():
        part = getattr(spec, section)
        for name in names:
            _text(f"{section}.{name}", getattr(part, name))
    if isinstance(spec.data.features, list):
        for i, feature in enumerate(spec.data.features):
            _text(f"data.features[{i}]", feature)


def _check_data(spec: ExperimentSpec) -> None:
    """data: a known source with what it needs (a name, a ticker, a path), dates, columns and options."""
    d = spec.data
    _one_of("data.source", d.source, SOURCES)
    for name in ("start", "end"):
        _date(f"data.{name}", getattr(d, name))
    if d.source == "builtin" and not d.name:
        raise SpecError("data.name", "pick a built-in dataset, e.g. \"sp500\"")
    if d.source == "synthetic" and not d.name:
        raise SpecError("data.name", "pick a generator, e.g. \"sine\"")
    if d.source == "ticker" and not d.ticker:
        raise SpecError("data.ticker", "give a ticker symbol, e.g. \"AAPL\"")
    if d.ticker and not TICKER_PATTERN.fullmatch(d.ticker):
        raise SpecError("data.ticker", f"{_show(d.ticker)} is not a ticker symbol: use letters, digits and "
                                       ". - = ^ (e.g. AAPL, BRK-B, ^GSPC, EURUSD=X, 600519.SS)")
    if d.source == "csv" and not d.path:
        raise SpecError("data.path", "give the path of the CSV file")
    if not d.target:
        raise SpecError("data.target", "name the column to predict")
    if not isinstance(d.features, list) or not d.features or not all(
        isinstance(f, str) and f for f in d.features
    ):
        raise SpecError("data.features", "list at least one input column, e.g. [\"Close\"]")
    _features_once(d.features)
    _one_of("data.transform", d.transform, TRANSFORMS)
    _one_of("data.missing", d.missing, MISSING)
    _one_of("data.scaler", d.scaler, SCALERS)
    _one_of("data.interval", d.interval, INTERVALS)
    if d.period is not None:
        _one_of("data.period", d.period, PERIODS)
    _params("data.params", d.params)


def _check_window(spec: ExperimentSpec) -> None:
    """window: length, horizon, stride and forecast_steps are whole numbers in range."""
    w = spec.window
    steps = "longer sequences do not train in a session"
    _int_at_least("window.length", w.length, 1, MAX_STEPS, steps)
    _int_at_least("window.horizon", w.horizon, 0, MAX_STEPS, steps)
    _int_at_least("window.stride", w.stride, 1, MAX_STEPS, "at most the longest window")
    _int_at_least("window.forecast_steps", w.forecast_steps, 1, 1000)


def _check_split(spec: ExperimentSpec) -> None:
    """split: val and test are fractions or row counts, and two fractions leave training rows."""
    s = spec.split
    for name in ("val", "test"):
        _split_value(f"split.{name}", getattr(s, name))
    if isinstance(s.val, float) and isinstance(s.test, float) and s.val + s.test >= 1:
        raise SpecError("split", f"val + test = {s.val + s.test:g} leaves no training rows; keep it below 1")


def _check_model_layers(spec: ExperimentSpec) -> None:
    """model, the recurrent stack: cell, 1 to MAX_LAYERS layers of units, dropouts, direction, mode, head."""
    m = spec.model
    _one_of("model.cell", m.cell, CELLS)
    if not isinstance(m.units, list) or not m.units:
        raise SpecError("model.units", "list the units of each stacked layer, e.g. [64]")
    if len(m.units) > MAX_LAYERS:
        raise SpecError("model.units", f"stack 1 to {MAX_LAYERS} layers, got {len(m.units)}")
    for i, u in enumerate(m.units):
        _int_at_least(f"model.units[{i}]", u, 1, MAX_UNITS)
    _number_in("model.dropout", m.dropout, 0.0, 1.0, hi_open=True)
    _bool("model.bidirectional", m.bidirectional)
    _one_of("model.mode", m.mode, MODES)
    _number_in("model.recurrent_dropout", m.recurrent_dropout, 0.0, 1.0, hi_open=True)
    _int_at_least("model.head_units", m.head_units, 0, MAX_UNITS)


def _check_model_inputs(spec: ExperimentSpec) -> None:
    """model, what it reads and predicts: the task, the input projection, the embedding."""
    m = spec.model
    _one_of("model.task", m.task, TASKS)
    _int_at_least("model.input_dense", m.input_dense, 0, MAX_UNITS)
    _int_at_least("model.embedding_dim", m.embedding_dim, 0, MAX_UNITS)


def _check_train(spec: ExperimentSpec) -> None:
    """train: epochs, batch size, optimizer, learning rate, seed, loss, momentum, clipping, callbacks."""
    t = spec.train
    _int_at_least("train.epochs", t.epochs, 1, MAX_EPOCHS, "more would train for days; early_stopping "
                                                            "ends a run once it stops improving")
    _int_at_least("train.batch_size", t.batch_size, 1, MAX_BATCH_SIZE, "a batch past the data's size is "
                                                                       "the whole data anyway")
    _one_of("train.optimizer", t.optimizer, OPTIMIZERS)
    _number_in("train.learning_rate", t.learning_rate, 0.0, 10.0, lo_open=True)
    _int_at_least("train.seed", t.seed, 0, MAX_SEED, "Keras takes seeds below 2**32")
    _one_of("train.loss", t.loss, LOSSES)
    _number_in("train.momentum", t.momentum, 0.0, 1.0, hi_open=True)
    if t.clipnorm is not None:
        _number_in("train.clipnorm", t.clipnorm, 0.0, 1e6, lo_open=True)
    for name, rules in _OPTIONS["TrainSpec"].items():
        _options(f"train.{name}", getattr(t, name), rules)


def _check_evaluate(spec: ExperimentSpec) -> None:
    """evaluate: the season (or null) and the moving average's length, in steps."""
    e = spec.evaluate
    if e.season is not None:
        _int_at_least("evaluate.season", e.season, 1, MAX_SEASON)
    _int_at_least("evaluate.moving_average", e.moving_average, 1, MAX_SEASON)


# -- rules that tie fields of several sections together ---------------------------------------
def _several_steps_need_a_horizon(spec: ExperimentSpec) -> None:
    """seq2seq and direct predict several steps: window.horizon must be 2 or more."""
    m, w = spec.model, spec.window
    if m.mode == "seq2seq" and w.horizon < 2:
        raise SpecError("model.mode", "seq2seq decodes several steps: set window.horizon to 2 or more "
                                      "(with horizon 1, use many_to_one)")
    if m.mode == "direct" and w.horizon < 2:
        raise SpecError("model.mode", "direct predicts several steps at once: set window.horizon to 2 or more "
                                      "(with horizon 1, use many_to_one)")


def _embedding_reads_one_token_column(spec: ExperimentSpec) -> None:
    """An embedding reads one unscaled column of whole-number tokens, and replaces the input projection."""
    m, d = spec.model, spec.data
    if m.embedding_dim and len(d.features) != 1:
        raise SpecError("model.embedding_dim", "an embedding reads one input column of whole-number tokens; "
                                               f"pick one feature (now {len(d.features)}) or set it to 0")
    if m.embedding_dim and d.scaler != "none":
        raise SpecError("data.scaler", "an embedding looks tokens up by their whole-number index: set the "
                                       "scaler to none")
    if m.embedding_dim and m.input_dense:
        raise SpecError("model.input_dense", "use an embedding or an input projection, not both")


def _horizon_zero_labels_the_window(spec: ExperimentSpec) -> None:
    """Horizon 0 predicts the window's own steps: not in modes that predict after the window, not
    with the target as an input (except the autoencoder), and only with transforms not relative to
    the window's last step."""
    m, d, w = spec.model, spec.data, spec.window
    if w.horizon != 0:
        return
    if m.mode in ("direct", "seq2seq", "stateful"):
        raise SpecError("window.horizon", f"{m.mode} predicts steps after the window: set the horizon to 1 "
                                          "or more (horizon 0 labels the window's own steps)")
    if m.mode != "autoencoder" and d.target in d.features:
        raise SpecError("window.horizon", f"horizon 0 predicts {d.target!r} at the window's own steps, but "
                                          f"{d.target!r} is also an input, so the model would read the "
                                          "answer: remove it from the features, or set the horizon to 1")
    if d.transform not in ("raw", "log"):
        raise SpecError("data.transform", f"the {d.transform} transform is relative to the window's last "
                                          "step, which horizon 0 predicts: use raw or log")


def _autoencoder_rebuilds_its_input(spec: ExperimentSpec) -> None:
    """The autoencoder reconstructs its own window: horizon 0, regression, the target among the
    features, one direction."""
    m, d, w = spec.model, spec.data, spec.window
    if m.mode != "autoencoder":
        return
    if w.horizon != 0:
        raise SpecError("window.horizon", "the autoencoder reconstructs its own window: set the horizon to 0")
    if m.task != "regression":
        raise SpecError("model.task", "the autoencoder reconstructs values: use the regression task")
    if d.target not in d.features:
        raise SpecError("data.target", f"the autoencoder rebuilds its input window, so the target ({d.target!r}) "
                                       "must be one of the features")
    if m.bidirectional:
        raise SpecError("model.bidirectional", "the autoencoder here is one-directional: turn off "
                                               "bidirectional")


def _classification_trains_with_crossentropy(spec: ExperimentSpec) -> None:
    """Classification: a one-value or per-step mode, the cross-entropy loss and raw labels; and
    cross-entropy is for classification only."""
    m, d, t = spec.model, spec.data, spec.train
    if m.task == "classification":
        if m.mode in ("direct", "seq2seq", "stateful"):
            raise SpecError("model.mode", f"classification works with many_to_one or many_to_many, not {m.mode}")
        if t.loss != "crossentropy":
            raise SpecError("train.loss", "classification trains with cross-entropy: set train.loss to "
                                          "\"crossentropy\"")
        if d.transform != "raw":
            raise SpecError("data.transform", "classification predicts class labels: use the raw transform")
    elif t.loss == "crossentropy":
        raise SpecError("train.loss", "cross-entropy is the classification loss: use mse, mae or huber for "
                                      "regression, or set model.task to \"classification\"")


def _stateful_runs_forward(spec: ExperimentSpec) -> None:
    """A stateful layer carries its state forward in time, so it cannot be bidirectional."""
    m = spec.model
    if m.mode == "stateful" and m.bidirectional:
        raise SpecError("model.mode", "a stateful layer carries its state forward in time; it cannot also run "
                                      "backwards: turn off bidirectional")


_CHECKS = (
    _check_text,
    _check_data,
    _check_window,
    _check_split,
    _check_model_layers,
    _several_steps_need_a_horizon,  # a rule, checked before the task as it always was
    _check_model_inputs,
    _embedding_reads_one_token_column,
    _horizon_zero_labels_the_window,
    _autoencoder_rebuilds_its_input,
    _classification_trains_with_crossentropy,
    _stateful_runs_forward,
    _check_train,
    _check_evaluate,
)
"""validate's checks, in the order faults are reported: each takes the spec and raises SpecError.
The rules read fields the section checks before them have already accepted."""


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


_OPTIONS = {"TrainSpec": {
    "early_stopping": {"patience": (int, 1, MAX_PATIENCE), "restore_best_weights": (bool,)},
    "reduce_lr": {"factor": (float, 0.0, 1.0), "patience": (int, 1, MAX_PATIENCE), "min_lr": (float, 0.0, 1.0)},
}}
"""The keys of the object-valued options, per section class: key -> (type, lo, hi) or (bool,)."""


@functools.cache
def _float_fields(cls: type) -> tuple[str, ...]:
    """The fields annotated `float` or `float | None`, read from the dataclass annotations."""
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (float, float | None))


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
