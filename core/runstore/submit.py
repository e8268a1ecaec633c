"""One way to queue a run in the pool: a fresh id, a folder of its own, the tag that says what made
it, and the Request (core/request.py). Train, the cell race, the memory race, a sweep's trials and a
backtest's folds all come through `submit`, so every run lands in the same kind of directory."""
from __future__ import annotations

import json
from pathlib import Path

from ..livefiles import write_atomic
from ..request import TRAIN, Request
from .files import discard, new_run_id


def claim(root: str | Path, taken=()) -> tuple[str, Path]:
    """A new run id and its directory under `root`, made now (so two submitters in the same second never
    share one: the second draws again). `taken`: ids already handed out that have no folder yet."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        if run_id in taken:
            continue
        run_dir = (root / run_id).resolve()
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_id, run_dir


def submit(pool, spec, root: str | Path | None = None, *, run_dir: str | Path | None = None,
           workspace: str | None = None, csv_root: str | Path | None = None, tag: tuple[str, dict] | None = None,
           kind: str = TRAIN) -> tuple[str, Path]:
    """Queue `spec` (an ExperimentSpec, or a RaceSpec for kind "memory_race") in `pool`; (run id, run dir).

    Args:
        pool: core.pool.Pool (or anything with its submit(Request)).
        root: the run store; the run gets a new id and root/<id>. Or `run_dir`: a folder chosen
            before (a cell race shows its three runs before they are queued); its name is the id.
        workspace, csv_root: as in Request.
        tag: (file name, what) written into the folder before it is queued, e.g. ("fold.json", {...}),
            so History can tell what made the run from its first moment.
    Raises OSError when the store cannot be written (nothing is left behind)."""
    if run_dir is None:
        run_id, run_dir = claim(root)
    else:
        run_dir = Path(run_dir)
        run_id = run_dir.name
        run_dir.mkdir(parents=True, exist_ok=True)
    try:
        if tag is not None:
            write_atomic(run_dir / tag[0], json.dumps(tag[1], indent=2) + "\n")
        pool.submit(Request(run_id, str(run_dir), spec, workspace,
                            None if csv_root is None else str(csv_root), kind))
    except BaseException:
        if tag is not None:
            (run_dir / tag[0]).unlink(missing_ok=True)
        discard(run_dir)
        raise
    return run_id, run_dir
