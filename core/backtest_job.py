"""A backtest's folds training through a pool, waited for by a thread of its own.

The Runs page (ui/backtest_views.py) keeps one per workspace in the server; `python -m core backtest`
makes one and waits for it in its main thread, where its signals arrive. core/backtest.py plans the
folds, submits them and scores the results; this only runs and stops them.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from . import backtest, runs


class BacktestJob:
    """Run `folds` through `pool` into the run store `root`, from a thread (`start`).

    Attributes:
        id: the backtest's id ("bt-" and a run id), which each fold's fold.json names.
        folds: the planned folds (core/backtest.plan); each gets its run id once submitted.
        spec: the setup the folds were planned from (what a page shows with the results).
        error: "<exception class>: <message>" when the folds could not be run, else None.
        seconds: wall time from the first submission to the last fold's end, once they have all ended.
    """

    def __init__(self, folds: list, pool, root: str | Path, spec=None, workspace: str | None = None,
                 csv_root: str | None = None, on_fold: Callable | None = None, backtest_id: str | None = None):
        self.folds, self.pool, self.root, self.spec = folds, pool, Path(root), spec
        self.workspace, self.csv_root, self.on_fold = workspace, csv_root, on_fold
        self.id = backtest_id or "bt-" + runs.new_run_id()
        self.error: str | None = None
        self.seconds: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"backtest-{self.id}", daemon=True)

    def start(self) -> "BacktestJob":
        self._thread.start()
        return self

    def _work(self) -> None:
        t0 = time.perf_counter()
        try:
            backtest.run(self.folds, self.pool, self.root, self.id, self.workspace, self.csv_root,
                         on_fold=self.on_fold, stop=self._stop)
            self.seconds = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - the caller says what happened, in a line
            self.error = f"{exc.__class__.__name__}: {exc}"

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the folds through the pool: queued ones end at once, training ones after their batch."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
