"""The session's runs: the run a page shows, the runs one may compare with, and what they read.

A run is read from its run directory (core/runs.py), live while a worker trains it and after it
ended, so a refresh, another tab or another server process sees exactly the same run. Every page
finds a run by id through `find`, which returns only runs of this visitor's workspace.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st

from core import describe, livefiles, runs
from core.snapshot import Snapshot
from core.spec import ExperimentSpec, SpecError

from . import address

def root() -> Path:
    """The run store ($RNNLAB_RUNS_DIR, default runs/)."""
    return runs.default_root()


class Run:
    """A run of this workspace, read from its run directory: live while a worker trains it, then
    finished. The page never holds the training itself."""

    def __init__(self, path: Path):
        self.path, self.run_id = Path(path), Path(path).name
        self.spec = _run_spec(str(self.path), runs.file_version(self.path, "spec.json"))

    def _loaded(self):
        return _load_run(str(self.path), *runs.version(self.path))

    def snapshot(self) -> Snapshot:
        snap = self._loaded()[1]
        if snap.status == runs.INTERRUPTED and _pool_knows(self.run_id):
            # its worker just ended without a word; the pool is writing how (failed, stopped): keep polling
            return dataclasses.replace(snap, status=runs.RUNNING, message="the worker ended; reading how the run ended")
        return snap

    def predictions_frame(self) -> pd.DataFrame:
        """The predictions frame (date, split, truth, prediction, naive, ...) as the run's files hold it now."""
        return self._loaded()[2]

    @property
    def stopping(self) -> bool:
        """Stop was asked and the worker has not ended the run yet."""
        return livefiles.stop_requested(self.path)

    def stop(self) -> None:
        from core import pool

        pool.shared().stop(self.run_id, self.path)


def _pool_knows(run_id: str) -> bool:
    from core import pool

    return pool.shared().knows(run_id)


@st.cache_data(max_entries=64, show_spinner=False)
def _run_spec(path: str, mtime: int) -> ExperimentSpec:
    return runs.read_spec(path)


@st.cache_resource(max_entries=32, show_spinner=False)
def _load_run(path: str, *mtimes: int):
    """runs.read_run, again only when one of the run's files changed (the page polls every second).
    A run whose files are gone or damaged (deleted, a failed save on a full disk) reads as failed."""
    try:
        return runs.read_run(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        gone = Snapshot(run_id=Path(path).name, status=runs.FAILED,
                        message=f"this run's files are gone or damaged ({exc.__class__.__name__}); train again")
        return None, gone, pd.DataFrame(columns=runs.PREDICTION_COLUMNS)


@st.cache_resource(show_spinner=False)
def _attached(store: str) -> list[str]:
    from core import pool

    return pool.shared().attach(store)


def attach_workers() -> None:
    """Once per server process and run store: take up the runs a previous server left training
    (their workers outlive it) or queued. Runs whose worker is gone read as interrupted."""
    _attached(str(root().resolve()))


def find(run_id: str | None) -> Run | None:
    """A run of this workspace by id (live or saved), or None: another visitor's run is not found,
    not refused. The one lookup every page uses."""
    path = root() / (run_id or "")
    if not runs.valid_id(run_id) or not path.is_dir() or runs.owner(path) != address.workspace():
        return None
    if not runs.has_state(path):
        return None  # only started.json: interrupted (see current)
    try:
        return Run(path)
    except (OSError, ValueError, KeyError):
        return None


def current() -> Run | None:
    """This session's run: the one it trained or opened, or the run named by ?run= in the URL.

    A ?run= that names no run of this workspace sets "missing_run" (or "interrupted_run", for a
    run whose server stopped before it ended) in st.session_state, which the Train page explains."""
    run_id = address.url_run_id()
    if not run_id:
        return None
    run = find(run_id)
    if run is None:
        broken = runs.interrupted(run_id, root())
        if broken is not None and runs.owner(broken) == address.workspace():
            st.session_state["interrupted_run"] = run_id
        else:
            st.session_state["missing_run"] = run_id
        st.session_state.pop(address.RUN_KEY, None)
        return None
    if st.session_state.get(address.RUN_KEY) != run_id:
        st.session_state[address.RUN_KEY] = run_id
        remember(run_id)
    return run


def spec_of_url_run() -> ExperimentSpec | None:
    """The spec of the run in the URL (?run=, a refresh): the run itself, or an interrupted one's."""
    run = current()
    if run is not None:
        return run.spec
    broken = st.session_state.get("interrupted_run")
    path = runs.interrupted(broken, root()) if broken else None
    try:
        return runs.read_spec(path) if path is not None else None
    except (OSError, SpecError):
        return None


def open(run_id: str) -> bool:  # noqa: A001 - "open a run" is what the pages say
    """Make a run of this workspace the session's current run (Train shows it, Inspect looks into it)."""
    if find(run_id) is None:
        return False
    address.show_run(run_id)
    remember(run_id)
    return True


def show_new(run_id: str) -> None:
    """A run this session just started or imported becomes its current run."""
    address.show_run(run_id)
    remember(run_id)


def forget(run_id: str) -> None:
    """After a delete: the session no longer shows or offers that run."""
    if st.session_state.get(address.RUN_KEY) == run_id:
        address.show_run(None)
    st.session_state["session_runs"] = [r for r in ids() if r != run_id]


def ids() -> list[str]:
    """Run ids trained in this browser session, or reopened in it from the URL, newest first (the
    runs one may compare with)."""
    return list(st.session_state.get("session_runs", []))


def remember(run_id: str) -> None:
    known = [r for r in st.session_state.get("session_runs", []) if r != run_id]
    st.session_state["session_runs"] = [run_id, *known][:20]


def label(run_id: str) -> str:
    """A run of this session in a picker: "LSTM 64 · sp500 w30 · <id>", or that it is gone."""
    run = find(run_id)
    if run is None:
        return f"{run_id} (no longer saved)"
    return describe.run_label(run.spec, run_id, runs.imported_as(run.path) == "model")


def busy() -> str | None:
    """Why no new training may start now (one run or race at a time per session), or None."""
    run = current()
    race = st.session_state.get("cell_race")
    if (run is not None and run.snapshot().running) or (race is not None and race.running):
        return "A training run is already in progress. Stop it, or wait for it to finish, before you start another."
    return None
