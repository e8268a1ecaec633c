import numpy as np
import pandas as pd
import pytest

from core import windows
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
        np.testing.assert_allclose(w.inverse_y(w.y[split]), w.truth[split], atol=1e-4)


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
