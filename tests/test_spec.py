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
    ({"data": {"params": {"points": True}}}, "data.params.points"),
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


# -- hostile and careless input (issue 13) ------------------------------------------------------------

def _field_of(call, *args) -> SpecError:
    with pytest.raises(SpecError) as info:
        call(*args)
    return info.value


def test_a_null_byte_in_a_link_is_refused_naming_the_field():
    err = _field_of(ExperimentSpec.from_query, {"data.source": "csv", "data.path": "\x00"})
    assert err.field == "data.path" and "control character U+0000" in str(err) and "remove it" in str(err)


@pytest.mark.parametrize("depth", [9, 1000, 2000])
def test_a_deeply_nested_link_value_is_refused_naming_the_field(depth):
    err = _field_of(ExperimentSpec.from_query, {"model.units": "[" * depth + "64" + "]" * depth})
    assert err.field == "model.units" and "nested" in str(err)
    err = _field_of(ExperimentSpec.from_query, {"model.units": "[" * 50_000 + "]" * 50_000})
    assert err.field == "model.units" and "100000 characters, not a setting" in str(err)


def test_a_deeply_nested_spec_file_is_refused_naming_the_field():
    nested = json.dumps({"train": {"reduce_lr": {"factor": [[[[[[[[0.5]]]]]]]]}}})
    err = _field_of(ExperimentSpec.from_json, nested)
    assert err.field == "train.reduce_lr" and "more than 8 levels" in str(err)
    assert ExperimentSpec.from_json(json.dumps({"model": {"units": [64, 32]}})).model.units == [64, 32]


def test_json_nested_past_the_parser_is_not_valid_json():
    err = _field_of(ExperimentSpec.from_json, "[" * 100_000 + "]" * 100_000)
    assert err.field == "" and "not valid JSON (nested too deeply" in str(err)


def test_a_number_of_thousands_of_digits_is_not_valid_json():
    err = _field_of(ExperimentSpec.from_json, '{"train": {"seed": ' + "9" * 5000 + "}}")
    assert "not valid JSON" in str(err) and "thousands of digits" in str(err)
    err = _field_of(ExperimentSpec.from_dict, {"train": {"seed": 10 ** 5000}})  # from Python: named, and short
    assert err.field == "train.seed" and len(str(err)) < 200


DATA_TEXT = ["name", "ticker", "start", "end", "path", "date_column", "target", "transform", "missing", "scaler",
             "interval", "period"]


@pytest.mark.parametrize("name", DATA_TEXT)
@pytest.mark.parametrize("bad", ["\x00", "Close\x00", "a\nb", "\t", "\x7f", "\ud800"])
def test_every_data_text_field_refuses_control_characters(name, bad):
    err = _field_of(ExperimentSpec.from_dict, {"data": {name: bad}})
    assert err.field == f"data.{name}" and "control character" in str(err)


@pytest.mark.parametrize("data, field", [
    ({"features": ["Close", "Op\x00en"]}, "data.features[1]"),
    ({"source": "synthetic", "name": "sine", "params": {"wave": "sine\x00"}}, "data.params.wave"),
    ({"source": "synthetic", "name": "sine", "params": {"po\nints": 10}}, "data.params"),
    ({"path": "x" * 5000}, "data.path"),
])
def test_features_and_params_refuse_control_characters_and_huge_text(data, field):
    err = _field_of(ExperimentSpec.from_dict, {"data": data})
    assert err.field == field


@pytest.mark.parametrize("section, name, text", [("model", "cell", "GRU\x00"), ("train", "loss", "mse\n")])
def test_other_text_fields_refuse_control_characters(section, name, text):
    err = _field_of(ExperimentSpec.from_dict, {section: {name: text}})
    assert err.field == f"{section}.{name}" and "control character" in str(err)


def test_a_ticker_with_a_trailing_newline_is_not_a_symbol():
    from core.spec import TICKER_PATTERN

    assert TICKER_PATTERN.fullmatch("AAPL") and not TICKER_PATTERN.fullmatch("AAPL\n")
    err = _field_of(ExperimentSpec.from_dict, {"data": {"source": "ticker", "ticker": "AAPL\n"}})
    assert err.field == "data.ticker"
    err = _field_of(ExperimentSpec.from_query, {"data.source": "ticker", "data.ticker": "AAPL\n"})
    assert err.field == "data.ticker"


def test_whole_numbers_in_float_fields_become_floats():
    spec = ExperimentSpec.from_json(json.dumps({
        "model": {"dropout": 0, "recurrent_dropout": 0},
        "train": {"optimizer": "sgd", "learning_rate": 1, "momentum": 0, "clipnorm": 2,
                  "reduce_lr": {"patience": 2}},
        "split": {"val": 100, "test": 50}}))
    for value in (spec.model.dropout, spec.model.recurrent_dropout, spec.train.learning_rate, spec.train.momentum,
                  spec.train.clipnorm):
        assert type(value) is float
    assert spec.train.learning_rate == 1.0 and spec.train.clipnorm == 2.0
    assert spec.split.val == 100 and type(spec.split.val) is int  # split: an int is a row count, kept as one
    assert ExperimentSpec.from_query({"train.learning_rate": "10"}).train.learning_rate == 10.0
    assert spec.replace(train={"learning_rate": 1}).train.learning_rate == 1.0
    err = _field_of(ExperimentSpec.from_dict, {"train": {"learning_rate": True}})  # a bool is not a number
    assert err.field == "train.learning_rate"


@pytest.mark.parametrize("raw, field, words", [
    ({"train": {"seed": 2 ** 32}}, "train.seed", "from 0 to 4294967295"),
    ({"train": {"seed": -1}}, "train.seed", "from 0 to"),
    ({"train": {"batch_size": 2 ** 70}}, "train.batch_size", "from 1 to 65536"),
    ({"train": {"epochs": 10 ** 12}}, "train.epochs", "from 1 to 10000"),
    ({"window": {"length": 10 ** 9}}, "window.length", "from 1 to 10000"),
    ({"window": {"horizon": 2 ** 70}}, "window.horizon", "from 0 to 10000"),
    ({"window": {"stride": 2 ** 63}}, "window.stride", "from 1 to 10000"),
    ({"split": {"test": 10 ** 12}}, "split.test", "row count from 1 to"),
    ({"evaluate": {"season": 10 ** 30}}, "evaluate.season", "from 1 to 100000"),
    ({"train": {"early_stopping": {"patience": 2 ** 70}}}, "train.early_stopping.patience", "from 1 to 1000"),
    ({"train": {"clipnorm": 1e300}}, "train.clipnorm", "(0, 1e+06]"),
])
def test_values_past_the_documented_bounds_are_refused(raw, field, words):
    err = _field_of(ExperimentSpec.from_dict, raw)
    assert err.field == field and words in str(err), str(err)


def test_the_bounds_themselves_are_accepted():
    spec = ExperimentSpec.from_dict({"train": {"seed": 2 ** 32 - 1, "batch_size": 65536, "epochs": 10_000},
                                     "window": {"length": 10_000, "stride": 10_000}})
    assert spec.train.seed == 2 ** 32 - 1


@pytest.mark.parametrize("text, field", [
    ('{"train": {"learning_rate": NaN}}', "train.learning_rate"),
    ('{"train": {"clipnorm": Infinity}}', "train.clipnorm"),
    ('{"split": {"val": -Infinity}}', "split.val"),
    ('{"model": {"units": [NaN]}}', "model.units[0]"),
    ('{"data": {"source": "synthetic", "name": "sine", "params": {"noise": NaN}}}', "data.params.noise"),
    ('{"train": {"reduce_lr": {"factor": NaN}}}', "train.reduce_lr.factor"),
])
def test_nan_and_infinity_are_refused_naming_the_field(text, field):
    err = _field_of(ExperimentSpec.from_json, text)
    assert err.field == field and "finite" in str(err)


def test_a_byte_order_mark_is_skipped():
    assert ExperimentSpec.from_json('\ufeff{"train": {"epochs": 3}}').train.epochs == 3
