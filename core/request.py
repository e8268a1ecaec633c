"""A request: what the server hands a worker (core/worker.py) through the pool (core/pool.py).

Its own module so that whoever submits work (a race, a sweep, a backtest) can make one without
importing the pool, and the pool, the worker and the submitters form no import cycle.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields

TRAIN, MEMORY_RACE = "train", "memory_race"  # what a worker does with a request


@dataclass
class Request:
    """What a worker needs: the run and where to write it. `csv_root` limits which CSV files the
    spec may read (the app's upload folder); None for the command line. `kind` says what the
    worker does: "train" (the spec is an ExperimentSpec) or "memory_race" (a RaceSpec, see
    core/memory_race.py). `spec` is the checked spec object itself when the server made the request
    (core/runs.submit: validated once, when it was made, and not again by the pool or the worker),
    or its dict (a request read back from a run directory, which the pool checks)."""

    run_id: str
    run_dir: str
    spec: object
    workspace: str | None = None
    csv_root: str | None = None
    kind: str = TRAIN

    def payload(self) -> dict:
        """The request as plain JSON values (the spec as its dict), as the worker takes it."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["spec"] = self.spec.to_dict() if hasattr(self.spec, "to_dict") else self.spec
        return out

    def line(self) -> bytes:
        """The request as the worker reads it from its stdin: one line of JSON."""
        return (json.dumps(self.payload()) + "\n").encode()
