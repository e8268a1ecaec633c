"""A signal stops a command within seconds, as Stop does in the app (issue 26, item 10): `train`
saves its run as stopped and exits 128 + the signal; `sweep` and `backtest` stop their workers
(no worker outlives them, even after SIGKILL) and the sweep's trial is failed in the study.

Real processes, with a tiny model on a slow setup (batch size 1, thousands of batches an epoch),
so a run that waited for its epoch, or a worker left training, shows."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from core import livefiles, sweep

ROOT = Path(__file__).resolve().parents[1]
SLOW = {"data": {"source": "synthetic", "name": "sine", "target": "value", "features": ["value"],
                 "params": {"points": 1000}},
        "window": {"length": 10}, "model": {"units": [4]}, "train": {"epochs": 200, "batch_size": 1}}


def _env(store: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RNNLAB_RUNS_DIR": str(store), "RNNLAB_WORKER": "process",
            "RNNLAB_WARM_WORKERS": "0", "RNNLAB_MAX_WORKERS": "1",
            "RNNLAB_STOP_GRACE": "40"}  # a loaded test machine: the save must not be cut short here


def _training(run_dirs, timeout: float = 180, epoch: int = 0) -> dict:
    """live.json of the first run that is inside an epoch after `epoch` (a batch done), waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run_dir in run_dirs():
            info = livefiles.read_live(run_dir) or {}
            if (info.get("status") == "running" and info.get("pid") and (info.get("batch") or 0) >= 1
                    and (info.get("epoch") or 0) >= epoch):
                return {**info, "run_dir": run_dir}
        time.sleep(0.2)
    raise AssertionError("no run started training")


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not livefiles.pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _ended_within(proc: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running {seconds} s after the signal") from None
    return time.monotonic() - started


def test_sigterm_stops_train_after_its_batch_saves_the_run_and_exits_143(tmp_path):
    (tmp_path / "slow.json").write_text(json.dumps(SLOW))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", "--config", str(tmp_path / "slow.json"),
                             "--out", str(out)], cwd=ROOT, env=_env(tmp_path / "store"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    info = _training(lambda: [out], epoch=1)  # the first epoch fitted the statistical baselines (seconds)
    assert info["epoch"] == 1 and info["pid"] == proc.pid  # inside the second epoch
    proc.send_signal(signal.SIGTERM)
    took = _ended_within(proc, 20)
    _, err = proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.startswith("error: stopped by SIGTERM: stopped at epoch 2 of 200"), err
    saved = json.loads((out / "run.json").read_text())
    assert saved["status"] == "stopped" and (out / "model.keras").is_file()
    assert took < 15, took


def test_sigterm_to_a_sweep_ends_its_worker_and_fails_the_trial(tmp_path):
    store = tmp_path / "store"
    (tmp_path / "slow.json").write_text(json.dumps(SLOW))
    (tmp_path / "space.json").write_text(json.dumps({"model.cell": {"choices": ["GRU"]}}))
    proc = subprocess.Popen([sys.executable, "-m", "core", "sweep", "--config", str(tmp_path / "slow.json"),
                             "--space", str(tmp_path / "space.json"), "--trials", "1", "--study", "sig"],
                            cwd=ROOT, env=_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = _training(lambda: store.glob("2*"))
    assert info["pid"] != proc.pid  # a worker process of its own
    proc.send_signal(signal.SIGTERM)
    took = _ended_within(proc, 30)
    out, err = proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM and err.startswith("error: stopped by SIGTERM"), (out, err)
    assert _gone(info["pid"], 5), "the worker outlived the sweep"
    assert json.loads((info["run_dir"] / "run.json").read_text())["status"] == "stopped"
    study = optuna.load_study(study_name="sig", storage=sweep.storage(None, store, "sig"))
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL]
    assert took < 25, took


def test_a_sweep_killed_with_sigkill_leaves_no_worker_and_its_trial_is_failed_later(tmp_path):
    store = tmp_path / "store"
    (tmp_path / "slow.json").write_text(json.dumps(SLOW))
    (tmp_path / "space.json").write_text(json.dumps({"model.cell": {"choices": ["GRU"]}}))
    proc = subprocess.Popen([sys.executable, "-m", "core", "sweep", "--config", str(tmp_path / "slow.json"),
                             "--space", str(tmp_path / "space.json"), "--trials", "1", "--study", "kill"],
                            cwd=ROOT, env=_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = _training(lambda: store.glob("2*"))
    proc.kill()
    proc.communicate()
    assert _gone(info["pid"], 20), "the worker trains on as an orphan"
    assert json.loads((info["run_dir"] / "run.json").read_text())["status"] == "stopped"
    study = optuna.load_study(study_name="kill", storage=sweep.storage(None, store, "kill"))
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING]  # nobody could tell it
    assert sweep.fail_orphans(study, store) == [0]  # what the next sweep on this study does first
    trial, = study.get_trials()
    assert trial.state == optuna.trial.TrialState.FAIL and "killed" in trial.user_attrs["error"]


def test_sigterm_to_a_backtest_stops_its_folds_and_writes_nothing(tmp_path):
    store, out = tmp_path / "store", tmp_path / "bt"
    spec = {**SLOW, "split": {"val": 100, "test": 100}}
    (tmp_path / "slow.json").write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-m", "core", "backtest", "--config", str(tmp_path / "slow.json"),
                             "--folds", "2", "--workers", "1", "--out", str(out)],
                            cwd=ROOT, env=_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = _training(lambda: store.glob("2*"))
    proc.send_signal(signal.SIGTERM)
    took = _ended_within(proc, 30)
    _, err = proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM and "nothing was written" in err, err
    assert _gone(info["pid"], 5), "the worker outlived the backtest"
    statuses = sorted(json.loads((d / "run.json").read_text())["status"] for d in store.glob("2*"))
    assert statuses == ["stopped", "stopped"]  # the training fold after its batch, the queued one at once
    assert not out.exists()
    assert took < 25, took
