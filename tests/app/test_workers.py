"""The app through real worker processes (the other app tests train in threads, for speed): live
updates, Stop mid-epoch, a refresh that re-attaches, a worker killed with -9, and two visitors at
once with the queue."""
from __future__ import annotations

import os
import signal

import pytest

from core import livefiles, pool

from ..conftest import tiny_spec
from .helpers import button, loss_points, new_app, param, poll, session_run, status


@pytest.fixture
def processes(monkeypatch):
    """The app's pool, for this test: real worker processes, one at a time, one kept warm."""
    monkeypatch.setenv("RNNLAB_LIVE_SECONDS", "0.2")  # workers write their progress five times a second
    real = pool.Pool(pool.LocalProcesses(warm=True), max_workers=1, grace=5.0)
    monkeypatch.setattr(pool, "_POOL", real)
    yield real
    for run_dir in pool.runs.default_root().glob("*"):  # nothing keeps training after the test
        info = livefiles.read_live(run_dir) or {}
        if info.get("pid") and info.get("pid") != os.getpid():
            try:
                os.kill(int(info["pid"]), signal.SIGKILL)
            except OSError:
                pass
    real.close()


def long_spec():
    return tiny_spec(data={"start": "2014-01-01"}, train={"epochs": 200, "batch_size": 8})


def test_a_run_trains_in_a_worker_live_stops_mid_epoch_and_survives_a_refresh(processes):
    at = new_app(long_spec())
    at.run()
    button(at, "Train").click().run()
    run = session_run(at)
    poll(at, lambda a: loss_points(a) >= 1, timeout=120)
    info = livefiles.read_live(run.path)
    assert info["pid"] != os.getpid() and livefiles.pid_alive(info["pid"])  # a process of its own
    poll(at, lambda a: "batch" in a.get("progress")[0].proto.text and loss_points(a) >= 2)

    fresh = new_app(run=param(at, "run"), ws=param(at, "ws"))  # a refreshed tab: the run goes on
    fresh.run()
    assert session_run(fresh).run_id == run.run_id and status(fresh).startswith("Status: epoch")
    poll(at, lambda a: 0 < (livefiles.read_live(run.path) or {}).get("batch", 0))  # mid-epoch
    button(at, "Stop").click().run()
    poll(at, lambda a: "stopped at epoch" in status(a), timeout=30)
    epochs = int(status(at).split("stopped at epoch ")[1].split()[0])
    assert 2 <= epochs < 200 and loss_points(at) == epochs
    poll(at, lambda a: not livefiles.pid_alive(info["pid"]), timeout=20)  # the worker exits: its memory is back
    fresh.run()
    assert "stopped at epoch" in status(fresh)


def test_two_visitors_queue_and_a_killed_worker_fails_its_run_only(processes):
    first = new_app(long_spec())
    first.run()
    button(first, "Train").click().run()
    poll(first, lambda a: loss_points(a) >= 1, timeout=120)
    second = new_app(tiny_spec(train={"epochs": 1}))  # another visitor, while the only worker is busy
    second.run()
    button(second, "Train").click().run()
    assert "Queued · 1 of 1" in second.get("progress")[0].proto.text
    poll(second, lambda a: any("queued, position 1 of 1" in i.value for i in a.info), timeout=10)
    assert status(second).startswith("Status: queued, position 1 of 1")

    pid = livefiles.read_live(session_run(first).path)["pid"]
    os.kill(int(pid), signal.SIGKILL)  # out of memory, say
    poll(first, lambda a: "killed (signal 9)" in status(a), timeout=30)
    assert status(first).startswith("Status: the worker process was killed")
    poll(second, lambda a: "finished 1 epoch" in status(a), timeout=120)  # the queue moved on
    assert not second.exception and loss_points(second) == 1
