"""Hostile values in every spec field: refused with a SpecError that names the field, or trainable.

Every field of every section of ExperimentSpec (read from the dataclasses, so a new field is fuzzed
too) gets wrong types, whole numbers for floats, zero, negatives, huge numbers, NaN/infinity, deep
nesting and control characters. `ExperimentSpec.from_dict` must either raise SpecError or return a
spec; any other exception is a bug. What it accepts must then load, window, score and train: each
accepted spec's seed is set, its callbacks made and its model built and compiled with its optimizer
(where "should be float" and seed errors used to surface), and combinations of the accepted values
are trained for one batch (eagerly: no tracing cost). Data problems (a column that does not exist, a
window longer than the data) may still be a DataError: the command line reports those as exit 2.
The whole file takes about 10 s, most of it importing TensorFlow.
"""
from __future__ import annotations

import copy
import dataclasses

import keras
import pytest

from core import data, evaluate, models, windows
from core.data import DataError
from core.spec import _OPTIONS, ExperimentSpec, SpecError

from .conftest import TINY


def _deep(levels: int) -> list:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


HOSTILE = [4096, 10 ** 30, 2 ** 70, -(2 ** 70), 2 ** 32, 1e300, 1, 0, -1, 1.0, 0.5, -0.5,
           "x", "", "\x00", "a\nb", "\ud800", {"a": 1}, [1], [], {}, None, True, False,
           float("nan"), float("inf"), float("-inf"), _deep(9), _deep(1000)]
"""Huge, int for float, zero, negative, wrong types, control characters, non-finite, deeply nested.
Large values come first: the first value each field accepts goes into the "largest" combination."""

CROSS_FIELD = {("model.embedding_dim", "data.scaler")}
"""(fuzzed field, named field) pairs where the fault is legitimately named on another section's field:
an embedding needs the scaler none, and the message says so on data.scaler."""

OPTION_KEYS = {"data.params": ("points", "noise", "wave"), **{
    f"train.{name}": tuple(rules) for name, rules in _OPTIONS["TrainSpec"].items()}}
"""Object-valued fields: each of these keys is fuzzed inside the object too."""


def _fields() -> list[tuple[str, str, object]]:
    """(section, field, default) for every field of every section, from the dataclasses."""
    out = []
    for section in dataclasses.fields(ExperimentSpec):
        default = section.default_factory()
        out += [(section.name, f.name, getattr(default, f.name)) for f in dataclasses.fields(default)]
    return out


def _cases() -> list[tuple[str, str, object]]:
    """(section, field, value) for every field and hostile value, also inside lists and objects."""
    cases = []
    for section, name, default in _fields():
        values = list(HOSTILE)
        if isinstance(default, list):
            values += [[value] for value in HOSTILE]
        for key in OPTION_KEYS.get(f"{section}.{name}", ()):
            values += [{key: value} for value in HOSTILE]
        cases += [(section, name, value) for value in values]
    return cases


BASE = {**TINY, "window": {"length": 4}}
"""The tiny spec (2018 of the S&P 500, LSTM(4)) with a short window: one eager training step is fast."""


def _raw(section: str, name: str, value: object) -> dict:
    raw = copy.deepcopy(BASE)
    raw.setdefault(section, {})[name] = value
    return raw


def _try(section: str, name: str, value: object) -> ExperimentSpec | None:
    """The spec, or None when it is refused with a SpecError naming the field (or a known partner)."""
    try:
        return ExperimentSpec.from_dict(_raw(section, name, value))
    except SpecError as err:
        fuzzed = f"{section}.{name}"
        assert err.field.startswith(section) or (fuzzed, err.field) in CROSS_FIELD, (fuzzed, value, str(err))
        assert len(str(err)) < 400, str(err)  # a hostile value must not make the message huge
        return None


def test_every_field_refuses_hostile_values_with_a_spec_error_or_accepts_them():
    accepted = [spec for case in _cases() if (spec := _try(*case)) is not None]
    assert accepted, "some hostile values are fine (0 dropout, 1 epoch, ...): the fuzzing is broken"


def test_whole_sections_and_the_spec_itself_refuse_hostile_values():
    for section in dataclasses.fields(ExperimentSpec):
        for value in HOSTILE:
            if value == {}:  # an empty section: all defaults
                assert ExperimentSpec.from_dict({section.name: value}) == ExperimentSpec()
                continue
            with pytest.raises(SpecError) as info:
                ExperimentSpec.from_dict({section.name: value})
            assert info.value.field.startswith(section.name)
    for value in HOSTILE:
        if not isinstance(value, dict):
            with pytest.raises(SpecError):
                ExperimentSpec.from_dict(value)


_FRAMES: dict[str, object] = {}


def _load(spec: data.DataSpec):
    """data.load, once per distinct data section (most cases share the base's data; a built-in
    dataset ignores the generator parameters)."""
    key = repr(dataclasses.replace(spec, params={}) if spec.source == "builtin" else spec)
    if key not in _FRAMES:
        try:
            _FRAMES[key] = data.load(spec)
        except DataError as err:
            _FRAMES[key] = err
    if isinstance(_FRAMES[key], DataError):
        raise _FRAMES[key]
    return _FRAMES[key].copy()


_WINDOWS: dict[str, object] = {}


def _windows(spec: ExperimentSpec):
    """windows.make, once per distinct input to it (the data, window, split and model sections, and
    the batch size, which the stateful mode's windows depend on)."""
    data_key = dataclasses.replace(spec.data, params={}) if spec.data.source == "builtin" else spec.data
    key = repr((data_key, spec.window, spec.split, spec.model, spec.train.batch_size))
    if key not in _WINDOWS:
        try:
            _WINDOWS[key] = windows.make(_load(spec.data), spec)
        except DataError as err:
            _WINDOWS[key] = err
    if isinstance(_WINDOWS[key], DataError):
        raise _WINDOWS[key]
    return _WINDOWS[key]


def _trains(spec: ExperimentSpec, built: set, step: bool = False) -> None:
    """Load, window and score the spec's data, set its seed, make its callbacks and build its model
    (compiled with its optimizer); with `step`, also train it for one batch.

    A DataError is fine (it says what to do, and the command line exits 2 with it); anything else
    raised, or a model, optimizer, seed or callback setting that Keras refuses, fails the test.
    Without `step` a model is built once per distinct setting that reaches the build."""
    try:
        w = _windows(spec)
    except DataError:
        return
    scored = f"{id(w)} {spec.evaluate!r}"
    if scored not in built:  # most cases share the base's windows and scores
        built.add(scored)
        truth = {split: w.truth[split] for split in ("val", "test")}
        evaluate.Evaluator(w, spec.evaluate.season, spec.evaluate.moving_average).report(truth)
    t = spec.train
    keras.utils.set_random_seed(t.seed)
    callbacks = []  # as core/training.py sets them up (there they watch val_loss)
    if t.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="loss", **t.early_stopping))
    if t.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="loss", **t.reduce_lr))
    fit_only = {"seed": 0, "epochs": 1, "early_stopping": None, "reduce_lr": None}  # they do not reach the build
    key = (repr(spec.model), repr(dataclasses.replace(t, **fit_only)), w.input_shape, spec.window.horizon)
    if key in built and not step:
        return
    built.add(key)
    net = models.build(spec.model, t, w.input_shape, spec.window.horizon, len(w.classes or ()), w.vocab)
    if not step:
        return
    net.compile(optimizer=net.optimizer, loss=net.loss, run_eagerly=True)  # the spec's optimizer, untraced
    batch = w.X["train"][: t.batch_size], w.y["train"][: t.batch_size]
    # initial_epoch = epochs - 1: Keras is handed the spec's epochs but runs only the last one
    net.fit(*batch, epochs=t.epochs, initial_epoch=t.epochs - 1, batch_size=t.batch_size, callbacks=callbacks,
            verbose=0)


def _combined(section: str, accepted: dict, pick: int) -> ExperimentSpec:
    """The base spec with, for every field of `section`, its `pick`-th accepted hostile value, as far
    as they combine (a value that makes the combination invalid is left out)."""
    raw = copy.deepcopy(BASE)
    for (part, name), values in accepted.items():
        if part != section:
            continue
        trial = copy.deepcopy(raw)
        trial.setdefault(part, {})[name] = values[pick]
        try:
            ExperimentSpec.from_dict(trial)
        except SpecError:
            continue
        raw = trial
    return ExperimentSpec.from_dict(raw)


def test_every_accepted_value_trains():
    """Every accepted value loads, windows, scores and builds. Training steps cost ~0.3 s each, so
    they run on combinations: per section, the first accepted value of every field (the largest:
    HOSTILE starts with them) together, then the last ones together."""
    built: set = set()
    accepted: dict[tuple[str, str], list] = {}
    for section, name, value in _cases():
        spec = _try(section, name, value)
        if spec is not None:
            _trains(spec, built)
            accepted.setdefault((section, name), []).append(value)
    assert sum(isinstance(key, tuple) for key in built) > 10  # models for accepted values were really built
    for section in ("model", "train"):
        for pick in (0, -1):
            spec = _combined(section, accepted, pick)
            assert spec != ExperimentSpec.from_dict(BASE)
            _trains(spec, built, step=True)


def test_an_integer_learning_rate_momentum_and_clipnorm_train():
    """JSON `"learning_rate": 1` once reached Keras as an int: "should be float" inside training."""
    spec = ExperimentSpec.from_dict({**BASE, "train": {"optimizer": "sgd", "learning_rate": 1, "momentum": 0,
                                                      "clipnorm": 1, "batch_size": 32, "epochs": 1}})
    opt = models.optimizer(spec.train)
    assert float(opt.learning_rate) == 1.0
    built: set = set()
    _trains(spec, built, step=True)
    assert built


def test_every_generator_parameter_refuses_hostile_values_with_a_spec_or_data_error():
    """Huge, non-finite or mistyped generator parameters: a SpecError from the spec or a DataError from
    the generator's own range check, never a crash (the generators are cheap at the sizes accepted)."""
    for name, generator in data.GENERATORS.items():
        for param in generator.params:
            for value in HOSTILE:
                try:
                    spec = ExperimentSpec.from_dict({"data": {"source": "synthetic", "name": name,
                                                              "params": {param.name: value}}})
                except SpecError as err:
                    assert err.field.startswith("data.params"), (name, param.name, value, str(err))
                    continue
                try:
                    frame = data.load(spec.data, require_columns=False)
                except DataError as err:
                    assert param.name in str(err)
                    continue
                assert len(frame) >= 10
