"""Stop for the Runs page's backtests and sweeps, and the memory race as a run of the worker pool:
Stop ends their queued and running runs through the pool and leaves the page usable; the race
trains in a worker, and the web server imports no TensorFlow for it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import livefiles, pool, runs

from ..conftest import tiny_spec
from .helpers import button, open_page, runs_section, table
from ui import backtest_views, sweep_views

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def one_worker(monkeypatch):
    """The app's pool, for this test: one run at a time, trained in threads."""
    real = pool.Pool(pool.InThreads(), max_workers=1, grace=30.0)
    monkeypatch.setattr(pool, "_POOL", real)
    return real


def wait(until, timeout: float = 120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if until():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def training(run_dir: Path) -> bool:
    info = livefiles.read_live(run_dir) or {}
    return info.get("status") == "running" and info.get("message") not in (None, "starting",
                                                                           "starting: a worker takes the run")


def test_stop_ends_a_running_backtest_and_leaves_the_page_usable(one_worker, run_store):
    at = runs_section(tiny_spec(split={"val": 20, "test": 20}, train={"epochs": 500}), "Backtest")
    at.number_input(key="backtest_folds").set_value(3).run()
    button(at, "Run the backtest").click().run()

    def first_fold_queued(j) -> bool:  # the job's thread submits the folds while the page draws
        return bool(j.folds[0].run_id) and (run_store / j.folds[0].run_id).is_dir()

    wait(lambda: any(first_fold_queued(j) for j in backtest_views._backtests().values()))
    job = next(j for j in backtest_views._backtests().values() if first_fold_queued(j))
    wait(lambda: training(run_store / job.folds[0].run_id))
    at.run()
    button(at, "Stop the backtest").click().run()
    assert not at.exception, at.exception
    job.join(90)
    assert not job.alive
    at.run()
    ended = [runs.read_run(run_store / f.run_id)[1] for f in job.folds]
    assert [s.status for s in ended] == ["stopped"] * 3 and ended[0].epoch < 500
    assert all("before it started" in s.message for s in ended[1:])  # the queued folds ended at once
    assert any("The backtest was stopped: 0 of 3 folds finished" in w.value for w in at.warning)
    assert not button(at, "Run the backtest").disabled  # the page is usable again
    assert not one_worker.knows(job.folds[0].run_id)


def test_stop_ends_a_running_sweep_and_leaves_the_page_usable(one_worker, run_store):
    at = runs_section(tiny_spec(train={"epochs": 500}), "Sweep")
    at.multiselect(key="sweep_cells").set_value(["SimpleRNN", "GRU"]).run()
    at.multiselect(key="sweep_units").set_value(["8"]).run()
    at.number_input(key="sweep_trials").set_value(3).run()
    at.number_input(key="sweep_workers").set_value(1).run()
    button(at, "Start the sweep").click().run()
    job = next(iter(j for j in sweep_views._sweeps().values() if j.root == run_store))
    wait(lambda: any(training(run_store / r) for r in dict(job.running).values()))
    run_id = next(iter(dict(job.running).values()))
    at.run()
    button(at, "Stop the sweep").click().run()
    assert not at.exception, at.exception
    job.join(90)
    assert not job.alive
    at.run()
    snap = runs.read_run(run_store / run_id)[1]
    assert snap.status == "stopped" and snap.epoch < 500
    assert len(table(at, "trial")) == 1  # no trial started after the Stop
    assert not button(at, "Start the sweep").disabled


def test_the_memory_race_on_inspect_is_a_pool_run_that_stops(one_worker, run_store):
    at = open_page("inspect")
    at.segmented_control(key="inspect_view").set_value("Memory race").run()
    next(m for m in at.multiselect if m.label == "Lags k").set_value([5, 10])
    next(n for n in at.number_input if n.label == "Epochs").set_value(100)
    button(at, "Run the race").click().run()
    race = at.session_state["memory_race"]
    assert race.run_dir.parent == run_store.resolve() and one_worker.knows(race.run_id)
    wait(lambda: "training" in race.state().message)
    at.run()
    button(at, "Stop the race").click().run()
    final = race.join(90)
    # Stop ends the training under way after its batch: on a loaded machine the first of the six may
    # have ended before Stop came (it once read "1 of 6"), never all of them.
    assert final.status == "stopped" and re.fullmatch(r"stopped after [0-5] of 6", final.message), final.message
    assert json.loads((race.run_dir / "run.json").read_text())["status"] == "stopped"
    at.run()
    assert not at.exception, at.exception
    assert not button(at, "Run the race").disabled
    assert any("Stopped early" in c.value for c in at.caption)
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("History").run()
    assert not at.exception, at.exception  # the race is a tagged run directory: History leaves it out
    assert any(i.value.startswith("No runs in this workspace yet") for i in at.info)


SCRIPT = """
import json, os, sys, time
from streamlit.testing.v1 import AppTest
from core import pool

class Handle:  # a worker that never reports back: the race stays "running" while the page is drawn
    pid = os.getpid()
    def poll(self):
        return None
    def kill(self):
        pass

class Launcher:  # starts no worker: this test is about what the server itself imports
    requests = []
    def prewarm(self):
        pass
    def close(self):
        pass
    def launch(self, request):
        self.requests.append(request)
        return Handle()

launcher = Launcher()
pool._POOL = pool.Pool(launcher, 1)
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
at.switch_page("pages/inspect.py").run()
at.segmented_control(key="inspect_view").set_value("Memory race").run()
next(b for b in at.button if b.label == "Run the race").click().run()
deadline = time.time() + 20
while not launcher.requests and time.time() < deadline:
    time.sleep(0.1)
at.run()
assert not at.exception, at.exception
print(json.dumps({"modules": sorted(m for m in ("tensorflow", "keras") if m in sys.modules),
                  "kinds": [r.kind for r in launcher.requests],
                  "progress": [p.proto.text for p in at.get("progress")]}))
"""


def test_the_memory_race_is_sent_to_a_worker_and_the_server_imports_no_tensorflow(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "RNNLAB_RUNS_DIR": str(tmp_path / "runs"), "RNNLAB_CACHE_DIR": str(tmp_path / "c"),
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "app.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["modules"] == [] and seen["kinds"] == ["memory_race"]
    assert seen["progress"] == ["0 of 12 trainings · starting: a worker takes the run"]
