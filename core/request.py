"""A request: what the server hands a worker (core/worker.py) through the pool (core/pool.py).

Its own module so that whoever submits work (a race, a sweep, a backtest) can make one without
importing the pool, and the pool, the worker and the submitters form no import cycle.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

TRAIN, MEMORY_RACE = "train", "memory_race"  # what a worker does with a request


@dataclass
class Request:
    """What a worker needs: the run and where to write it. `csv_root` limits which CSV files the
    spec may read (the app's upload folder); None for the command line. `kind` says what the
    worker does: "train" (the spec is an ExperimentSpec) or "memory_race" (a RaceSpec, see
    core/memory_race.py)."""

    run_id: str
    run_dir: str
    spec: dict
    workspace: str | None = None
    csv_root: str | None = None
    kind: str = TRAIN

    def line(self) -> bytes:
        """The request as the worker reads it from its stdin: one line of JSON."""
        return (json.dumps(asdict(self)) + "\n").encode()
