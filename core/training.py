"""TrainingJob: trains one spec and publishes a lock-protected Snapshot, and its live run files.

It runs in a worker process (core/worker.py) for the app, in the command line's own process, or in
a thread where a test wants it fast. With a run directory it keeps the live files current from a
thread of its own (core/publisher.py), so any process can read the run while it trains.
Stop sets a threading.Event and the model's `stop_training` flag, which Keras's fit loop reads
after every batch, so training halts within one batch (plus one validation pass). When the job
ends it saves itself to its run directory, so a browser refresh or a closed tab loses nothing.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from . import evaluate, forecast, intervals, models, runs
from .publisher import Publisher
from .runs import new_run_id  # noqa: F401  (re-exported)
from .snapshot import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, Snapshot  # noqa: F401  (re-exported)
from .spec import ExperimentSpec
from .windows import Windowed

WEIGHT_BUDGET = 16 * 2 ** 20  # bytes of per-epoch weight copies kept for scrubbing the gates through training
LIVE_SPLITS = ("val", "test")


class WeightHistory:
    """Per-epoch copies of a model's weights, thinned to stay within a byte budget.

    Every epoch is kept until the copies pass `budget` bytes; then every other one is dropped
    (the first and the latest always stay) and from then on every 2nd, 4th, ... epoch is kept.
    Whatever the budget, the first and the latest epoch stay, so a single copy larger than the
    budget still leaves two. The arrays are never changed after they are stored. Safe to use
    from several threads.

    Args:
        budget: bytes the copies may take; None reads the module's WEIGHT_BUDGET now.

    Example:
        history = WeightHistory(budget=4 * one_copy_bytes)
        for epoch in range(10):
            history.keep(epoch, model.get_weights())
        list(history.history())  # [0, 4, 8, 9]
    """

    def __init__(self, budget: int | None = None):
        self.budget = WEIGHT_BUDGET if budget is None else budget
        self.every = 1  # keep every N-th epoch's weights; doubles when the budget is reached
        self._kept: OrderedDict[int, list[np.ndarray]] = OrderedDict()  # epoch -> model.get_weights()
        self._lock = threading.Lock()

    def keep(self, epoch: int, weights: list[np.ndarray]) -> None:
        """Store the weights after `epoch` (0: before training) as the latest, then thin to the budget.

        Args:
            epoch: the epoch the weights were taken after; not lower than the latest one kept
                (the latest one again replaces it).
            weights: the model's weight arrays, as `model.get_weights()` returns them.
        """
        with self._lock:
            latest = next(reversed(self._kept), None)
            if latest is not None and latest % self.every and latest != 0:
                del self._kept[latest]  # it was kept only as "the latest"
            self._kept[epoch] = weights
            size = sum(a.nbytes for a in weights)
            while len(self._kept) > 2 and size * len(self._kept) > self.budget:
                self.every *= 2
                for e in [e for e in self._kept if e % self.every and e != epoch]:
                    del self._kept[e]

    def history(self) -> dict[int, list[np.ndarray]]:
        """epoch -> weights, oldest first: a new dict holding the stored arrays."""
        with self._lock:
            return dict(self._kept)

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)


class TrainingJob:
    """One training run of one spec on one Windowed dataset.

    Args:
        spec: the experiment.
        windowed: the arrays to train on (from windows.make).
        run_dir: where to save the run when it ends (None: do not save); started.json is
            written there when training starts.
        prediction_budget: the share of training time that live val/test predictions may take.
            After an epoch, predictions refresh only when the last refresh is at least
            (cost of one prediction / budget) seconds old, so watching costs little throughput.
            The final predictions are always computed.
        on_epoch: called in the training thread with each epoch's Snapshot (the CLI prints it).
    """

    def __init__(self, spec: ExperimentSpec, windowed: Windowed, run_dir: str | Path | None = None,
                 prediction_budget: float = 0.03, on_epoch: Callable[[Snapshot], None] | None = None,
                 run_id: str | None = None, workspace: str | None = None):
        if windowed.mode != spec.model.mode:
            raise ValueError(f"the windows were made for mode {windowed.mode}, the model is {spec.model.mode}")
        self.spec, self.windowed = spec, windowed
        self.run_dir = Path(run_dir) if run_dir else None
        self.prediction_budget = prediction_budget
        self.on_epoch = on_epoch
        self.workspace = workspace  # runs.workspace_id of the session that started it (None: command line)
        self.model = None
        self._lock = threading.RLock()  # re-entrant: SIGTERM's handler calls stop() in the training thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = Snapshot(run_id=run_id or new_run_id(), epochs=spec.train.epochs)
        self._logged = ("loss", "val_loss")
        if windowed.classes:  # cross-entropy also logs accuracy every epoch
            self._logged += ("accuracy", "val_accuracy")
            self._state.history.update(accuracy=[], val_accuracy=[])
        self._started = time.perf_counter()
        self._ended: float | None = None
        self._epoch_ends: list[float] = []  # perf_counter() at the end of each epoch, for the ETA
        self._predict_cost = math.inf  # seconds for one val + test prediction, once traced
        self._last_refresh = -math.inf
        self._live_X: np.ndarray | None = None  # val then test windows, joined once
        self._evaluator: evaluate.Evaluator | None = None
        self._good_weights = None
        self._weights = WeightHistory(WEIGHT_BUDGET)  # read now, so a test may change the budget
        self._diverged = ""  # the message, once the loss is no longer finite
        self.saved = False  # True once the run directory is written
        self.signal: int | None = None  # the signal (SIGTERM, SIGINT) that stopped it, if one did (core/worker.py)
        self.fit_seconds: float | None = None  # model build + fit, without the final predictions and forecast
        self.parameters: int | None = None  # the model's parameter count, once built
        # Unix times of the run's stages, written into live.json when it ends (`timeline`): request
        # (the worker read it), job, fit_begin (model built), first_batch, fit_end, saved.
        self.timeline: dict[str, float] = {"job": time.time()}

    # -- control -------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self._state.run_id

    def start(self) -> "TrainingJob":
        """Train in a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self.run, name=f"train-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to halt after the current batch.

        Keras's fit loop reads `model.stop_training` after every batch, so setting it here (a
        plain attribute write, atomic under the GIL) needs no per-batch callback; such a hook
        turns off Keras's async callback dispatch and cost ~15% throughput on the default spec.
        """
        first = not self._stop.is_set()
        self._stop.set()
        if self.model is not None:
            self.model.stop_training = True
        if first and self.running:
            self._update(message="stopping: this batch ends, then the run is saved")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> Snapshot:
        """A copy of the current state; safe to read from any thread."""
        with self._lock:
            snap = copy.copy(self._state)
            snap.history = {k: list(v) for k, v in self._state.history.items()}
        now = self._ended or time.perf_counter()
        snap.elapsed = now - self._started
        snap.eta = self._eta(snap, now) if snap.running else None
        return snap

    def _eta(self, snap: Snapshot, now: float) -> float | None:
        """Seconds left, from the epochs after the first: the first also builds the model and traces
        the train function (measured: an ETA from it said 3 min 27 s for a 34 s run). None until two
        epochs are done."""
        ends = self._epoch_ends
        if len(ends) < 2:
            return None
        per_epoch = (ends[-1] - ends[0]) / (len(ends) - 1)
        return max(0.0, per_epoch * (snap.epochs - snap.epoch) - (now - ends[-1]))

    @property
    def running(self) -> bool:
        with self._lock:
            return self._state.running

    def weight_history(self) -> dict[int, list[np.ndarray]]:
        """epoch -> the model's weights after that epoch (0: before training), oldest first.

        Thinned to WEIGHT_BUDGET bytes as `WeightHistory` describes; the arrays are never changed
        after they are stored.
        """
        return self._weights.history()

    # -- the training thread -------------------------------------------------------------------
    def run(self) -> Snapshot:
        """Train to the end (or to Stop) in the calling thread; returns the final Snapshot.

        The final status is published only after the run directory is written, so whoever sees
        "finished" or "stopped" can read the saved files.
        """
        spec, w = self.spec, self.windowed
        publisher = None
        try:
            if self.run_dir is not None:
                try:
                    if not (self.run_dir / "started.json").is_file():  # the pool marks it when it queues the run
                        runs.mark_started(self.run_dir, self.run_id, self.workspace, self.spec)
                    publisher = Publisher(self, self.run_dir).start()
                except OSError:
                    pass  # the final save says what is wrong with the directory
            keras.utils.set_random_seed(spec.train.seed)  # Keras seeds are thread-local: set here
            self._started = time.perf_counter()
            self.model = models.build(spec.model, spec.train, w.input_shape, spec.window.horizon,
                                      len(w.classes or ()), w.vocab)
            self.parameters = int(self.model.count_params())
            self._update(message="training")
            self.timeline["fit_begin"] = time.time()
            self.model.fit(
                w.X["train"], w.y["train"], validation_data=(w.X["val"], w.y["val"]),
                epochs=spec.train.epochs, batch_size=spec.train.batch_size, verbose=0,
                shuffle=spec.model.mode != "stateful",  # stateful: consecutive windows, in order
                callbacks=self._callbacks(),
            )
            self.fit_seconds = time.perf_counter() - self._started  # build + fit, as a bare model.fit is timed
            self.timeline["fit_end"] = time.time()
            status, message = self._final_status()
        except Exception as exc:  # anything: the page shows it, the thread must not die silently
            detail = (str(exc).strip().splitlines() or [""])[-1][:200]
            status, message = FAILED, f"training failed ({exc.__class__.__name__}: {detail})"
        self._ended = time.perf_counter()
        if publisher is not None:
            publisher.close()  # its last word is the state before the save; the save writes the rest
        final = self.snapshot()
        final.status, final.message, final.eta = status, message, None
        try:
            if self.run_dir is not None and self.model is not None:
                runs.save(self.run_dir, self.spec, self.windowed, final, self.model, self.weight_history(),
                          self.workspace)
                self.saved = True
                self.timeline["saved"] = time.time()
            elif self.run_dir is not None:  # it failed before a model existed: the run still says why
                runs.mark_ended(self.run_dir, self.run_id, final.status, final.message, self.workspace)
        except Exception as exc:  # noqa: BLE001 - a failed save must still end the job
            final.message = f"{message}; {exc}" if isinstance(exc, OSError) else (
                f"{message} (could not save the run to {self.run_dir}: {exc})")
        finally:
            self._update(status=final.status, message=final.message)
            if publisher is not None:
                publisher.final(final)
        return self.snapshot()

    def _callbacks(self) -> list:
        t = self.spec.train
        callbacks = [_LiveCallback(self)]  # first: it sees each epoch's logs before the others act
        if self.spec.model.mode == "stateful":
            callbacks.insert(0, _ResetStates())
        if t.early_stopping:
            self._early = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=t.early_stopping.get("patience", 5),
                restore_best_weights=t.early_stopping.get("restore_best_weights", True))
            callbacks.append(self._early)
        if t.reduce_lr:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=t.reduce_lr.get("factor", 0.5), patience=t.reduce_lr.get("patience", 3),
                min_lr=t.reduce_lr.get("min_lr", 1e-6)))
        return callbacks

    def _final_status(self) -> tuple[str, str]:
        """Restore good weights after a divergence, predict once more, and say how it ended."""
        if self._diverged:
            self.model.set_weights(self._good_weights)
            # The optimizer's moments are NaN now: give the saved model a fresh optimizer.
            models.compile_model(self.model, self.spec.train)
        snap = self.snapshot()
        if self._weights and not self._diverged:  # EarlyStopping may have restored an earlier epoch's weights:
            self._weights.keep(snap.epoch, self.model.get_weights())  # the last entry is what the model holds
        self._refresh_predictions(snap.epoch)
        self._forecast()
        if self._diverged:
            return FAILED, self._diverged
        early = getattr(self, "_early", None)
        if early is not None and early.stopped_epoch > 0:
            best = "; the best epoch's weights are kept" if self.spec.train.early_stopping.get(
                "restore_best_weights", True) else ""
            return FINISHED, (f"stopped early at epoch {snap.epoch} of {snap.epochs}: val_loss did not improve for "
                              f"{early.patience} epochs{best}")
        steps = math.ceil(len(self.windowed.y["train"]) / self.spec.train.batch_size)
        cut_short = int(self.model.optimizer.iterations) < snap.epochs * steps
        if self._stop.is_set() and cut_short:
            return STOPPED, f"stopped at epoch {snap.epoch} of {snap.epochs}"
        return FINISHED, f"finished {snap.epoch} epoch{'' if snap.epoch == 1 else 's'}"

    def _update(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)

    def _diverge(self, name: str, value: float) -> None:
        done = self._state.epoch
        kept = f"the weights from epoch {done} are kept" if done else "the untrained weights are kept"
        where = " (on the validation data)" if name == "val_loss" else ""
        clip = "" if self.spec.train.clipnorm else " or turn on gradient clipping"
        self._diverged = (f"loss became {'NaN' if math.isnan(value) else 'infinite'} at epoch {done + 1}{where}: "
                          f"lower the learning rate (now {self.spec.train.learning_rate:g}){clip}; {kept}")
        self._update(message=self._diverged)

    def _on_train_begin(self) -> None:
        self._good_weights = self.model.get_weights()
        self._weights.keep(0, self._good_weights)
        if self._stop.is_set():  # Stop came while the model was being built; fit() reset the flag
            self.model.stop_training = True

    def _on_epoch_end(self, logs: dict) -> None:
        if self._diverged:
            return
        values = {k: float(logs.get(k, float("nan"))) for k in self._logged}
        for key, value in values.items():
            if key in ("loss", "val_loss") and not math.isfinite(value):
                self._diverge(key, value)
                self.model.stop_training = True
                return
        self._good_weights = self.model.get_weights()
        self._weights.keep(self._state.epoch + 1, self._good_weights)
        with self._lock:
            for key, value in values.items():
                self._state.history[key].append(value)
            self._state.epoch += 1
            self._epoch_ends.append(time.perf_counter())
            epoch = self._state.epoch
            self._state.message = (f"epoch {epoch} of {self._state.epochs}" if not self._stop.is_set() else
                                   f"stopping after epoch {epoch}: saving the run")
        # Refresh at a rate that keeps predicting within the budget: with a 0.066 s prediction and
        # a 3% budget, every 2.2 s, so the chart moves every epoch or two without slowing training.
        if time.perf_counter() - self._last_refresh >= self._predict_cost / self.prediction_budget:
            self._refresh_predictions(epoch)
        if self.on_epoch is not None:
            self.on_epoch(self.snapshot())

    def _refresh_predictions(self, epoch: int) -> None:
        """Predict val and test with the current weights; publish them in original units."""
        t0 = time.perf_counter()
        w = self.windowed
        if self._live_X is None:  # (val + test samples, time steps, features)
            self._live_X = np.concatenate([w.X[s] for s in LIVE_SPLITS])
        X = self._live_X
        scaled = self._predict(X)
        cost = time.perf_counter() - t0
        if self._predict_cost == math.inf:  # the first call traced the predict function: time a clean one
            t1 = time.perf_counter()
            self._predict(X)
            cost = time.perf_counter() - t1
        self._predict_cost = min(self._predict_cost, cost)
        n_val = len(w.y["val"])
        outputs = {"val": scaled[:n_val], "test": scaled[n_val:]}
        predictions = {split: w.inverse_y(out, split) for split, out in outputs.items()}
        extra = {}
        if w.classes:
            if self._evaluator is None:
                self._evaluator = evaluate.ClassEvaluator(w)
            extra["probabilities"] = {split: w.probabilities(out, split) for split, out in outputs.items()}
            report = self._evaluator.report(predictions, extra["probabilities"])
        else:
            if self._evaluator is None:  # the baselines do not change while training: once per job
                self._evaluator = evaluate.Evaluator(w, self.spec.evaluate.season, self.spec.evaluate.moving_average)
            report = self._evaluator.report(predictions)
        if w.mode == "autoencoder":
            extra["window_error"] = {split: window_errors(w, out, split) for split, out in outputs.items()}
        elif not w.classes:  # conformal bands from the validation errors, their coverage on the test targets
            extra["intervals"], report["intervals"] = intervals.for_splits(w.truth, predictions)
        self._update(predictions=predictions, predictions_epoch=epoch, metrics=report, **extra)
        self._last_refresh = time.perf_counter()

    def _predict(self, X: np.ndarray) -> np.ndarray:
        """(samples, time steps, features) -> scaled predictions in the mode's output shape."""
        return forecast.predict(self.model, X, self.spec)

    def _forecast(self) -> None:
        """The forecast past the data and the test error by step, once training has ended."""
        try:
            future = forecast.with_bands(forecast.future(self.model, self.windowed, self.spec), self.model,
                                         self.windowed, self.spec)
            found = forecast.step_forecasts(self.model, self.windowed, self.spec, "test")
            steps = forecast.by_step(self.model, self.windowed, self.spec, found)
            self._update(metrics=evaluate.with_horizons(self._state.metrics, self._evaluator, found))
        except Exception as exc:  # noqa: BLE001 - a forecast problem must not lose the trained run
            self._update(forecast_note=f"{exc.__class__.__name__}: {exc}")
            return
        self._update(forecast=future, by_step=steps, forecast_note=forecast.kind(self.spec)[1])


def window_errors(w: Windowed, output: np.ndarray, split: str) -> np.ndarray:
    """Autoencoder: (samples,) RMSE between each reconstructed window and the window, original units."""
    rebuilt = w.to_levels(output, w.naive[split])  # raw/log transforms: the anchor is not used
    rows = w.starts[split][:, None] + np.arange(w.input_shape[0])[None, :]
    return np.sqrt(np.mean((rebuilt - w.levels[rows]) ** 2, axis=1))


class _LiveCallback(keras.callbacks.Callback):
    """Bridges Keras to the job after every epoch. It has no batch hook, on purpose: see stop()."""

    def __init__(self, job: TrainingJob):
        super().__init__()
        self.job = job

    def on_train_begin(self, logs=None):
        self.job._on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        self.job._on_epoch_end(logs or {})


class _ResetStates(keras.callbacks.Callback):
    """Stateful mode: every epoch, and every evaluation, starts from zero states."""

    def on_epoch_begin(self, epoch, logs=None):
        forecast.reset_states(self.model)

    def on_test_begin(self, logs=None):
        forecast.reset_states(self.model)

    def on_test_end(self, logs=None):
        forecast.reset_states(self.model)
