import numpy as np
import pandas as pd
import pytest

from core import data, windows
from core.data import DataError

from .conftest import ramp_frame, tiny_spec


def _spec(length=5, horizon=1, val=0.2, test=0.2, features=("Close",)):
    return tiny_spec(window={"length": length, "horizon": horizon}, split={"val": val, "test": test},
                     data={"features": list(features)})


def test_shapes_are_samples_time_steps_features():
    w = windows.make(ramp_frame(40), _spec(features=("Close", "Volume")))
    assert w.X["train"].shape[1:] == (5, 2) and w.X["train"].dtype == np.float32
    assert w.y["test"].shape[1] == 1
    assert sum(w.counts().values()) == 40 - 5 - 1 + 1
    assert "time steps, 2 features" in w.shape_text()


@pytest.mark.parametrize("horizon", [1, 3])
def test_each_window_predicts_horizon_steps_after_its_end(horizon):
    w = windows.make(ramp_frame(40), _spec(horizon=horizon))
    for split in windows.SPLITS:
        last_inputs = w.x_scaler.inverse_transform(w.X[split][:, -1, :])[:, 0]
        np.testing.assert_allclose(w.truth[split], last_inputs + horizon)
        np.testing.assert_allclose(w.naive[split], last_inputs)
        np.testing.assert_allclose(w.inverse_y(w.y[split], split), w.truth[split], atol=1e-4)


def test_split_is_chronological_by_target_and_targets_never_cross():
    w = windows.make(ramp_frame(40), _spec())
    assert w.dates["train"].max() < w.dates["val"].min() <= w.dates["val"].max() < w.dates["test"].min()
    # The first validation window reads inputs from the training segment: allowed.
    first_val_inputs = w.x_scaler.inverse_transform(w.X["val"][0])[:, 0]
    assert first_val_inputs.min() <= w.truth["train"].max()


def test_fractions_and_counts():
    assert windows.split_counts(100, 0.15, 0.15) == (70, 15, 15)
    assert windows.split_counts(100, 10, 0.3) == (60, 10, 30)
    w = windows.make(ramp_frame(40), _spec(val=4, test=6))
    assert w.counts() == {"train": 25, "val": 4, "test": 6}  # 40 rows - 5 + 1 - 1 = 35 targets


def test_scalers_see_training_rows_only():
    w = windows.make(ramp_frame(40), _spec())
    last_train_row = w.truth["train"].max()  # the ramp's value is its row number
    assert w.train_rows == last_train_row + 1
    assert w.y_scaler.data_max_[0] == last_train_row
    assert w.x_scaler.data_max_[0] == last_train_row
    assert w.y["test"].min() > 1.0  # later, larger values fall outside the training range


def test_rows_with_missing_values_are_dropped():
    frame = ramp_frame(40)
    frame.iloc[3, 0] = np.nan
    w = windows.make(frame, _spec())
    assert sum(w.counts().values()) == 39 - 5


def test_window_longer_than_the_data_says_what_to_do():
    with pytest.raises(DataError, match="Shorten the window"):
        windows.make(ramp_frame(40), _spec(length=60))


def test_split_that_leaves_no_training_rows():
    with pytest.raises(DataError, match="train 0"):
        windows.make(ramp_frame(40), _spec(val=20, test=20))


def test_missing_feature_column():
    with pytest.raises(DataError, match="'Open'"):
        windows.make(ramp_frame(40), _spec(features=("Open",)))


def test_real_default_spec_shapes():
    from core import data
    from core.spec import ExperimentSpec

    spec = ExperimentSpec()
    w = windows.make(data.load(spec.data), spec)
    assert w.input_shape == (60, 1)
    assert w.counts() == {"train": 3479, "val": 746, "test": 746}
    assert isinstance(w.dates["test"], pd.DatetimeIndex)


def _with(frame_rows=40, **data):
    return tiny_spec(window={"length": 5}, split={"val": 0.2, "test": 0.2}, data={"features": ["Close"], **data})


def test_changing_test_values_leaves_scaled_training_arrays_unchanged():
    for scaler in ("minmax", "standard", "none"):
        for transform in ("raw", "log", "diff", "pct"):
            spec = _with(scaler=scaler, transform=transform)
            frame = ramp_frame(60) + 1.0
            before = windows.make(frame, spec)
            frame.iloc[-12:, 0] = np.linspace(1e6, 5e6, 12)  # rows after the last training target
            after = windows.make(frame, spec)
            np.testing.assert_array_equal(before.X["train"], after.X["train"], err_msg=f"{scaler} {transform}")
            np.testing.assert_array_equal(before.y["train"], after.y["train"], err_msg=f"{scaler} {transform}")
            assert not np.array_equal(before.y["test"], after.y["test"])


@pytest.mark.parametrize("transform", ["raw", "log", "diff", "pct"])
@pytest.mark.parametrize("horizon", [1, 4])
def test_transforms_come_back_in_original_units(transform, horizon):
    frame = pd.DataFrame({"Close": np.exp(np.linspace(1, 3, 80)) + np.sin(np.arange(80))},
                         index=pd.date_range("2020-01-01", periods=80, name="date"))
    w = windows.make(frame, tiny_spec(window={"length": 6, "horizon": horizon}, data={"transform": transform}))
    for split in windows.SPLITS:
        np.testing.assert_allclose(w.inverse_y(w.y[split], split), w.truth[split], rtol=1e-4)
        np.testing.assert_allclose(w.truth[split], frame["Close"].reindex(w.dates[split]).to_numpy())


def test_diff_and_pct_targets_are_relative_to_the_last_known_step():
    frame = ramp_frame(40) + 1.0  # Close = row + 1
    diff = windows.make(frame, _with(transform="diff", scaler="none"))
    assert np.allclose(diff.y["train"], 1.0) and np.allclose(diff.X["train"], 1.0)  # the ramp rises 1 a row
    pct = windows.make(frame, _with(transform="pct", scaler="none"))
    np.testing.assert_allclose(pct.y["train"][:, 0], 100 / pct.naive["train"], rtol=1e-5)
    log = windows.make(frame, _with(transform="log", scaler="none"))
    np.testing.assert_allclose(log.y["test"][:, 0], np.log(log.truth["test"]), rtol=1e-6)


def test_log_of_non_positive_values_says_what_to_use():
    with pytest.raises(DataError, match="log transform needs values above 0.*'Close' has 1 value"):
        windows.make(ramp_frame(40), _with(transform="log"))  # the ramp starts at 0
    with pytest.raises(DataError, match="zero.*diff transform"):
        windows.make(ramp_frame(40), _with(transform="pct"))


def test_standard_scaler_centres_training_targets():
    w = windows.make(ramp_frame(60), _with(scaler="standard"))
    assert abs(float(w.y["train"].mean())) < 1e-5 and abs(float(w.y["train"].std()) - 1) < 1e-3


def test_stride_keeps_every_nth_window_ending_at_the_newest():
    full = windows.make(ramp_frame(40), _with())
    w = windows.make(ramp_frame(40), tiny_spec(window={"length": 5, "stride": 3}, split={"val": 0.2, "test": 0.2}))
    assert w.truth["test"][-1] == full.truth["test"][-1] == 39
    every = np.concatenate([w.truth[s] for s in windows.SPLITS])
    assert (np.diff(every) == 3).all() and sum(w.counts().values()) == len(range(34, -1, -3))
    np.testing.assert_array_equal(w.window_dates("test", 0), ramp_frame(40).index[int(w.truth["test"][0]) - 5:
                                                                                  int(w.truth["test"][0])])


@pytest.mark.parametrize("how, windows_left", [("drop", 40 - 3 - 5), ("ffill", 35 - 3), ("interpolate", 35 - 5)])
def test_missing_values_are_dropped_or_filled_and_filled_values_are_never_targets(how, windows_left):
    frame = ramp_frame(40)
    frame.iloc[[10, 11, 20], 0] = np.nan
    w = windows.make(frame, _with(missing=how))
    assert sum(w.counts().values()) == windows_left and w.dropped_rows == (3 if how == "drop" else 0)
    targets = np.concatenate([w.truth[s] for s in windows.SPLITS])
    inputs = np.concatenate([w.x_scaler.inverse_transform(w.X[s].reshape(-1, 1)) for s in windows.SPLITS])[:, 0]
    if how == "ffill":
        assert not {10.0, 11.0, 20.0} & set(targets)
        assert (inputs == 9.0).sum() > 5  # rows 10 and 11 repeat row 9 inside the windows
    if how == "interpolate":
        assert not {10.0, 11.0, 12.0, 20.0, 21.0} & set(targets)  # filled, or its window ends on a filled row
        assert np.isclose(inputs, 10.0).any() and np.isclose(inputs, 11.0).any()  # the ramp comes back as inputs


def test_interpolation_at_the_split_boundary_does_not_leak_validation_values():
    frame = ramp_frame(40)
    spec = _with(missing="interpolate")
    last_train_row = windows.make(frame, _with()).train_rows - 1
    frame.iloc[last_train_row, 0] = np.nan
    before = windows.make(frame, spec)
    frame.iloc[last_train_row + 1, 0] = 1000.0  # a validation-only value next to the gap
    after = windows.make(frame, spec)
    np.testing.assert_array_equal(before.X["train"], after.X["train"])
    np.testing.assert_array_equal(before.y["train"], after.y["train"])


def test_infinities_are_missing_values_and_overflow_is_a_data_error():
    frame = ramp_frame(40)
    frame.iloc[5, 0] = np.inf
    assert sum(windows.make(frame, _with()).counts().values()) == 39 - 5
    frame = ramp_frame(40) + 1.0
    frame.iloc[30, 0] = 1e308
    with pytest.raises(DataError, match="infinite values"):
        windows.make(frame, _with(transform="pct"))


def test_longest_window_is_really_the_longest():
    assert windows.longest_window(13, 1, 1, 0.5, 0.4) == 8  # rounding makes the counts non-monotonic
    windows.make(ramp_frame(13), tiny_spec(window={"length": 8}, split={"val": 0.5, "test": 0.4}))
    with pytest.raises(DataError):
        windows.make(ramp_frame(13), tiny_spec(window={"length": 9}, split={"val": 0.5, "test": 0.4}))


def test_all_missing_target_names_the_column():
    frame = ramp_frame(40)
    frame["Close"] = np.nan
    with pytest.raises(DataError, match="'Close' has no values"):
        windows.make(frame, _with())


def test_series_shorter_than_window_horizon_and_splits():
    with pytest.raises(DataError, match=r"leaves 2 windows.*Shorten the window \(the longest window that fits is 8\)"):
        windows.make(ramp_frame(12), tiny_spec(window={"length": 10, "horizon": 1}))
    windows.make(ramp_frame(12), tiny_spec(window={"length": 8, "horizon": 1}))  # and 8 does fit
    with pytest.raises(DataError, match="no window fits this split"):
        windows.make(ramp_frame(12), tiny_spec(window={"length": 2}, split={"val": 5, "test": 6}))


def test_the_window_key_holds_what_the_windows_depend_on_and_nothing_else():
    """ui/loads.py caches windows by windows.window_key: a spec that differs in the model or training
    shares the windows; one that differs in a field the windows are cut by does not."""
    base = tiny_spec()
    frame = data.load(base.data)
    other_model = base.replace(model={"cell": "GRU", "units": [7]}, train={"epochs": 9, "learning_rate": 0.5})
    assert windows.window_key(other_model) == windows.window_key(base)
    a, b = windows.make(frame, base), windows.make(frame, other_model)
    assert all(np.array_equal(a.X[s], b.X[s]) and np.array_equal(a.y[s], b.y[s]) for s in windows.SPLITS)
    for change in ({"window": {"length": base.window.length + 1}}, {"train": {"batch_size": 7}},
                   {"split": {"test": 0.3}}, {"data": {"scaler": "standard"}}):
        assert windows.window_key(base.replace(**change)) != windows.window_key(base), change
