"""The rules an ExperimentSpec must follow: each section's fields, and the rules that tie fields
of several sections together. `CHECKS` runs them in the order faults are reported.

core/spec.py holds the dataclasses and their conversion (JSON, links) and calls `CHECKS` from
`ExperimentSpec.validate`; the checks of one value and the guards against hostile input live in
core/spec_values.py. Every check raises SpecError naming the field and saying what to do.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import typing
from typing import TYPE_CHECKING, Any

from . import cells, sources
from .errors import SpecError
from .spec_values import (_OPTIONS, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEASON, MAX_SEED, MAX_STEPS, _bool, _date,
                          _features_once, _int_at_least, _number_in, _one_of, _options, _params, _show, _split_value,
                          _text)

if TYPE_CHECKING:
    ExperimentSpec = Any  # core/spec.py's, which imports this module

SOURCES = sources.NAMES  # the registered data sources (core/sources/)
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

def _check_text(spec: ExperimentSpec) -> None:
    """Every text field (and each feature) is null or text of at most MAX_TEXT characters without
    control characters: a null byte in a path, or a newline after a ticker, must be refused here,
    not fail deep inside pandas or the OS. (Which fields may be null is checked field by field.)"""
    for section in dataclasses.fields(spec):
        part = getattr(spec, section.name)
        for name in text_fields(type(part)):
            _text(f"{section.name}.{name}", getattr(part, name))
    if isinstance(spec.data.features, list):
        for i, feature in enumerate(spec.data.features):
            _text(f"data.features[{i}]", feature)


def _check_data(spec: ExperimentSpec) -> None:
    """data: a known source with what it needs (a name, a ticker, a path), dates, columns and options."""
    d = spec.data
    _one_of("data.source", d.source, SOURCES)
    for name in ("start", "end"):
        _date(f"data.{name}", getattr(d, name))
    sources.source(d.source).check(d)  # what this source needs: a dataset's name, a symbol, a path
    if d.ticker and not TICKER_PATTERN.fullmatch(d.ticker):
        raise SpecError("data.ticker", f"{_show(d.ticker)} is not a ticker symbol: use letters, digits and "
                                       ". - = ^ (e.g. AAPL, BRK-B, ^GSPC, EURUSD=X, 600519.SS)")
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


CHECKS = (
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




@functools.cache
def text_fields(cls: type) -> tuple[str, ...]:
    """The fields of a section class annotated `str` or `str | None`, read from its annotations."""
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (str, str | None))
