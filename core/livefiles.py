"""The live run files: how a worker publishes a run while it trains, and how anyone reads it back.

The run directory is the one source of truth for a run, live or finished. While a worker trains it
keeps these files current, each replaced atomically (written beside, then renamed), so a reader
never sees half a file:

    live.json         run_id, status (queued, running, then the final status), message, epoch,
                      epochs, batch, batches (progress within the epoch), elapsed_seconds,
                      eta_seconds, predictions_epoch, parameters, pid, host, updated_at (Unix time),
                      workspace, queue_position, queue_length; once it ended, timeline
                      (Unix times: worker_start, request, job, fit_begin, first_batch, fit_end, saved)
    history.csv       as in a finished run, one row per completed epoch
    predictions.csv   as in a finished run; the prediction column is the latest refresh
    metrics.json      the latest refresh's metrics (validation and test targets)
    weights.npz       the kept per-epoch weights (uncompressed while live)
    stop              present when someone asked the run to stop (a page, another server, a
                      person with `touch`); the worker stops after the current batch

A page in another process, a refreshed page, a second server or the command line reads a live run
exactly as a finished one (core/runs.read_run). This module knows only files: no Keras, no Streamlit.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from .runstore.files import has_ended
from .snapshot import ACTIVE, QUEUED

LIVE, STOP = "live.json", "stop"
HOST = socket.gethostname()
_LIVE_LOCK = threading.Lock()
STALE_SECONDS = 30.0  # a worker on another machine that has not written for this long is presumed gone


def write_atomic(path: str | Path, content: str | bytes) -> None:
    """Replace `path` with `content` in one step: a reader sees the old file or the new, never half."""
    data = content.encode() if isinstance(content, str) else content
    write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def write_with(path: str | Path, writer) -> None:
    """Atomically replace `path` with whatever `writer(tmp_path)` writes (pandas, numpy, Keras)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp{path.suffix}")  # suffix: savers check it
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_live(run_dir: str | Path, **fields) -> None:
    """Merge `fields` into live.json (with pid, host and the time), atomically."""
    path = Path(run_dir) / LIVE
    with _LIVE_LOCK:  # read-modify-write: the page's thread and the pool's may both write a queued run
        info = read_live(run_dir) or {}
        info.update(fields)
        info.setdefault("host", HOST)
        info["updated_at"] = time.time()
        write_atomic(path, json.dumps(info, indent=1) + "\n")


def read_live(run_dir: str | Path) -> dict | None:
    """live.json as a dict, or None when there is none (or it cannot be read)."""
    try:
        info = json.loads((Path(run_dir) / LIVE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def request_stop(run_dir: str | Path) -> None:
    """Ask the run's worker, wherever it runs, to stop after its current batch."""
    try:
        (Path(run_dir) / STOP).touch()
    except OSError:
        pass  # the directory is gone: nothing to stop


def stop_requested(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STOP).exists()


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as ended)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): kill(0) said it exists


def worker_alive(info: dict | None) -> bool:
    """Whether the worker named in live.json still runs: by its pid on this machine, by how recently
    it wrote on another."""
    if not info:
        return False
    if info.get("host") == HOST:
        return pid_alive(info.get("pid"))
    return time.time() - float(info.get("updated_at") or 0) < STALE_SECONDS


def is_live(run_dir: str | Path) -> bool:
    """A run not ended yet whose worker (or queue) is still there: queued, or running on a live worker."""
    run_dir = Path(run_dir)
    if has_ended(run_dir):
        return False
    info = read_live(run_dir)
    if not info or info.get("status") not in ACTIVE:
        return False
    if info.get("status") == QUEUED:
        return worker_alive({"host": info.get("host"), "pid": info.get("server_pid"),
                             "updated_at": info.get("updated_at")})
    return worker_alive(info)
