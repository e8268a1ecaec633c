"""What one spec may cost before anything is allocated (issue 26, items 3, 6 and 15): duplicate
features and duplicate JSON keys are refused, the windows' bytes are bounded by RNNLAB_MAX_WINDOW_MB
before they are cut, and the model's parameters by RNNLAB_MAX_MODEL_PARAMS before it is built."""
from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from core import data, model_size, windows
from core.data import DataError
from core.presets import PRESETS
from core.spec import ExperimentSpec, SpecError


def _sine_spec(points: int, length: int, **sections) -> ExperimentSpec:
    return ExperimentSpec.from_dict({
        "data": {"source": "synthetic", "name": "sine", "target": "value", "features": ["value"],
                 "params": {"points": points}},
        "window": {"length": length}, **sections})


# -- duplicate features --------------------------------------------------------------------------
def test_a_feature_listed_450_times_is_refused_naming_it():
    raw = ExperimentSpec().to_dict()
    raw["data"]["features"] = ["Close"] * 450 + ["Open", "Open"]
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_dict(raw)
    assert info.value.field == "data.features"
    assert "'Close' (450 times)" in str(info.value) and "'Open' (2 times)" in str(info.value)


def test_a_link_listing_close_450_times_is_refused():
    with pytest.raises(SpecError, match=r"'Close' \(450 times\)"):
        ExperimentSpec.from_query({"data.features": json.dumps(["Close"] * 450)})


def test_a_spec_file_with_20000_duplicate_features_is_refused_quickly():
    text = json.dumps({"data": {"features": ["Close"] * 20_000}})  # the 180 KB spec.json
    with pytest.raises(SpecError, match="20000 times"):
        ExperimentSpec.from_json(text)


# -- duplicate JSON keys -------------------------------------------------------------------------
@pytest.mark.parametrize("text, field", [
    ('{"train": {"epochs": 5, "epochs": 5000}}', "train.epochs"),
    ('{"train": {"epochs": 5}, "train": {"epochs": 6}}', "train"),
    ('{"train": {"reduce_lr": {"factor": 0.5, "factor": 0.9}}}', "train.reduce_lr.factor"),
    ('{"data": {"params": {"points": 10, "points": 2000000}}}', "data.params.points"),
])
def test_duplicate_json_keys_are_refused_naming_the_key(text, field):
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_json(text)
    assert info.value.field == field
    assert "2 times" in str(info.value) and "Give each key once" in str(info.value)


def test_duplicate_keys_inside_a_link_value_are_refused():
    with pytest.raises(SpecError) as info:
        ExperimentSpec.from_query({"train.early_stopping": '{"patience": 1, "patience": 50}'})
    assert info.value.field == "train.early_stopping.patience"


def test_a_spec_without_duplicates_still_reads_and_round_trips():
    spec = ExperimentSpec.from_dict({"train": {"epochs": 3, "early_stopping": {"patience": 2}}})
    assert ExperimentSpec.from_json(spec.to_json()) == spec
    assert type(ExperimentSpec.from_json(spec.to_json()).train.early_stopping) is dict


# -- the windows' bytes ---------------------------------------------------------------------------
def test_window_bytes_are_counted_exactly_for_the_default_spec():
    spec = ExperimentSpec()
    frame = data.load(spec.data)
    w = windows.make(frame, spec)
    made = sum(w.X[s].size * 4 + w.y[s].size * 4 for s in windows.SPLITS)
    assert sum(windows.window_bytes(len(w.index), spec).values()) == made


def test_every_preset_and_the_default_spec_fit_the_window_cap():
    for spec in [ExperimentSpec(), *(p.experiment() for p in PRESETS.values())]:
        windows.make(data.load(spec.data), spec)  # raises over RNNLAB_MAX_WINDOW_MB or the parameter cap


def test_a_sine_whose_windows_exceed_the_cap_is_refused_without_allocating_them():
    """The issue's link: 300,000 points and a 2,000-step window (2.4 GB of windows as float32)."""
    spec = _sine_spec(300_000, 2_000)
    frame = data.load(spec.data)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            windows.make(frame, spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "2,275 MB" in message and "256 MB" in message and "RNNLAB_MAX_WINDOW_MB" in message
    assert "Shorten the window" in message and "raise the stride (to 9 or more)" in message
    assert peak < 40 * 2 ** 20  # the series itself (2.4 MB) and its cleaning; not the windows


def test_two_million_points_and_a_10000_step_window_are_refused_in_every_mode():
    frame = data.load(_sine_spec(2_000_000, 10).data)
    for mode in ("many_to_one", "many_to_many"):
        spec = _sine_spec(2_000_000, 10_000, model={"mode": mode})
        tracemalloc.start()
        try:
            with pytest.raises(DataError, match="RNNLAB_MAX_WINDOW_MB"):
                windows.make(frame, spec)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 200 * 2 ** 20  # the 2M-row series (16 MB) a few times over, not 80 GB of windows


def test_the_window_cap_is_an_environment_variable(monkeypatch):
    spec = _sine_spec(3_000, 20)
    frame = data.load(spec.data)
    windows.make(frame, spec)  # 0.2 MB: under the default
    monkeypatch.setenv("RNNLAB_MAX_WINDOW_MB", "0.1")
    with pytest.raises(DataError, match=r"the limit is 0 MB \(RNNLAB_MAX_WINDOW_MB\)"):
        windows.make(frame, spec)
    monkeypatch.setenv("RNNLAB_MAX_WINDOW_MB", "not a number")
    assert windows.max_window_bytes() == windows.DEFAULT_MAX_WINDOW_MB * 2 ** 20


def test_the_stride_the_message_names_fits():
    spec = _sine_spec(300_000, 2_000)
    frame = data.load(spec.data)
    with pytest.raises(DataError) as info:
        windows.make(frame, spec)
    stride = int(str(info.value).split("raise the stride (to ")[1].split(" ")[0].replace(",", ""))
    fitted = spec.replace(window={"stride": stride})
    assert sum(windows.window_bytes(300_000 - 1, fitted).values()) <= windows.max_window_bytes()


def test_image_windows_count_one_per_image():
    """The digits preset: windows start only where an image starts, so the count is the images'."""
    spec = PRESETS["image-rows"].experiment()
    frame = data.load(spec.data)
    w = windows.make(frame, spec)
    offset = windows._image_offset(windows._clean(frame, spec.data), frame.attrs["image_height"], spec)
    counted = windows.window_bytes(len(w.index), spec, offset)
    assert counted == {s: w.X[s].size * 4 + w.y[s].size * 4 for s in windows.SPLITS}


# -- the model's parameters -----------------------------------------------------------------------
BIG = {"model": {"units": [1024] * 4, "bidirectional": True, "head_units": 1024}}


def test_the_94m_parameter_spec_is_refused_with_its_count_and_the_cap():
    spec = ExperimentSpec.from_dict({**BIG, "data": {"features": ["Open", "High", "Low", "Close", "Volume"]}})
    with pytest.raises(SpecError) as info:
        model_size.check_parameters(spec, (60, 5))
    assert info.value.field == "model.units"
    count = model_size.parameters(spec, (60, 5))
    assert count > 80_000_000
    assert f"{count:,} parameters" in str(info.value) and "20,000,000 (RNNLAB_MAX_MODEL_PARAMS)" in str(info.value)


def test_windows_make_refuses_the_big_model_before_any_keras(monkeypatch):
    spec = ExperimentSpec.from_dict(BIG)
    frame = data.load(spec.data)
    with pytest.raises(SpecError, match="RNNLAB_MAX_MODEL_PARAMS"):
        windows.make(frame, spec)
    monkeypatch.setenv("RNNLAB_MAX_MODEL_PARAMS", "100000000")
    windows.make(frame, spec)  # the operator raised the cap


def test_an_embedding_over_a_huge_token_is_refused_naming_the_embedding():
    """The vocabulary is the token column's largest value + 1: a token of 10**9 would make Keras
    allocate a 10**9 x dim table."""
    index = pd.date_range("2000-01-01", periods=400, freq="D", name="date")
    frame = pd.DataFrame({"token": np.r_[np.arange(399) % 5, 10**9].astype(float)}, index=index)
    spec = ExperimentSpec.from_dict({"data": {"target": "token", "features": ["token"], "scaler": "none"},
                                     "window": {"length": 4}, "model": {"embedding_dim": 8}})
    with pytest.raises(SpecError) as info:
        windows.make(frame, spec)
    assert info.value.field == "model.embedding_dim" and "1,000,000,001 tokens x 8" in str(info.value)


def test_every_preset_fits_the_parameter_cap():
    for preset in PRESETS.values():
        spec = preset.experiment()
        assert model_size.parameters(spec, (spec.window.length, len(spec.data.features)), 100, 64) < 2_000_000
