"""Publisher: keeps a training run's live files (core/livefiles.py) current from a thread of its own.

A TrainingJob (core/training.py) with a run directory starts one; it reads the job's Snapshot and
writes live.json, history.csv, predictions.csv, metrics.json and weights.npz as they change, so any
process can read the run while it trains, and the training thread never writes a file itself.
"""
from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import numpy as np

from . import livefiles, runs
from .snapshot import RUNNING, Snapshot


class Publisher:
    """Keeps the live run files (core/livefiles.py) current while the job trains, from its own thread.

    Every `tick` seconds it looks for a stop request (the `stop` file), and at least once a second
    it writes live.json with the progress within the epoch: batches done are read from the
    optimizer's step counter, so no per-batch Keras callback slows the fit loop (one turns off
    Keras's async callback dispatch and cost ~15%). history.csv, predictions.csv, metrics.json and
    weights.npz are rewritten when they change. All writes happen here, not in the training thread.
    """

    def __init__(self, job, run_dir: Path, tick: float = 0.2, every: float | None = None,
                 weights_every: float = 2.0):
        every = float(os.environ.get("RNNLAB_LIVE_SECONDS", "1.0")) if every is None else every
        self.job, self.run_dir, self.tick, self.every, self.weights_every = job, Path(run_dir), tick, every, weights_every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"publish-{job.run_id}", daemon=True)
        self._seen = {"live": -math.inf, "epoch": -1, "predictions": None, "weights": -math.inf, "kept": None}
        self._steps = max(1, math.ceil(len(job.windowed.y["train"]) / job.spec.train.batch_size))

    def start(self) -> "Publisher":
        livefiles.write_live(self.run_dir, run_id=self.job.run_id, status=RUNNING, message="starting",
                             epoch=0, epochs=self.job.spec.train.epochs, batch=0, batches=self._steps,
                             pid=os.getpid(), host=livefiles.HOST, workspace=self.job.workspace,
                             queue_position=0, queue_length=0)
        frame = runs.predictions_frame(self.job.windowed, None)  # the truth, drawn before any prediction
        livefiles.write_with(self.run_dir / "predictions.csv", lambda p: frame.to_csv(p, index=False))
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._done.wait(self.tick):
            if livefiles.stop_requested(self.run_dir):
                self.job.stop()
            if "first_batch" not in self.job.timeline:
                self._note_first_batch()
            try:
                self.publish()
            except OSError:
                pass  # a full disk: the final save will say so

    def publish(self, force: bool = False) -> None:
        """Write what changed since the last call (live.json at least once a second)."""
        snap, now = self.job.snapshot(), time.monotonic()
        epoch_changed = snap.epoch != self._seen["epoch"]
        if epoch_changed:
            livefiles.write_with(self.run_dir / "history.csv",
                                 lambda p: runs.history_frame(snap.history).to_csv(p, index=False))
            self._seen["epoch"] = snap.epoch
        if snap.predictions is not None and snap.predictions_epoch != self._seen["predictions"]:
            frame = runs.predictions_frame(self.job.windowed, snap.predictions, snap.probabilities, snap.window_error,
                                           snap.intervals)
            livefiles.write_with(self.run_dir / "predictions.csv", lambda p: frame.to_csv(p, index=False))
            if snap.metrics is not None:
                livefiles.write_atomic(self.run_dir / "metrics.json", runs.metrics_json(snap))
            self._seen["predictions"] = snap.predictions_epoch
        kept = self.job.weight_history()
        if kept and list(kept) != self._seen["kept"] and (force or now - self._seen["weights"] >= self.weights_every):
            livefiles.write_with(self.run_dir / "weights.npz", lambda p: np.savez(p, **runs.flat_weights(kept)))
            self._seen["weights"], self._seen["kept"] = now, list(kept)
        if force or epoch_changed or now - self._seen["live"] >= self.every:
            livefiles.write_live(self.run_dir, status=snap.status, message=snap.message, epoch=snap.epoch,
                                 epochs=snap.epochs, batch=self._batch(snap), batches=self._steps,
                                 elapsed_seconds=round(snap.elapsed, 3),
                                 eta_seconds=None if snap.eta is None else round(snap.eta, 1),
                                 predictions_epoch=snap.predictions_epoch, parameters=self.job.parameters)
            self._seen["live"] = now

    def _batch(self, snap: Snapshot) -> int:
        """Batches done in the running epoch, from the optimizer's step counter (a variable read)."""
        model = self.job.model
        try:
            steps = int(model.optimizer.iterations.numpy()) if model is not None else 0
        except Exception:  # noqa: BLE001 - not built yet, or torn down
            return 0
        return max(0, min(self._steps, steps - snap.epoch * self._steps))

    def _note_first_batch(self) -> None:
        """The timeline's first_batch: when the optimizer's step counter first moved (within a tick)."""
        model = self.job.model
        try:
            if model is not None and int(model.optimizer.iterations.numpy()) > 0:
                self.job.timeline["first_batch"] = time.time()
        except Exception:  # noqa: BLE001 - not built yet
            pass

    def close(self) -> None:
        """Stop the thread and publish once more, so the files hold every epoch before the save."""
        self._done.set()
        self._thread.join()
        try:
            self.publish(force=True)
        except OSError:
            pass

    def final(self, snap: Snapshot) -> None:
        """live.json says how the run ended (the stop request, if any, is done with)."""
        try:
            livefiles.write_live(self.run_dir, status=snap.status, message=snap.message, epoch=snap.epoch,
                                 batch=0, eta_seconds=None, elapsed_seconds=round(snap.elapsed, 3),
                                 timeline={k: round(v, 3) for k, v in self.job.timeline.items()})
            (self.run_dir / livefiles.STOP).unlink(missing_ok=True)
        except OSError:
            pass  # the save failed and removed the directory
