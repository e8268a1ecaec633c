"""The cell race: SimpleRNN, LSTM and GRU trained one after another on the same everything.

Same data, window, split, model shape, training settings and seed; only `model.cell` changes.
Each training is an ordinary TrainingJob saved to the run store, so the runs can be opened,
inspected and compared afterwards like any other.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate
from .spec import ExperimentSpec
from .training import TrainingJob, new_run_id
from .windows import Windowed

CELLS = ("SimpleRNN", "LSTM", "GRU")


class CellRace:
    """Trains one job per cell in a background thread, in order.

    Args:
        spec: the experiment; each job gets a copy with its own cell.
        windowed: the windows all jobs train on.
        root: the run store (each job is saved to root/<run id>); None saves nothing.
        workspace: the workspace id the runs belong to.
    """

    def __init__(self, spec: ExperimentSpec, windowed: Windowed, root: str | Path | None = None,
                 workspace: str | None = None, cells: tuple[str, ...] = CELLS):
        self.spec = spec
        self.jobs: list[TrainingJob] = []
        for cell in cells:
            run_id = new_run_id()
            while any(j.run_id == run_id for j in self.jobs):  # two in one second: draw again
                run_id = new_run_id()
            self.jobs.append(TrainingJob(spec.replace(model={"cell": cell}), windowed,
                                         run_dir=Path(root) / run_id if root else None, run_id=run_id,
                                         workspace=workspace))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0  # how many jobs have begun; the others never run after a Stop

    def start(self) -> "CellRace":
        self._thread = threading.Thread(target=self.run, name="cell-race", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        from .training import JOBS

        for i, job in enumerate(self.jobs):
            if self._stop.is_set():
                break
            self._started = i + 1
            JOBS.add(job)  # findable (Train, Inspect, a refresh) from the moment it starts, not before
            job.run()

    def stop(self) -> None:
        """Stop the job that is training and skip the rest."""
        self._stop.set()
        for job in self.jobs:
            job.stop()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def started(self) -> list[TrainingJob]:
        """The jobs that have started (or finished), in order; jobs skipped after a Stop are not."""
        return self.jobs[: self._started]

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def results(self) -> pd.DataFrame:
        """One row per started job: cell, run, status, parameters, seconds per epoch, test metrics,
        persistence's RMSE and the verdict against it."""
        rows = []
        for job in self.started:
            snap = job.snapshot()
            test = (snap.metrics or {}).get("test", {}) if not snap.running else {}
            naive = (snap.metrics or {}).get("baselines", {}).get("naive", {}) if not snap.running else {}
            cell = job.spec.model.cell
            rows.append({
                "cell": cell, "verdict": _verdict(job, cell, test, naive),
                "run": job.run_id, "status": snap.status if not snap.running else f"epoch {snap.epoch}",
                "parameters": int(job.model.count_params()) if job.model is not None else np.nan,
                "s / epoch": snap.elapsed / snap.epoch if snap.epoch else np.nan,
                "epochs": snap.epoch,
                "test RMSE": test.get("rmse", np.nan), "test MAE": test.get("mae", np.nan),
                "direction %": test.get("direction", np.nan), "persistence RMSE": naive.get("rmse", np.nan),
                **({"test accuracy %": test.get("accuracy", np.nan)} if job.windowed.classes else {}),
            })
        return pd.DataFrame(rows)


def _verdict(job, cell: str, test: dict, naive: dict) -> str:
    if not (test and naive):
        return "training..."
    if job.windowed.classes:
        beats = test.get("accuracy", np.nan) > naive.get("accuracy", np.nan)
        return (f"{cell} {'beats' if beats else 'does not beat'} {job.windowed.naive_name} "
                f"({test.get('accuracy', np.nan):.1f}% vs {naive.get('accuracy', np.nan):.1f}% correct)")
    return evaluate.verdict(cell, test, naive, job.windowed.naive_name)
