"""core/sweep.py and `python -m core sweep`: spaces checked up front, trials as ordinary runs,
invalid samples, pruning, a killed worker's trial retried once, and two machines on one
PostgreSQL study (a real server, started by the fixture in tests/pg.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from core import livefiles, pool, runs, sweep
from core.__main__ import main

from .conftest import tiny_spec

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"model.cell": {"choices": ["SimpleRNN", "GRU"]}, "train.learning_rate": {"float": [1e-3, 1e-2], "log": True}}


def _files(tmp_path, spec, space) -> tuple[str, str]:
    (tmp_path / "base.json").write_text(spec.to_json())
    (tmp_path / "space.json").write_text(json.dumps(space))
    return str(tmp_path / "base.json"), str(tmp_path / "space.json")


def _study(name: str, root: Path, metric: str = "val_rmse", seed: int = 0):
    return sweep.open_study(name, sweep.storage(None, root, name), metric, seed)


def _sweep(study, root, base, space, trials, slots=1, launcher=None, metric="val_rmse") -> sweep.Sweep:
    runner = pool.Pool(launcher or pool.InThreads(), slots, grace=20)
    return sweep.Sweep(base, sweep.parse_space(space, base), study, trials, runner, root, slots=slots, metric=metric)


@pytest.mark.parametrize("space, field, words", [
    ({"model.layers": {"choices": [1, 2]}}, "model.layers", "is not a spec field"),
    ({"model.cell": {"choices": ["Transformer", "Mamba"]}}, "model.cell", "none of its values gives a valid spec"),
    ({"window.length": {"int": [90, 10]}}, "window.length", "not a range"),
    ({"window.length": {"int": [10.5, 20]}}, "window.length", "two whole numbers"),
    ({"train.learning_rate": {"float": [0, 0.1], "log": True}}, "train.learning_rate", "low above 0"),
    ({"model.units": {"choices": []}}, "model.units", "list of 1 to"),
    ({"model.cell": {"choices": ["LSTM"], "int": [1, 2]}}, "model.cell", "give one of"),
    ([], "space", "JSON object"),
])
def test_a_space_that_cannot_work_is_refused_up_front_naming_the_field(tmp_path, capsys, space, field, words):
    with pytest.raises(sweep.SweepError) as caught:
        sweep.parse_space(space, tiny_spec())
    assert caught.value.field == field and words in str(caught.value)
    config, space_file = _files(tmp_path, tiny_spec(), space)
    assert main(["sweep", "--config", config, "--space", space_file, "--trials", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field}: ")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("2*"))  # no trial started


def test_the_command_line_runs_n_trials_as_runs_and_reports_the_best_once_against_the_baselines(
        tmp_path, capsys, run_store):
    config, space_file = _files(tmp_path, tiny_spec(), SPACE)
    assert main(["sweep", "--config", config, "--space", space_file, "--trials", "3", "--workers", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    trial_lines = [line for line in out if line.startswith("trial ")]
    assert len(trial_lines) == 3
    name = out[0].split()[1]
    assert (run_store / "sweeps" / f"{name}.journal").is_file()  # the embedded journal, in the run store
    study = _study(name, run_store)
    counted = sweep.counted(study)
    assert len(counted) == 3 and len({t.user_attrs["run_id"] for t in counted}) == 3
    for t in counted:  # every trial is an ordinary run, tagged with its study and trial
        row = runs.summary(runs.find(t.user_attrs["run_id"], run_store))
        assert (row["study"], row["trial"]) == (name, t.number)
        if t.state == optuna.trial.TrialState.COMPLETE:  # the objective: validation RMSE in original units
            metrics = json.loads((run_store / t.user_attrs["run_id"] / "metrics.json").read_text())
            assert t.value == pytest.approx(metrics["val"]["rmse"])
    best = sweep.best(study)
    assert f"best: trial {best['number']}, val_rmse {best['value']:.4f}, run {best['run_id']}" in "\n".join(out)
    test = json.loads((run_store / best["run_id"] / "metrics.json").read_text())["test"]
    assert any(line.startswith(f"test (used once, now): RMSE {test['rmse']:.4f}") for line in out)
    assert any(line.startswith("verdict: the best trial ") for line in out)
    # The same command again joins the same study: it has its trials, so nothing more runs.
    assert main(["sweep", "--config", config, "--space", space_file, "--trials", "3"]) == 0
    assert len(sweep.counted(_study(name, run_store))) == 3


def test_an_invalid_combination_is_a_failed_trial_with_its_reason_not_a_crash(run_store):
    base = tiny_spec()
    space = {"model.mode": {"choices": ["many_to_one", "direct"]}}  # direct needs a horizon of 2 or more
    study = _study("invalid", run_store)
    study.enqueue_trial({"model.mode": json.dumps("direct")})
    study.enqueue_trial({"model.mode": json.dumps("many_to_one")})
    job = _sweep(study, run_store, base, space, trials=2).start()
    job.join(120)
    failed, done = sweep.counted(study)
    assert failed.state == optuna.trial.TrialState.FAIL and "horizon" in failed.user_attrs["error"]
    assert "run_id" not in failed.user_attrs  # nothing was trained for it
    assert done.state == optuna.trial.TrialState.COMPLETE
    assert [o.state for o in job.outcomes] == ["failed", "complete"] and "invalid settings" in job.outcomes[0].note


def test_a_trial_worse_than_the_median_is_pruned_and_its_run_says_so(run_store):
    base = tiny_spec(train={"epochs": 30, "optimizer": "sgd"})
    space = {"train.learning_rate": {"float": [1e-6, 0.5], "log": True}}
    study = _study("prune", run_store)
    for lr in (0.3, 0.3, 1e-6):  # two that learn, then one that cannot move in 30 epochs
        study.enqueue_trial({"train.learning_rate": lr})
    job = _sweep(study, run_store, base, space, trials=3).start()
    job.join(180)
    first, second, slow = sweep.counted(study)
    assert first.state == second.state == optuna.trial.TrialState.COMPLETE
    assert slow.state == optuna.trial.TrialState.PRUNED
    pruned_at = max(slow.intermediate_values)
    assert 2 <= pruned_at < 30
    info = json.loads((run_store / slow.user_attrs["run_id"] / "run.json").read_text())
    assert info["status"] == "pruned" and f"pruned at epoch {pruned_at}" in info["message"]
    assert info["epoch"] < 30  # stopped early: the pruner saved the rest of its epochs
    assert [r["state"] for r in sweep.trials_table(study)] == ["complete", "complete", "pruned"]


def test_a_killed_workers_trial_is_failed_and_retried_once(run_store):
    base = tiny_spec(train={"epochs": 40})
    study = _study("killed", run_store)
    job = _sweep(study, run_store, base, {"model.cell": {"choices": ["GRU"]}}, trials=1,
                 launcher=pool.LocalProcesses(warm=False)).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        live = [livefiles.read_live(d) or {} for d in run_store.glob("2*")]
        if any(info.get("pid") and info.get("epoch", 0) >= 1 for info in live):
            break
        time.sleep(0.1)
    pid = next(info["pid"] for info in live if info.get("pid"))
    os.kill(pid, signal.SIGKILL)
    job.join(180)
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert "worker process was killed" in trials[0].user_attrs["error"]
    assert trials[1].user_attrs["retry_of"] == 0 and trials[1].params == trials[0].params
    assert len(sweep.counted(study)) == 1  # the retry does not count against N
    killed, retried = (runs.summary(runs.find(t.user_attrs["run_id"], run_store)) for t in trials)
    assert killed["status"] == "failed" and retried["status"] == "finished"


def test_two_machines_share_one_postgresql_study_without_running_a_trial_twice(tmp_path, postgres):
    config, space_file = _files(tmp_path, tiny_spec(), {**SPACE, "window.length": {"int": [5, 20], "step": 5}})
    stores = [tmp_path / "store-a", tmp_path / "store-b"]  # two machines, each with its own run store
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNLAB_WORKER": "thread"}
    command = [sys.executable, "-m", "core", "sweep", "--config", config, "--space", space_file, "--trials", "5",
               "--storage", postgres, "--study", "shared"]
    procs = [subprocess.Popen(command, cwd=ROOT, env={**env, "RNNLAB_RUNS_DIR": str(store)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for store in stores]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=sweep.storage(postgres, tmp_path, "shared"))
    counted = sweep.counted(study)
    assert len(counted) == 5  # N across both machines, never more
    tagged = [json.loads(f.read_text())["trial"] for store in stores for f in store.glob("*/sweep.json")]
    assert sorted(tagged) == sorted(t.number for t in counted)  # each trial trained once, on one machine
    assert all(len([line for line in out.splitlines() if line.startswith("trial ")]) >= 1 for out, _ in outputs)


def test_a_classifier_sweep_reports_accuracy_to_the_pruner_and_decodes_number_choices(run_store):
    from core import presets

    base = presets.get("next-letter-4").experiment().replace(train={"epochs": 3})
    study = _study("letters", run_store, metric="val_accuracy")
    space = {"model.cell": {"choices": ["SimpleRNN", "GRU"]}, "train.batch_size": {"choices": [16, 32]}}
    job = _sweep(study, run_store, base, space, trials=2, metric="val_accuracy").start()
    job.join(180)
    done = [t for t in sweep.counted(study) if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all(0 <= t.value <= 100 for t in done)
    reported = {t.number: t.intermediate_values for t in sweep.counted(study)}
    history = {t.number: runs.read_history(run_store / t.user_attrs["run_id"]) for t in sweep.counted(study)}
    for number, values in reported.items():  # the pruner saw accuracies (fractions), not losses
        assert list(values.values()) == history[number]["val_accuracy"][: len(values)]
    best = sweep.best(study)
    assert isinstance(best["params"]["train.batch_size"], int)  # 16, not "16"


@pytest.mark.parametrize("content, words", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (" " * 1_000_001, "larger than 1,000,000 bytes"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    ('{"model.cell": {"choices": ["LSTM", "GRU"]}}', None),  # a good space, to show the others are refused for cause
])
def test_a_hostile_space_file_is_refused_in_one_line_before_anything_trains(tmp_path, capsys, content, words):
    config, space_file = _files(tmp_path, tiny_spec(), {})
    path = tmp_path / "space.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if words is None:
        assert sweep.parse_space(json.loads(path.read_text()), tiny_spec())
        return
    assert main(["sweep", "--config", config, "--space", str(path), "--trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


@pytest.mark.parametrize("flag, value, words", [("--trials", "0", "--trials"), ("--trials", "10001", "--trials"),
                                                 ("--workers", "65", "--workers"), ("--study", "../x", "--study")])
def test_sweep_settings_out_of_range_are_refused(tmp_path, capsys, flag, value, words):
    config, space_file = _files(tmp_path, tiny_spec(), SPACE)
    args = ["sweep", "--config", config, "--space", space_file, "--trials", "2", flag, value]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(f"error: {words}")


@pytest.mark.parametrize("text, words", [
    ('{"window.length": {"int": [10, 20]}, "window.length": {"int": [30, 40]}}', "the key 'window.length' twice"),
    ('{"window.length": {"int": [10, 20], "int": [30, 40]}}', "the key 'int' twice"),
    ('{"train.learning_rate": {"float": [NaN, 0.1]}}', "train.learning_rate: low is NaN, which is not a number"),
    ('{"train.learning_rate": {"float": [0.001, Infinity]}}', "high is inf, which is not a finite number"),
    ('{"train.learning_rate": {"float": [0.001, 0.1], "step": NaN}}', "step must be a positive finite number"),
])
def test_duplicate_keys_and_nan_ranges_in_a_space_are_refused_saying_so(tmp_path, capsys, text, words):
    config, _ = _files(tmp_path, tiny_spec(), {})
    (tmp_path / "space.json").write_text(text)
    assert main(["sweep", "--config", config, "--space", str(tmp_path / "space.json"), "--trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "low must not be above high" not in err[0], err
