"""The worker pool with real worker processes: live files while training, progress within an epoch,
Stop mid-epoch, a queue, a worker killed with -9, a stuck worker, and a server restart re-attaching."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from core import livefiles, pool, runs
from core.__main__ import main

from .conftest import tiny_spec


def wait(until, timeout: float = 90.0, every: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = until()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def submit(p: pool.Pool, root: Path, spec, workspace: str = "ws") -> Path:
    run_id = runs.new_run_id() + os.urandom(2).hex()
    p.submit(pool.Request(run_id, str(root / run_id), spec.to_dict(), workspace, None))
    return root / run_id


def ended(run_dir: Path) -> bool:
    return (run_dir / "run.json").is_file()


def live(run_dir: Path) -> dict:
    return livefiles.read_live(run_dir) or {}


@pytest.fixture
def processes(monkeypatch):
    monkeypatch.setenv("RNNLAB_LIVE_SECONDS", "0.2")  # live.json five times a second: short epochs show batches
    p = pool.Pool(pool.LocalProcesses(warm=True), max_workers=1, grace=8.0)  # a loaded CI box may take seconds to save
    yield p
    p.close()


def test_a_worker_process_trains_live_and_matches_the_command_line(processes, run_store, tmp_path):
    """Live files appear while the worker trains (batches move within an epoch); the history equals
    the command line's for the same spec and seed; a queued run waits its turn, then trains."""
    spec = tiny_spec(data={"start": "2014-01-01"}, train={"epochs": 2, "batch_size": 8})
    first = submit(processes, run_store, spec)
    second = submit(processes, run_store, spec.replace(train={"epochs": 1}))
    assert live(second)["status"] == "queued"
    wait(lambda: live(second).get("queue_position") == 1 and live(second).get("queue_length") == 1)
    assert "position 1 of 1" in live(second)["message"]
    seen = set()

    def progress():
        info = live(first)
        if info.get("status") == "running" and 0 < info.get("batch", 0) < info["batches"]:
            seen.add("mid-epoch")
        if (first / "history.csv").is_file() and not ended(first):
            seen.add("live history")
        return ended(first)

    wait(progress, every=0.05)
    assert {"mid-epoch", "live history"} <= seen
    info = json.loads((first / "run.json").read_text())
    assert info["status"] == "finished" and info["epoch"] == 2
    assert live(first)["pid"] != os.getpid() and live(first)["parameters"] > 0  # a process of its own
    wait(lambda: ended(second))
    assert json.loads((second / "run.json").read_text())["status"] == "finished"

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    assert main(["train", "--config", str(spec_file), "--out", str(tmp_path / "cli")]) == 0
    worker_history = pd.read_csv(first / "history.csv")
    cli_history = pd.read_csv(tmp_path / "cli" / "history.csv")
    pd.testing.assert_frame_equal(worker_history, cli_history)  # same spec and seed, same history


def test_stop_mid_epoch_and_a_killed_worker(processes, run_store):
    """Stop reaches the worker mid-epoch and the run is saved as stopped; kill -9 of the next
    worker leaves its run failed with a message."""
    long = tiny_spec(data={"start": "2000-01-01"}, train={"epochs": 200, "batch_size": 8})
    run_dir = submit(processes, run_store, long)
    wait(lambda: live(run_dir).get("status") == "running" and live(run_dir).get("batch", 0) > 0, every=0.05)
    asked = time.time()
    processes.stop(run_dir.name, run_dir)
    wait(lambda: ended(run_dir), timeout=30, every=0.05)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped" and info["epoch"] < 200
    assert float(live(run_dir)["updated_at"]) - asked < 15  # stopped and saved promptly
    assert (run_dir / "model.keras").is_file()

    victim = submit(processes, run_store, tiny_spec(data={"start": "2014-01-01"}, train={"epochs": 200}))
    wait(lambda: live(victim).get("epoch", 0) >= 1)
    os.kill(int(live(victim)["pid"]), signal.SIGKILL)
    wait(lambda: ended(victim), timeout=30)
    info = json.loads((victim / "run.json").read_text())
    assert info["status"] == "failed" and "killed (signal 9)" in info["message"] and info["epoch"] >= 1
    _, snap, _ = runs.load(victim)
    assert snap.status == "failed" and len(snap.history["loss"]) == info["epoch"]  # the epochs it finished
    # (that the queue goes on after a kill: tests/app/test_workers.py)


def test_a_stuck_worker_is_killed_and_a_restart_reattaches(run_store):
    """A worker that does not answer Stop within the grace is killed and its run saved as stopped
    with its last epoch; a new pool (a server restart) re-attaches to a worker that still trains."""
    first = pool.Pool(pool.LocalProcesses(warm=False), max_workers=2, grace=2.0)
    long = tiny_spec(data={"start": "2000-01-01"}, train={"epochs": 200, "batch_size": 8})
    run_dir = submit(first, run_store, long)
    wait(lambda: live(run_dir).get("epoch", 0) >= 1)

    with first._lock:  # the old server is gone: nothing watches the worker any more (in a test, one process)
        first._running.clear()
    restarted = pool.Pool(pool.InThreads(), max_workers=1, grace=2.0)
    assert restarted.attach(run_store) == [run_dir.name] and restarted.knows(run_dir.name)
    os.kill(int(live(run_dir)["pid"]), signal.SIGSTOP)  # it hangs: Stop cannot reach it
    done = live(run_dir)["epoch"]
    restarted.stop(run_dir.name, run_dir)
    wait(lambda: ended(run_dir), timeout=30)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped" and "did not answer" in info["message"] and info["epoch"] == done
    assert not livefiles.pid_alive(int(live(run_dir)["pid"]))
    first.close()
