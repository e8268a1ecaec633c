"""The worker pool with real worker processes: live files while training, progress within an epoch,
Stop mid-epoch, a queue, a worker killed with -9, a stuck worker, and a server restart re-attaching.
And, with a launcher that starts nothing or with threads: the queue's fairness between
workspaces and the run time limit."""
from __future__ import annotations

import json
import os
import shutil
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
    _, snap, _ = runs.read_run(victim)
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


class FakeHandle:
    """A 'worker' that trains nothing and ends when the test says so."""

    def __init__(self, request: pool.Request):
        self.request, self.pid, self.code = request, os.getpid(), None

    def poll(self):
        return self.code

    def kill(self):
        self.code = -9

    def finish(self):
        runs.mark_ended(self.request.run_dir, self.request.run_id, "finished", "finished 2 epochs")
        self.code = 0


class FakeLauncher:
    """Starts nothing: records the order runs were given a worker in."""

    def __init__(self):
        self.handles: dict[str, FakeHandle] = {}
        self.started: list[str] = []

    def prewarm(self):
        pass

    def close(self):
        pass

    def launch(self, request):
        self.handles[request.run_id] = FakeHandle(request)
        self.started.append(request.run_id)
        return self.handles[request.run_id]


def test_served_order_takes_turns_between_workspaces_and_says_who_is_held_back():
    """The workspace with the fewest runs training goes next; within one, first come first served."""
    queue = [pool.Request(name, "", {}, ws) for name, ws in
             [("a3", "A"), ("a4", "A"), ("b1", "B"), ("c1", None), ("b2", "B")]]
    order = pool._served_order(queue, {"A": 2})
    assert [(r.run_id, held) for r, held in order] == [
        ("b1", False), ("c1", False), ("b2", False), ("a3", True), ("a4", True)]
    assert [r.run_id for r, _ in pool._served_order(queue[:2], {"A": 2})] == ["a3", "a4"]  # alone: in order
    # nothing training anywhere: the workspace served longest ago goes first, then they alternate
    order = pool._served_order(queue, {}, {"A": 5, "B": 3})
    assert [r.run_id for r, _ in order] == ["c1", "b1", "a3", "b2", "a4"]


def test_a_workspace_with_a_run_training_waits_behind_one_with_none(run_store):
    """One visitor's run trains and two more wait; a second visitor's run, submitted last, is next
    in line, and the page's message says why the first visitor's runs wait (the issue: "Queued · 9
    of 9" behind one visitor's runs)."""
    launcher = FakeLauncher()
    p = pool.Pool(launcher, max_workers=1, tick=0.02, max_run_seconds=0)
    spec = tiny_spec()
    a1 = submit(p, run_store, spec, "A")
    wait(lambda: launcher.started == [a1.name])
    a2, a3 = submit(p, run_store, spec, "A"), submit(p, run_store, spec, "A")
    b1 = submit(p, run_store, spec, "B")
    wait(lambda: live(b1).get("queue_position") == 1 and live(a3).get("queue_position") == 3)
    assert live(b1)["message"] == "queued, position 1 of 3"
    assert live(a2)["message"] == ("queued, position 2 of 3: waiting for other visitors' runs (workspaces take "
                                   "turns; this one has 1 training)")
    for run_dir, then in ((a1, b1), (b1, a2), (a2, a3)):
        launcher.handles[run_dir.name].finish()
        wait(lambda: launcher.started[-1] == then.name, timeout=10)
    assert launcher.started == [a1.name, b1.name, a2.name, a3.name]
    assert json.loads((a1 / "run.json").read_text())["status"] == "finished"


def test_a_run_over_the_time_limit_is_stopped_like_stop_and_names_the_limit(run_store):
    """A run that trains longer than RNNLAB_MAX_RUN_SECONDS is stopped after its batch, saved as
    stopped with the epochs it finished, and its message names the limit and the variable."""
    p = pool.Pool(pool.InThreads(), max_workers=1, max_run_seconds=2.0)
    run_dir = submit(p, run_store, tiny_spec(train={"epochs": 500, "batch_size": 8}))
    wait(lambda: ended(run_dir) and not p.knows(run_dir.name), timeout=60)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped" and info["epoch"] < 500
    assert info["message"].startswith(f"stopped at epoch {info['epoch']} of 500: it trained longer than 2 s")
    assert "RNNLAB_MAX_RUN_SECONDS=2" in info["message"] and "model of its last epoch is saved" in info["message"]
    _, snap, _ = runs.read_run(run_dir)
    assert snap.status == "stopped" and len(snap.history["loss"]) == info["epoch"]
    assert (run_dir / "model.keras").is_file()


def test_the_time_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("RNNLAB_MAX_RUN_SECONDS", raising=False)
    assert pool.time_limit() == 3 * 3600
    monkeypatch.setenv("RNNLAB_MAX_RUN_SECONDS", "90")
    assert pool.time_limit() == 90 and pool.Pool(FakeLauncher(), 1).max_run_seconds == 90
    monkeypatch.setenv("RNNLAB_MAX_RUN_SECONDS", "0")
    assert pool.time_limit() is None and pool.Pool(FakeLauncher(), 1).max_run_seconds is None
    monkeypatch.setenv("RNNLAB_MAX_RUN_SECONDS", "three hours")
    assert pool.time_limit() == 3 * 3600


def test_no_warm_worker_is_started_while_a_run_trains(run_store):
    """A spare's TensorFlow import (3-5 CPU-seconds) must never slow a run that trains: when one of two
    runs ends the other still trains, and the spare starts only once none does."""
    class Counting(FakeLauncher):
        prewarms = 0

        def prewarm(self):
            self.prewarms += 1

    launcher = Counting()
    p = pool.Pool(launcher, max_workers=2, tick=0.02, max_run_seconds=0)
    assert launcher.prewarms == 1  # the pool's first: nothing trains yet
    a, b = submit(p, run_store, tiny_spec(), "A"), submit(p, run_store, tiny_spec(), "B")
    wait(lambda: len(launcher.started) == 2)
    launcher.handles[a.name].finish()
    wait(lambda: not p.knows(a.name))
    time.sleep(0.1)
    assert launcher.prewarms == 1
    launcher.handles[b.name].finish()
    wait(lambda: launcher.prewarms == 2)


def test_workers_run_at_a_lower_cpu_priority_than_the_server(monkeypatch):
    """On one CPU the server draws every visitor's page while workers import TensorFlow and train:
    workers are started RNNLAB_WORKER_NICE (default 10) lower, so the page is served first."""
    monkeypatch.setenv("RNNLAB_WORKER_NICE", "7")
    launcher = pool.LocalProcesses(warm=True)
    launcher.prewarm()
    try:
        spare = launcher._spare
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 7)
        wait(lambda: os.getpriority(os.PRIO_PROCESS, spare.pid) == expected, timeout=10)
    finally:
        launcher.close()
    monkeypatch.setenv("RNNLAB_WORKER_NICE", "zero")
    assert pool.worker_nice() == 10


def test_a_queued_run_whose_folder_is_removed_is_forgotten_and_the_pool_goes_on(run_store, capfd):
    launcher = FakeLauncher()
    p = pool.Pool(launcher, max_workers=1, tick=0.02, max_run_seconds=0)
    try:
        a, b, c = (submit(p, run_store, tiny_spec(), ws) for ws in ("A", "B", "C"))
        wait(lambda: launcher.started == [a.name])
        shutil.rmtree(b)
        wait(lambda: not p.knows(b.name))
        launcher.handles[a.name].finish()
        wait(lambda: launcher.started == [a.name, c.name])  # the next in line starts as before
        assert "worker pool:" not in capfd.readouterr().err
    finally:
        p.close()
