import json

import pytest

from core.spec import ExperimentSpec, SpecError

SCHEMA = {
    "data": {"source": "builtin", "name": "sp500", "ticker": None, "start": None, "end": None,
             "path": None, "date_column": None, "target": "Close", "features": ["Close"],
             "transform": "raw", "missing": "drop", "scaler": "minmax", "interval": "1d", "period": None,
             "params": {}},
    "window": {"length": 60, "horizon": 1, "stride": 1, "forecast_steps": 20},
    "split": {"val": 0.15, "test": 0.15},
    "model": {"cell": "LSTM", "units": [64], "dropout": 0.0, "bidirectional": False, "mode": "many_to_one",
              "recurrent_dropout": 0.0, "head_units": 0, "task": "regression", "input_dense": 0, "embedding_dim": 0},
    "train": {"epochs": 20, "batch_size": 64, "optimizer": "adam", "learning_rate": 0.001, "seed": 7,
              "loss": "mse", "early_stopping": None, "reduce_lr": None, "clipnorm": None, "momentum": 0.0},
    "evaluate": {"season": None, "moving_average": 5},
}


def test_defaults_are_the_documented_schema():
    assert ExperimentSpec().to_dict() == SCHEMA
    assert ExperimentSpec.from_dict({}).to_dict() == SCHEMA


def test_json_round_trip_keeps_every_field():
    spec = ExperimentSpec.from_dict({
        "data": {"start": "2010-01-01", "features": ["Close", "Volume"], "transform": "pct", "missing": "ffill",
                 "scaler": "standard", "interval": "1wk", "period": "5y", "params": {"points": 10, "wave": "cosine"}},
        "window": {"length": 30, "horizon": 5, "stride": 2},
        "split": {"val": 100, "test": 0.2}, "model": {"cell": "GRU", "units": [32, 16], "dropout": 0.2,
                                                      "bidirectional": True, "mode": "seq2seq",
                                                      "recurrent_dropout": 0.1, "head_units": 8},
        "train": {"epochs": 3, "optimizer": "sgd", "learning_rate": 0.01, "seed": 1, "loss": "huber",
                  "early_stopping": {"patience": 2, "restore_best_weights": False},
                  "reduce_lr": {"factor": 0.5, "patience": 1, "min_lr": 1e-5}, "clipnorm": 1.0, "momentum": 0.9}})
    again = ExperimentSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(again.to_json())["split"] == {"val": 100, "test": 0.2}


def test_missing_keys_take_defaults():
    spec = ExperimentSpec.from_dict({"model": {"cell": "GRU"}})
    assert spec.model.cell == "GRU" and spec.model.units == [64] and spec.window.length == 60


@pytest.mark.parametrize("raw, field", [
    ({"colour": 1}, "colour"),
    ({"data": {"tickr": "AAPL"}}, "data.tickr"),
    ({"train": {"epochs": 3, "lr": 0.1}}, "train.lr"),
])
def test_unknown_keys_are_named(raw, field):
    with pytest.raises(SpecError) as err:
        ExperimentSpec.from_dict(raw)
    assert err.value.field == field
    assert field in str(err.value)


def test_every_unknown_key_is_listed():
    with pytest.raises(SpecError, match="model.a, model.b"):
        ExperimentSpec.from_dict({"model": {"a": 1, "b": 2}})


@pytest.mark.parametrize("raw, field", [
    ({"data": {"source": "excel"}}, "data.source"),
    ({"data": {"source": "ticker"}}, "data.ticker"),
    ({"data": {"source": "csv"}}, "data.path"),
    ({"data": {"features": []}}, "data.features"),
    ({"window": {"length": 0}}, "window.length"),
    ({"window": {"horizon": 1.5}}, "window.horizon"),
    ({"split": {"val": 0.0}}, "split.val"),
    ({"split": {"test": 1.0}}, "split.test"),
    ({"split": {"test": -3}}, "split.test"),
    ({"split": {"val": 0.5, "test": 0.5}}, "split"),
    ({"model": {"cell": "Transformer"}}, "model.cell"),
    ({"model": {"units": []}}, "model.units"),
    ({"model": {"units": [64, 0]}}, "model.units[1]"),
    ({"model": {"units": [2048]}}, "model.units[0]"),
    ({"model": {"dropout": 1.0}}, "model.dropout"),
    ({"model": {"bidirectional": 1}}, "model.bidirectional"),
    ({"train": {"epochs": True}}, "train.epochs"),
    ({"train": {"optimizer": "adagrad"}}, "train.optimizer"),
    ({"train": {"learning_rate": 0}}, "train.learning_rate"),
    ({"data": 3}, "data"),
    ({"data": {"source": "csv", "path": 5}}, "data.path"),
    ({"data": {"start": ["2018"]}}, "data.start"),
    ({"data": {"end": "yesterday"}}, "data.end"),
    ({"data": {"transform": "sqrt"}}, "data.transform"),
    ({"data": {"missing": "zero"}}, "data.missing"),
    ({"data": {"scaler": "robust"}}, "data.scaler"),
    ({"data": {"interval": "1h"}}, "data.interval"),
    ({"data": {"period": "forever"}}, "data.period"),
    ({"data": {"params": [1, 2]}}, "data.params"),
    ({"data": {"params": {"points": True}}}, "data.params"),
    ({"data": {"source": "synthetic", "name": None}}, "data.name"),
    ({"data": {"source": "ticker", "ticker": "AA PL"}}, "data.ticker"),
    ({"window": {"stride": 0}}, "window.stride"),
    ({"model": {"units": [8, 8, 8, 8, 8]}}, "model.units"),
    ({"model": {"mode": "one_to_many"}}, "model.mode"),
    ({"model": {"mode": "seq2seq"}}, "model.mode"),
    ({"model": {"mode": "direct"}}, "model.mode"),
    ({"model": {"mode": "stateful", "bidirectional": True}}, "model.mode"),
    ({"model": {"recurrent_dropout": 1.0}}, "model.recurrent_dropout"),
    ({"model": {"head_units": -1}}, "model.head_units"),
    ({"train": {"loss": "mape"}}, "train.loss"),
    ({"train": {"momentum": 1.5}}, "train.momentum"),
    ({"train": {"clipnorm": 0}}, "train.clipnorm"),
    ({"train": {"early_stopping": 5}}, "train.early_stopping"),
    ({"train": {"early_stopping": {"patience": 0}}}, "train.early_stopping.patience"),
    ({"train": {"early_stopping": {"wait": 3}}}, "train.early_stopping.wait"),
    ({"train": {"reduce_lr": {"factor": 2.0}}}, "train.reduce_lr.factor"),
])
def test_invalid_values_name_their_field(raw, field):
    with pytest.raises(SpecError) as err:
        ExperimentSpec.from_dict(raw)
    assert err.value.field == field


def test_split_accepts_fractions_and_counts():
    spec = ExperimentSpec.from_dict({"split": {"val": 0.1, "test": 300}})
    assert spec.split.val == 0.1 and spec.split.test == 300


def test_invalid_json_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        ExperimentSpec.from_json("{not json")


def test_replace_merges_and_validates():
    spec = ExperimentSpec().replace(train={"epochs": 2})
    assert spec.train.epochs == 2 and spec.train.batch_size == 64
    with pytest.raises(SpecError):
        ExperimentSpec().replace(train={"epochs": 0})


@pytest.mark.parametrize("evaluate,field", [({"season": 0}, "evaluate.season"),
                                            ({"moving_average": "5"}, "evaluate.moving_average"),
                                            ({"seasons": 5}, "evaluate.seasons")])
def test_evaluate_section_is_checked(evaluate, field):
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_dict({"evaluate": evaluate})
    assert info.value.field == field


EVERY_FIELD = {  # every field set away from its default (text fields include number-like and spaced text)
    "data": {"source": "ticker", "name": None, "ticker": "BRK-B", "start": "2010-01-01", "end": "2020-12-31",
             "path": "cache/uploads/my prices.csv", "date_column": "2020", "target": "1", "features": ["1", "Open"],
             "transform": "pct", "missing": "interpolate", "scaler": "standard", "interval": "1wk", "period": "5y",
             "params": {"points": 10, "wave": "cosine"}},
    "window": {"length": 30, "horizon": 3, "stride": 2, "forecast_steps": 7},
    "split": {"val": 100, "test": 0.2},
    "model": {"cell": "GRU", "units": [32, 16], "dropout": 0.1, "bidirectional": True, "mode": "direct",
              "recurrent_dropout": 0.2, "head_units": 8, "input_dense": 4},
    "train": {"epochs": 3, "batch_size": 16, "optimizer": "sgd", "learning_rate": 0.01, "seed": 1, "loss": "huber",
              "early_stopping": {"patience": 3, "restore_best_weights": False},
              "reduce_lr": {"factor": 0.5, "patience": 2, "min_lr": 1e-05}, "clipnorm": 1.0, "momentum": 0.9},
    "evaluate": {"season": 7, "moving_average": 10},
}


CLASSIFIER = {  # the fields a regression spec cannot change together with the ones above
    "data": {"source": "synthetic", "name": "letters", "target": "letter", "features": ["letter"], "scaler": "none"},
    "window": {"length": 4},
    "model": {"task": "classification", "embedding_dim": 2, "mode": "many_to_many"},
    "train": {"loss": "crossentropy"},
}


def test_query_round_trip_covers_every_field():
    default = ExperimentSpec().to_dict()
    specs = [ExperimentSpec.from_dict(EVERY_FIELD), ExperimentSpec.from_dict(CLASSIFIER)]
    changed = {(s, f) for spec in specs for s in default for f in default[s] if spec.to_dict()[s][f] != default[s][f]}
    assert changed == {(s, f) for s in default for f in default[s]}  # truly every field, across the two
    for spec in specs:
        query = spec.to_query()
        assert all(isinstance(v, str) for v in query.values())
        assert ExperimentSpec.from_query(query) == spec
    spec = specs[0]
    query = spec.to_query()
    assert ExperimentSpec.from_query({**query, "ws": "token", "run": "x"}) == spec  # other parameters are ignored
    assert ExperimentSpec.from_query({}) == ExperimentSpec() and ExperimentSpec().to_query() == {}


def test_bad_link_values_name_the_field():
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_query({"model.units": "[32,"})
    assert info.value.field == "model.units"
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_query({"model.cells": "GRU"})
    assert info.value.field == "model.cells"
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_query({"model.cell": "Transformer"})
    assert info.value.field == "model.cell"


@pytest.mark.parametrize("changes, field, words", [
    ({"model": {"task": "classification"}}, "train.loss", "cross-entropy"),
    ({"train": {"loss": "crossentropy"}}, "train.loss", "classification loss"),
    ({"model": {"task": "classification", "mode": "seq2seq"}, "window": {"horizon": 3},
      "train": {"loss": "crossentropy"}}, "model.mode", "many_to_one or many_to_many"),
    ({"window": {"horizon": 0}}, "window.horizon", "would read the answer"),
    ({"window": {"horizon": 0}, "data": {"features": ["Open"], "transform": "diff"}}, "data.transform", "raw or log"),
    ({"window": {"horizon": 0}, "model": {"mode": "stateful"}}, "window.horizon", "steps after the window"),
    ({"model": {"mode": "autoencoder"}}, "window.horizon", "set the horizon to 0"),
    ({"model": {"embedding_dim": 2}, "data": {"features": ["Open", "Close"]}}, "model.embedding_dim", "one input"),
    ({"model": {"embedding_dim": 2}}, "data.scaler", "none"),
    ({"model": {"embedding_dim": 2, "input_dense": 3}, "data": {"scaler": "none"}}, "model.input_dense", "not both"),
])
def test_task_horizon0_and_input_layers_are_checked(changes, field, words):
    raw = {section: dict(values) for section, values in changes.items()}
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_dict(raw)
    assert info.value.field == field and words in str(info.value)


def test_horizon0_maps_a_column_that_is_not_an_input():
    spec = ExperimentSpec.from_dict({"window": {"horizon": 0}, "data": {"target": "Close", "features": ["Open"]}})
    assert spec.window.horizon == 0
    assert ExperimentSpec.from_dict({"window": {"horizon": 0}, "model": {"mode": "autoencoder"}}).model.mode == \
        "autoencoder"  # the autoencoder reads its target on purpose


def test_the_autoencoder_rebuilds_an_input_column():
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_dict({"window": {"horizon": 0}, "model": {"mode": "autoencoder"},
                                  "data": {"target": "Close", "features": ["Open"]}})
    assert info.value.field == "data.target" and "must be one of the features" in str(info.value)
