"""The run store's names and first facts: where runs live, a run's id, the files a run writes, and
whether a run has ended or says where it stands. Every other part of core/runs/ builds on these."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from pathlib import Path

from .. import runfiles



PREDICTION_COLUMNS = ["date", "split", "truth", "prediction", "naive"]


def new_run_id() -> str:
    """A new run's id (and directory name): its start time and a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def default_root() -> Path:
    """Where the app keeps runs: $RNNLAB_RUNS_DIR, or ./runs."""
    return Path(os.environ.get("RNNLAB_RUNS_DIR", "runs"))


HISTORY_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")


def workspace_id(token: str | None) -> str | None:
    """What run.json stores for a workspace token: a hash, so the token itself is never on disk."""
    return hashlib.sha256(token.encode()).hexdigest()[:20] if token else None


RACE_FILE, RACE_RESULTS = "memory_race.json", "results.csv"  # a memory race's tag and results
RUN_FILES = ("started.json", "run.json", "live.json", "stop", "spec.json", "model.keras", "history.csv",
             "predictions.csv", "metrics.json", "gates.npz", "forecast.csv", "weights.npz", RACE_FILE, RACE_RESULTS)


def discard(run_dir: str | Path) -> None:
    """Remove a run's files (only the names a run writes, never anything else a person keeps there),
    and the folder when that leaves it empty."""
    run_dir = Path(run_dir)
    for path in [*(run_dir / name for name in RUN_FILES), *run_dir.glob(".*.tmp*")]:  # and half-written files
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
    try:
        run_dir.rmdir()
    except OSError:
        pass  # not empty (a user's own files in --out) or already gone


def has_state(run_dir: str | Path) -> bool:
    """Whether the run says where it stands (run.json when ended, live.json while queued or training).
    A directory with only started.json is a run of the days before workers, interrupted."""
    return has_ended(run_dir) or (Path(run_dir) / "live.json").is_file()


def has_ended(run_dir: str | Path) -> bool:
    """Whether the run has ended one way or another (run.json, the last file a run writes, is there)."""
    return (Path(run_dir) / "run.json").is_file()


def _read_json(path: Path):
    """A run's JSON file parsed, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def valid_id(run_id: str | None) -> bool:
    """Run ids are plain names (letters, digits, '-'), never paths."""
    return bool(run_id) and all(c.isalnum() or c == "-" for c in run_id)


def owner(run_dir: Path) -> str | None:
    """The workspace hash a run belongs to (from run.json, or started.json while it runs)."""
    for name in ("run.json", "started.json"):
        path = run_dir / name
        if path.is_file():
            return runfiles.run_info(_read_json(path), name)[0].get("workspace")
    return None


CELL_RACE_FILE = "race.json"  # in a cell-race run's directory: {"race", "cell"} (core/cell_race.py)
