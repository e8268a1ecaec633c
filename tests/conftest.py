"""Shared fixtures: tiny specs and data, and a private run store for every test."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RNNLAB_WORKER", "thread")  # in-process training (fast); tests about the worker ask for processes
if "RNNLAB_STATS_CACHE" not in os.environ:  # ETS/ARIMA fits shared by the session's tests (the same tiny data)
    import tempfile

    os.environ["RNNLAB_STATS_CACHE"] = tempfile.mkdtemp(prefix="rnnlab-stats-")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from core.spec import ExperimentSpec  # noqa: E402

TINY = {
    "data": {"start": "2018-01-01"},  # ~250 trading days of the built-in S&P 500
    "window": {"length": 10},
    "model": {"units": [4]},
    "train": {"epochs": 2, "batch_size": 32},
}


def tiny_spec(**sections) -> ExperimentSpec:
    """A spec that trains in about a second: 2018 only, window 10, LSTM(4), 2 epochs."""
    return ExperimentSpec.from_dict(TINY).replace(**sections)


def ramp_frame(rows: int = 40) -> pd.DataFrame:
    """Close = 0, 1, 2, ... on consecutive days: every window and target can be checked by eye."""
    index = pd.date_range("2020-01-01", periods=rows, freq="D", name="date")
    return pd.DataFrame({"Close": np.arange(rows, dtype=float), "Volume": np.arange(rows) * 10.0}, index=index)


@pytest.fixture(autouse=True)
def run_store(tmp_path, monkeypatch):
    """Every test gets its own run store and cache, so nothing lands in ./runs or ./cache."""
    root = tmp_path / "runs"
    monkeypatch.setenv("RNNLAB_RUNS_DIR", str(root))
    monkeypatch.setenv("RNNLAB_CACHE_DIR", str(tmp_path / "cache"))
    return root


@pytest.fixture(scope="session")
def postgres():
    """The URL of a throwaway PostgreSQL server (tests/pg.py), for this test session."""
    from . import pg

    bin_dir = pg.binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's postgresql is not installed; .ci/run installs it when run as root")
        pytest.skip("PostgreSQL is not installed: apt-get install -y postgresql")
    server = pg.Server(bin_dir)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - say why, with the server's log
        server.stop()
        pytest.fail(f"PostgreSQL did not start ({exc}):\n{server.log()}")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One tiny trained run for the tests that read, copy, damage or bundle a finished run: (run
    directory, its bundle's bytes). Tests copy it before changing anything."""
    from core import data, runs, windows
    from core.training import TrainingJob

    spec = tiny_spec(train={"epochs": 1})
    run_dir = tmp_path_factory.mktemp("trained") / "20260101-000000-aaaaaa"
    job = TrainingJob(spec, windows.make(data.load(spec.data), spec), run_dir=run_dir, run_id=run_dir.name)
    job.run()
    assert job.saved
    return run_dir, runs.bundle(run_dir)
