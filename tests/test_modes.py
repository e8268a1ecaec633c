"""Every mode and cell end to end on tiny data: shapes, dates, forecasts, stateful batches, early stopping."""
import numpy as np
import pandas as pd
import pytest

from core import data, forecast, runs, windows
from core.data import DataError
from core.training import FINISHED, TrainingJob

from .conftest import tiny_spec

MODES = ["many_to_one", "direct", "many_to_many", "seq2seq", "stateful"]


def mode_spec(mode, cell="LSTM", **train):
    horizon = 3 if mode in ("direct", "seq2seq") else 1
    return tiny_spec(model={"mode": mode, "cell": cell, "units": [4]}, window={"horizon": horizon, "forecast_steps": 4},
                     train={"epochs": 1, "batch_size": 16, **train})


# Every mode once, each with another cell; seq2seq with all three, since its decoder takes the
# encoder's states and their number differs by cell (one for SimpleRNN and GRU, two for LSTM). The
# other modes read one output of the layer, the same for every cell (the replay tests of
# test_gates.py cover each cell's maths). Was the full 5 x 3 grid: 8 trainings fewer, same reach.
MODE_CELLS = [("many_to_one", "SimpleRNN"), ("direct", "GRU"), ("many_to_many", "LSTM"), ("stateful", "GRU"),
              ("seq2seq", "SimpleRNN"), ("seq2seq", "LSTM"), ("seq2seq", "GRU")]


def test_the_mode_cell_pairs_cover_every_mode_and_cell():
    assert {m for m, _ in MODE_CELLS} == set(MODES) and {c for _, c in MODE_CELLS} == {"SimpleRNN", "LSTM", "GRU"}


@pytest.mark.parametrize("mode, cell", MODE_CELLS)
def test_every_mode_and_cell_trains_and_lines_predictions_up_with_dates(mode, cell, run_store):
    spec = mode_spec(mode, cell)
    frame = data.load(spec.data)
    w = windows.make(frame, spec)
    job = TrainingJob(spec, w, run_dir=run_store / "r")
    snap = job.run()
    assert snap.status == FINISHED, snap.message
    for split in ("val", "test"):
        assert snap.predictions[split].shape == w.truth[split].shape
        # The truth on each row is the target column on that row's date: predictions line up with dates.
        np.testing.assert_allclose(w.truth[split], frame["Close"].reindex(w.dates[split]).to_numpy())
        assert 1500 < float(np.median(snap.predictions[split])) < 4000  # original units
    saved = pd.read_csv(run_store / "r" / "predictions.csv", parse_dates=["date"])
    assert (saved["date"].iloc[-1] == w.dates["test"][-1]) and len(saved) == sum(len(w.truth[s]) for s in ("val", "test"))
    assert snap.forecast is not None and len(snap.forecast) == forecast.steps(spec)
    assert snap.forecast["date"].iloc[0] > frame.index[-1]
    assert list(snap.by_step["step"]) == list(range(1, forecast.steps(spec) + 1))


def test_direct_targets_are_the_next_horizon_values():
    spec = tiny_spec(model={"mode": "direct"}, window={"length": 5, "horizon": 3}, data={"scaler": "none"})
    frame = pd.DataFrame({"Close": np.arange(60.0)}, index=pd.date_range("2020-01-01", periods=60, name="date"))
    w = windows.make(frame, spec)
    last = w.X["train"][:, -1, 0]
    np.testing.assert_array_equal(w.y["train"], last[:, None] + np.array([1, 2, 3]))
    np.testing.assert_array_equal(w.truth_steps("test"), w.inverse_steps(w.y["test"], "test"))


def test_many_to_many_targets_every_step_of_the_window():
    spec = tiny_spec(model={"mode": "many_to_many"}, window={"length": 5, "horizon": 2}, data={"scaler": "none"})
    frame = pd.DataFrame({"Close": np.arange(60.0)}, index=pd.date_range("2020-01-01", periods=60, name="date"))
    w = windows.make(frame, spec)
    assert w.y["train"].shape[1:] == (5, 1)
    np.testing.assert_array_equal(w.y["train"][:, :, 0], w.X["train"][:, :, 0] + 2)


def test_stateful_windows_come_in_whole_batches_and_a_batch_too_big_is_refused():
    w = windows.make(data.load(mode_spec("stateful").data), mode_spec("stateful"))
    assert all(n % 16 == 0 for n in w.counts().values())
    assert (np.diff(np.concatenate([w.starts[s] for s in windows.SPLITS])) == 1).sum() > 0.9 * sum(w.counts().values())
    spec = mode_spec("stateful", batch_size=64)
    with pytest.raises(DataError, match="fixed batches of 64.*Lower the batch size to at most"):
        windows.make(data.load(spec.data), spec)


def test_stateful_training_keeps_window_order():
    spec = mode_spec("stateful", epochs=2)
    w = windows.make(data.load(spec.data), spec)
    job = TrainingJob(spec, w)
    snap = job.run()
    assert snap.status == FINISHED and len(snap.history["loss"]) == 2


def test_recursive_forecast_needs_a_one_step_univariate_model():
    assert forecast.kind(tiny_spec())[0] == "recursive"
    assert forecast.kind(tiny_spec(window={"horizon": 3}))[0] is None
    assert "only input" in forecast.kind(tiny_spec(data={"features": ["Close", "Open"]}))[1]
    assert forecast.kind(tiny_spec(model={"mode": "seq2seq"}, window={"horizon": 3}))[0] == "direct"


def test_recursive_errors_pile_up_with_the_step():
    spec = tiny_spec(window={"forecast_steps": 10}, train={"epochs": 3})
    w = windows.make(data.load(spec.data), spec)
    snap = TrainingJob(spec, w).run()
    table = snap.by_step
    assert table["rmse"].iloc[-1] > table["rmse"].iloc[0]  # errors feed back in
    assert table["naive_rmse"].iloc[-1] > table["naive_rmse"].iloc[0]  # and the future is further away


def test_business_day_series_forecast_on_business_days():
    index = pd.bdate_range("2020-01-01", periods=40)
    dates = forecast.future_dates(index, 3)
    assert all(d.dayofweek < 5 for d in dates) and dates[0] > index[-1]


def test_early_stopping_stops_and_says_so():
    spec = tiny_spec(train={"epochs": 30, "learning_rate": 0.05, "early_stopping": {"patience": 1}})
    snap = TrainingJob(spec, windows.make(data.load(spec.data), spec)).run()
    assert snap.status == FINISHED and snap.epoch < 30
    assert snap.message.startswith(f"stopped early at epoch {snap.epoch} of 30: val_loss did not improve for 1")


def test_reduce_lr_lowers_the_learning_rate():
    spec = tiny_spec(train={"epochs": 6, "learning_rate": 0.05, "reduce_lr": {"factor": 0.5, "patience": 1,
                                                                                "min_lr": 0.001}})
    job = TrainingJob(spec, windows.make(data.load(spec.data), spec))
    job.run()
    assert float(job.model.optimizer.learning_rate) < 0.05


def test_forecast_and_steps_are_saved_and_read_back(run_store):
    spec = mode_spec("direct")
    job = TrainingJob(spec, windows.make(data.load(spec.data), spec), run_dir=run_store / "r")
    job.run()
    _, snap, _ = runs.read_run(run_store / "r")
    assert len(snap.forecast) == 3 and list(snap.by_step["step"]) == [1, 2, 3]


def test_same_seed_same_history_for_a_seq2seq_with_dropout():
    spec = tiny_spec(model={"mode": "seq2seq", "units": [4], "dropout": 0.2, "recurrent_dropout": 0.1},
                     window={"horizon": 3}, train={"epochs": 2})
    w = windows.make(data.load(spec.data), spec)
    first, second = TrainingJob(spec, w).run(), TrainingJob(spec, w).run()
    assert first.history == second.history and first.history["loss"]
