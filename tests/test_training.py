import json
import threading
import time

import numpy as np
import pytest

from core import data, runs, windows
from core.training import FAILED, FINISHED, STOPPED, TrainingJob

from .conftest import tiny_spec


def _windowed(spec):
    return windows.make(data.load(spec.data), spec)


def _wait(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_job_trains_to_the_end_and_publishes_everything():
    spec = tiny_spec()
    w = _windowed(spec)
    snap = TrainingJob(spec, w).run()
    assert snap.status == FINISHED and snap.message == "finished 2 epochs"
    assert snap.epoch == 2 and len(snap.history["loss"]) == len(snap.history["val_loss"]) == 2
    assert snap.predictions["test"].shape == w.truth["test"].shape
    assert snap.predictions_epoch == 2
    assert set(snap.metrics["test"]) == {"mse", "rmse", "mae", "mape", "smape", "mase", "direction"}
    assert snap.metrics["baselines"]["naive"]["rmse"] > 0
    assert snap.progress == 1.0


def test_predictions_are_in_original_units():
    spec = tiny_spec()
    w = _windowed(spec)
    snap = TrainingJob(spec, w).run()
    # The S&P 500 in 2018 traded between about 2350 and 2950; scaled outputs would be near 0..1.
    assert 1500 < float(np.median(snap.predictions["test"])) < 4000


def test_background_job_history_grows_while_polled_and_stop_halts_it(run_store):
    spec = tiny_spec(train={"epochs": 200})
    job = TrainingJob(spec, _windowed(spec), run_dir=run_store / "r1").start()
    assert _wait(lambda: job.snapshot().epoch >= 2)
    seen = job.snapshot()
    assert seen.running and seen.eta is not None and 0 < seen.progress < 1
    job.stop()
    t0 = time.perf_counter()
    assert _wait(lambda: not job.running, timeout=10)
    stop_seconds = time.perf_counter() - t0
    job.join(10)
    snap = job.snapshot()
    assert snap.status == STOPPED
    assert snap.message == f"stopped at epoch {snap.epoch} of 200"
    assert seen.epoch <= snap.epoch < 200 and len(snap.history["loss"]) == snap.epoch
    assert job.model is not None and snap.predictions is not None  # the partial model is kept
    assert stop_seconds < 5
    assert json.loads((run_store / "r1" / "run.json").read_text())["status"] == STOPPED


def test_same_spec_and_seed_give_the_same_loss_history():
    spec = tiny_spec(train={"epochs": 3})
    w = _windowed(spec)
    first = TrainingJob(spec, w).run().history
    second = TrainingJob(spec, w).run().history
    assert first == second
    other = TrainingJob(spec.replace(train={"seed": 8}), w).run().history
    assert other != first


def test_reproducible_in_background_threads_too():
    spec = tiny_spec()
    w = _windowed(spec)
    job = TrainingJob(spec, w).start()
    job.join(60)
    assert job.snapshot().history == TrainingJob(spec, w).run().history


def test_absurd_learning_rate_stops_with_a_message_and_keeps_good_weights():
    spec = tiny_spec(model={"cell": "SimpleRNN"}, train={"optimizer": "sgd", "learning_rate": 10.0, "epochs": 3})
    job = TrainingJob(spec, _windowed(spec))
    snap = job.run()
    assert snap.status == FAILED
    assert snap.message.startswith("loss became") and "lower the learning rate (now 10) or turn on gradient clipping" in snap.message
    assert all(np.isfinite(weights).all() for weights in job.model.get_weights())
    assert np.isfinite(snap.predictions["test"]).all()
    assert all(np.isfinite(snap.history["loss"]))
    assert all(np.isfinite(v.numpy()).all() for v in job.model.optimizer.variables)  # no NaN moments saved


def test_an_exception_in_training_fails_the_job_with_its_message(monkeypatch):
    from core import models

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(models, "build", broken)
    spec = tiny_spec()
    snap = TrainingJob(spec, _windowed(spec)).run()
    assert snap.status == FAILED and "out of memory" in snap.message


def test_snapshots_are_copies():
    spec = tiny_spec()
    job = TrainingJob(spec, _windowed(spec))
    job.run()
    snap = job.snapshot()
    snap.history["loss"].append(99.0)
    assert len(job.snapshot().history["loss"]) == 2


def test_snapshot_reads_from_another_thread_while_training():
    spec = tiny_spec(train={"epochs": 4})
    job = TrainingJob(spec, _windowed(spec)).start()
    seen, errors = [], []

    def poll():
        try:
            while job.running:
                snap = job.snapshot()
                assert len(snap.history["loss"]) == len(snap.history["val_loss"]) == snap.epoch
                seen.append(snap.epoch)
                time.sleep(0.01)
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    job.join(60)
    poller.join(5)
    assert not errors and seen == sorted(seen) and job.snapshot().epoch == 4
    assert seen and seen[0] < 4  # the poller really watched the run while it trained


def test_a_run_with_a_directory_is_readable_live_from_disk(run_store):
    """While it trains, the run directory holds live.json, history.csv and predictions.csv (each
    replaced whole), and runs.read_run reads it as a live run; a stop file stops it."""
    spec = tiny_spec(data={"start": "2010-01-01"}, train={"epochs": 300, "batch_size": 16})
    job = TrainingJob(spec, _windowed(spec), run_dir=run_store / "live", run_id="live").start()
    assert _wait(lambda: (run_store / "live" / "predictions.csv").is_file())
    _, snap, frame = runs.read_run(run_store / "live")
    assert frame["truth"].notna().all()  # the truth is there before the first prediction
    assert _wait(lambda: runs.read_run(run_store / "live")[1].predictions is not None)
    _, snap, frame = runs.read_run(run_store / "live")
    assert snap.status == "running" and snap.epoch >= 1 and snap.batches > 0 and len(snap.history["loss"]) >= 1
    assert frame["prediction"].notna().any() and snap.predictions is not None
    assert not list((run_store / "live").glob(".*.tmp*"))
    (run_store / "live" / "stop").touch()  # what a page, another server or a person does
    assert _wait(lambda: not job.running, timeout=30)
    job.join(10)
    _, snap, _ = runs.read_run(run_store / "live")
    assert snap.status == STOPPED and not (run_store / "live" / "stop").exists()


def test_run_directory_round_trip(run_store):
    spec = tiny_spec()
    w = _windowed(spec)
    job = TrainingJob(spec, w, run_dir=run_store / "rt")
    final = job.run()
    path = runs.find("rt", run_store)
    assert path == run_store / "rt"
    loaded_spec, snap, frame = runs.read_run(path)
    assert loaded_spec == spec
    assert snap.status == FINISHED and snap.epoch == 2
    assert snap.history["loss"] == pytest.approx(final.history["loss"])
    assert list(frame.columns) == runs.PREDICTION_COLUMNS + ["lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(frame) == len(w.truth["val"]) + len(w.truth["test"])
    assert set(frame["split"]) == {"val", "test"}
    np.testing.assert_allclose(frame.loc[frame.split == "test", "prediction"], final.predictions["test"], rtol=1e-6)
    assert snap.metrics["test"] == pytest.approx(final.metrics["test"])
    assert snap.metrics["baselines"]["naive"] == pytest.approx(final.metrics["baselines"]["naive"], nan_ok=True)
    for name in ("spec.json", "history.csv", "predictions.csv", "metrics.json", "run.json", "model.keras"):
        assert (path / name).is_file(), name


def test_find_rejects_path_like_ids(run_store):
    assert runs.find("../etc", run_store) is None
    assert runs.find("", run_store) is None
    assert runs.find("missing-run", run_store) is None


def test_stop_before_training_starts_still_halts_after_one_batch():
    spec = tiny_spec(train={"epochs": 50, "batch_size": 8})
    job = TrainingJob(spec, _windowed(spec))
    job.stop()  # fit() resets model.stop_training; the job sets it again when training begins
    snap = job.run()
    assert snap.status == STOPPED and snap.message == "stopped at epoch 1 of 50"
    assert len(snap.history["loss"]) == 1  # the cut-short first epoch, with its validation loss


def test_stop_during_the_last_epoch_is_a_stop_not_a_finish():
    spec = tiny_spec(train={"epochs": 1, "batch_size": 8})
    job = TrainingJob(spec, _windowed(spec))
    job.stop()
    snap = job.run()
    assert snap.status == STOPPED and snap.message == "stopped at epoch 1 of 1"


def test_a_failed_save_still_ends_the_job_and_says_so(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    spec = tiny_spec(train={"epochs": 1})
    job = TrainingJob(spec, _windowed(spec), run_dir=blocker / "run")
    snap = job.run()
    assert snap.status == FINISHED and not job.saved
    assert "could not save the run" in snap.message


def test_live_metrics_cover_validation_too():
    spec = tiny_spec()
    w = _windowed(spec)
    snap = TrainingJob(spec, w).run()
    assert {"test", "baselines", "val", "val_baselines", "lag", "lag_correlations"} <= set(snap.metrics)
    from core import evaluate

    scale = evaluate.mase_scale(w)
    assert snap.metrics["val"] == evaluate.metrics(w.truth["val"], snap.predictions["val"], w.naive["val"], scale)


def test_the_eta_leaves_out_the_first_epochs_build_and_trace():
    """The first epoch also builds the model and traces the train function: an ETA from it was 6x too long."""
    spec = tiny_spec(train={"epochs": 10})
    job = TrainingJob(spec, _windowed(spec))
    job._state.status = "running"
    t0 = job._started
    job._state.epoch, job._epoch_ends = 1, [t0 + 8.0]  # epoch 1 took 8 s (build and trace included)
    assert job._eta(job.snapshot(), t0 + 8.0) is None  # one epoch says nothing yet
    job._state.epoch, job._epoch_ends = 3, [t0 + 8.0, t0 + 9.0, t0 + 10.0]  # then 1 s per epoch
    assert job._eta(job.snapshot(), t0 + 10.5) == pytest.approx(7 * 1.0 - 0.5)  # not 10.5 * 7 / 3 = 24.5


def test_a_finished_run_says_where_its_wall_time_went(tmp_path):
    """live.json's timeline (bench/live.py's breakdown): the worker's request, the model built, the first
    batch, the end of fit and the save, as Unix times in that order."""
    import json as _json

    from core import worker

    code = worker.run_request({"run_id": "r1", "run_dir": str(tmp_path / "r1"), "spec": tiny_spec().to_dict(),
                               "workspace": None, "csv_root": None})
    assert code == 0
    timeline = _json.loads((tmp_path / "r1" / "live.json").read_text())["timeline"]
    order = ["request", "job", "fit_begin", "first_batch", "fit_end", "saved"]
    assert list(sorted(order, key=timeline.get)) == order
    assert (tmp_path / "r1" / "run.json").stat().st_mtime >= timeline["fit_end"]
