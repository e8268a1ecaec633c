"""Snapshot: what a page draws of a run at one moment, and the statuses a run passes through.

A run is queued (waiting for a worker), running, then finished, stopped or failed. The worker
publishes Snapshots into the run directory (core/livefiles.py); a page reads them back from there,
whichever process or machine trained the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

QUEUED, RUNNING, STOPPED, FINISHED, FAILED = "queued", "running", "stopped", "finished", "failed"
ENDED = (STOPPED, FINISHED, FAILED)
ACTIVE = (QUEUED, RUNNING)  # not ended yet
# Read, never written by a worker: a run whose worker went without a word (no run.json, no live
# worker), and a sweep trial its pruner stopped (run.json rewritten by core/sweep.py).
INTERRUPTED, PRUNED = "interrupted", "pruned"
# Why a failed run failed, when a reader must tell (run.json's "reason"): its worker process died
# (killed, out of memory), which a sweep retries once; a run that failed on its own settings is not.
WORKER_DIED = "worker_died"


@dataclass
class Snapshot:
    """What the page draws: a consistent copy of the job's state at one moment.

    Attributes:
        status: "queued", "running", "stopped", "finished" or "failed".
        message: a one-line status for people, e.g. "stopped at epoch 3 of 20".
        epoch: completed epochs; epochs: planned epochs; batch of batches: progress within the epoch.
        history: {"loss": [...], "val_loss": [...]}, one value per completed epoch, scaled units.
        predictions: {"val": (samples,), "test": (samples,)} in original units, or None before the
            first refresh; predictions_epoch is the epoch they come from.
        metrics: the metrics.json dict computed from `predictions`, or None.
        elapsed: seconds since training started; eta: estimated seconds left, or None.
    """

    run_id: str
    status: str = RUNNING
    message: str = "starting"
    epoch: int = 0
    epochs: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "val_loss": []})
    predictions: dict[str, np.ndarray] | None = None
    predictions_epoch: int = 0
    metrics: dict | None = None
    elapsed: float = 0.0
    eta: float | None = None
    forecast: object = None  # DataFrame date, forecast: past the data, once training ends
    by_step: object = None  # DataFrame step, rmse, mae, naive_rmse, windows: test error per step ahead
    forecast_note: str = ""  # why there is no forecast, when there is none
    probabilities: dict[str, np.ndarray] | None = None  # classification: split -> (samples, classes)
    window_error: dict[str, np.ndarray] | None = None  # autoencoder: split -> (samples,) RMSE of each window
    intervals: dict[str, dict[str, np.ndarray]] | None = None  # "lower_80", ...: split -> (samples,) (core/intervals.py)
    batch: int = 0  # batches done in the current epoch (the worker reads the optimizer's step counter)
    batches: int = 0  # batches per epoch
    queue_position: int = 0  # while queued: 1 = next to start
    queue_length: int = 0

    @property
    def running(self) -> bool:
        """Not ended yet: training, or waiting in the queue for a worker."""
        return self.status in (RUNNING, QUEUED)

    @property
    def queued(self) -> bool:
        return self.status == QUEUED

    @property
    def progress(self) -> float:
        """Fraction of the planned epochs done, 0..1."""
        done = self.epoch + (self.batch / self.batches if self.batches and self.status == RUNNING else 0.0)
        return min(1.0, done / self.epochs) if self.epochs else 0.0


