"""The cell race: every registered cell (core/cells/: SimpleRNN, LSTM, GRU) trained one after another
on the same everything.

Same data, window, split, model shape, training settings and seed; only `model.cell` changes.
Each training is an ordinary run, trained by a worker of the pool (core/pool.py) and saved to the
run store, so the runs can be opened, inspected and compared afterwards like any other. They train
one after another, not at once, so each has the machine to itself and its seconds per epoch are fair.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import cells, evaluate, livefiles, runs
from .snapshot import QUEUED, RUNNING
from .spec import ExperimentSpec
from .windows import Windowed

CELLS = cells.NAMES  # every registered cell, in the registry's order


class Entry:
    """One cell's run in the race, read from its run directory."""

    def __init__(self, spec: ExperimentSpec, run_id: str, run_dir: Path, windowed: Windowed):
        self.spec, self.run_id, self.run_dir, self.windowed = spec, run_id, Path(run_dir), windowed

    def snapshot(self):
        try:
            return runs.read_run(self.run_dir)[1]
        except (OSError, ValueError, KeyError):
            from .snapshot import Snapshot

            return Snapshot(run_id=self.run_id, status=QUEUED, message="queued", epochs=self.spec.train.epochs)

    @property
    def running(self) -> bool:
        return not runs.has_ended(self.run_dir)

    @property
    def parameters(self) -> float:
        info = livefiles.read_live(self.run_dir) or {}
        return info.get("parameters") or np.nan


class CellRace:
    """Trains one run per cell through the pool, in order, from a background thread of the server.

    Args:
        spec: the experiment; each run gets a copy with its own cell.
        windowed: the windows (checked before the race starts; the verdicts need their classes).
        root: the run store (each run goes to root/<run id>).
        workspace: the workspace id the runs belong to.
        pool: where the runs train (core.pool.shared() when None).
        csv_root: the folder a CSV may be read from (the app's uploads).
    """

    def __init__(self, spec: ExperimentSpec, windowed: Windowed, root: str | Path, workspace: str | None = None,
                 cells: tuple[str, ...] = CELLS, pool=None, csv_root: str | None = None):
        from . import pool as pools

        self.spec, self.pool, self.csv_root, self.workspace = spec, pool or pools.shared(), csv_root, workspace
        self.jobs: list[Entry] = []
        for cell in cells:
            run_id = runs.new_run_id()
            while any(j.run_id == run_id for j in self.jobs):  # two in one second: draw again
                run_id = runs.new_run_id()
            self.jobs.append(Entry(spec.replace(model={"cell": cell}), run_id, (Path(root) / run_id).resolve(),
                                   windowed))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0  # how many runs have begun; the others never run after a Stop

    def start(self) -> "CellRace":
        self._thread = threading.Thread(target=self.run, name="cell-race", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        for i, entry in enumerate(self.jobs):
            if self._stop.is_set():
                break
            self._started = i + 1
            runs.submit(self.pool, entry.spec, run_dir=entry.run_dir, workspace=self.workspace, csv_root=self.csv_root,
                        tag=(runs.CELL_RACE_FILE, {"race": self.jobs[0].run_id, "cell": entry.spec.model.cell}))
            asked = False
            while entry.running and entry.run_dir.is_dir():
                if self._stop.is_set() and not asked:  # a Stop that came while this run was being queued
                    self.pool.stop(entry.run_id, entry.run_dir)
                    asked = True
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the run that is training and skip the rest."""
        self._stop.set()
        for entry in self.started:
            if entry.running:
                self.pool.stop(entry.run_id, entry.run_dir)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def started(self) -> list[Entry]:
        """The runs that have started (or finished), in order; runs skipped after a Stop are not."""
        return self.jobs[: self._started]

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def results(self) -> pd.DataFrame:
        """One row per started run: cell, run, status, parameters, seconds per epoch, test metrics,
        persistence's RMSE and the verdict against it."""
        rows = []
        for job in self.started:
            snap = job.snapshot()
            test = (snap.metrics or {}).get("test", {}) if not snap.running else {}
            naive = (snap.metrics or {}).get("baselines", {}).get("naive", {}) if not snap.running else {}
            cell = job.spec.model.cell
            rows.append({
                "cell": cell, "verdict": _verdict(job, cell, test, naive),
                "run": job.run_id, "status": snap.status if not snap.running else
                (f"epoch {snap.epoch}" if snap.status == RUNNING else snap.status),
                "parameters": job.parameters,
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
