"""Starting work: a training run in the worker pool, the cell race, and imports of models and bundles.

Each checks first (the data, the windows, one run at a time per session) and returns or raises a
message a person can act on before any worker starts.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from core import data, runs
from core.errors import sentence
from core.spec import ExperimentSpec

from . import address, loads, session_runs, spec_state


def _check(spec: ExperimentSpec) -> str | None:
    """Why no training of `spec` may start (one at a time; bad data; windows or model over their caps)."""
    busy = session_runs.busy()
    if busy:
        return busy
    try:
        loads.preflight(spec)
    except ValueError as exc:  # DataError, SpecError, or a library error on odd data
        return sentence(str(exc))
    return None


def start_training(spec: ExperimentSpec) -> str | None:
    """Queue a run of `spec` in the worker pool unless this session has one going. The data and
    windows are checked here first, so a mistake is reported before any worker starts. Returns an
    error message or None."""
    from core import pool

    error = _check(spec)
    if error:
        return error
    store = session_runs.root()
    try:
        run_id, _ = runs.submit(pool.shared(), spec, store, workspace=address.workspace(),
                                csv_root=data.uploads_dir().resolve())
    except OSError as exc:  # the run store cannot be written (a full disk, no permission)
        return (f"The run could not be started: {store} cannot be written ({exc.strerror or exc}). Free some "
                "space or set RNNLAB_RUNS_DIR to another folder.")
    session_runs.show_new(run_id)
    return None


def start_race(spec: ExperimentSpec) -> str | None:
    """Start the cell race (SimpleRNN, LSTM, GRU) on `spec`. Returns an error message or None."""
    from core.cell_race import CellRace

    error = _check(spec)
    if error:
        return error
    try:
        prepared = loads.windowed(spec)
    except ValueError as exc:
        return sentence(str(exc))
    race = CellRace(spec, prepared, session_runs.root(), address.workspace(), csv_root=str(data.uploads_dir())).start()
    st.session_state["cell_race"] = race
    return None


def import_model(name: str, content: bytes) -> str:
    """Save an uploaded .keras model as a run evaluated on the current setup; returns its run id.

    The model is sized from its config here (no TensorFlow), then loaded and evaluated in a
    short-lived process with a memory and time limit (core/model_import.py): the server only waits.
    Raises runs.ImportRefused."""
    from core import model_import

    runs.check_size(len(content), "model")
    spec = spec_state.get_spec()
    run_id = runs.new_run_id()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(name).stem[:100] + ".keras")
        path.write_bytes(content)
        model_import.evaluate(path, spec, session_runs.root() / run_id, run_id, address.workspace(),
                              csv_root=data.uploads_dir().resolve())
    session_runs.remember(run_id)
    return run_id


def import_bundle(content: bytes) -> str:
    """Add an uploaded run bundle (.zip) to this workspace's runs; returns its new run id."""
    from core import model_import

    run_id = runs.import_bundle(content, session_runs.root(), address.workspace(), runs.new_run_id(),
                                csv_root=data.uploads_dir(), weight_shapes=model_import.weight_shapes)
    session_runs.remember(run_id)
    return run_id
