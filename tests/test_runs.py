"""core/runs.py: the run store. Ids, what a saved run holds, the list a workspace sees, delete,
runs that ended without their worker's save, interrupted runs, and the bundle round trip.

One tiny run is trained once for the module (LSTM(3), 1 epoch); each test copies it into its own
store. The refusals of hostile bundles are in test_hostile_imports.py; a live run read from disk
and the basic save/load round trip in test_training.py."""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import data, livefiles, runs, windows
from core.runstore import submit as submitting
from core.training import TrainingJob

from .conftest import tiny_spec

OWNER, OTHER = runs.workspace_id("owner-token"), runs.workspace_id("other-token")
RUN_ID = "20260101-000000-aaaaaa"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run of OWNER's: (run directory, spec, windows, final snapshot, job)."""
    base = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNLAB_CACHE_DIR", str(base / "cache"))
        spec = tiny_spec(model={"units": [3]}, train={"epochs": 1})
        w = windows.make(data.load(spec.data), spec)
        run_dir = base / RUN_ID
        job = TrainingJob(spec, w, run_dir=run_dir, run_id=RUN_ID, workspace=OWNER)
        final = job.run()
    assert job.saved and final.status == "finished"
    return run_dir, spec, w, final, job


def copy_run(source: Path, root: Path, run_id: str, **run_json) -> Path:
    """A copy of a run under root/run_id, with run.json's fields changed as given."""
    target = root / run_id
    shutil.copytree(source, target)
    info = json.loads((target / "run.json").read_text())
    (target / "run.json").write_text(json.dumps({**info, "run_id": run_id, **run_json}))
    return target


def started_only(root: Path, run_id: str, workspace: str | None, started_at: str, spec=None) -> Path:
    """A run that was queued or began training, then its process went away: started.json only."""
    run_dir = root / run_id
    runs.mark_started(run_dir, run_id, workspace, spec or tiny_spec())
    info = json.loads((run_dir / "started.json").read_text())
    (run_dir / "started.json").write_text(json.dumps({**info, "started_at": started_at}))
    return run_dir


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# -- ids --------------------------------------------------------------------------------------------
def test_new_run_ids_are_valid_distinct_and_start_with_the_time():
    before = time.time()
    ids = [runs.new_run_id() for _ in range(20)]
    assert len(set(ids)) == 20
    for run_id in ids:
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", run_id) and runs.valid_id(run_id)
        stamp = time.mktime(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
        assert before - 1 <= stamp <= time.time()


@pytest.mark.parametrize("bad", ["", ".", "..", "../outside", "a/b", "a\\b", "/etc", "run.json", " x", "x\n"])
def test_ids_that_could_name_a_path_are_refused_everywhere(bad, run_store):
    assert not runs.valid_id(bad) and not runs.valid_id(None)
    outside = run_store.parent / "outside"  # what "../outside" would reach: a finished run of OWNER's
    runs.mark_started(outside, "outside", OWNER)
    (outside / "run.json").write_text(json.dumps({"run_id": "outside", "status": "finished", "workspace": OWNER}))
    assert runs.find(bad, run_store) is None and runs.interrupted(bad, run_store) is None
    assert runs.delete(bad, run_store, OWNER) is False  # (OWNER: a broken check could only reach this folder)
    assert (outside / "run.json").is_file()


def test_workspace_id_is_a_short_hash_of_the_token():
    assert re.fullmatch(r"[0-9a-f]{20}", OWNER) and OWNER == runs.workspace_id("owner-token")
    assert OWNER != OTHER and "owner" not in OWNER
    assert runs.workspace_id(None) is None and runs.workspace_id("") is None


# -- a saved run ------------------------------------------------------------------------------------
def test_a_saved_run_holds_its_state_history_windows_and_weights(trained):
    run_dir, spec, w, final, job = trained
    info = json.loads((run_dir / "run.json").read_text())
    assert {k: info[k] for k in ("run_id", "status", "epoch", "epochs", "workspace")} == \
        {"run_id": RUN_ID, "status": "finished", "epoch": 1, "epochs": 1, "workspace": OWNER}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", info["saved_at"]) and info["elapsed_seconds"] > 0
    assert runs.owner(run_dir) == OWNER and runs.find(RUN_ID, run_dir.parent) == run_dir

    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.columns) == ["epoch", "loss", "val_loss"] and list(history["epoch"]) == [1]
    assert history["loss"].tolist() == pytest.approx(final.history["loss"])

    _, snap, frame = runs.read_run(run_dir)
    for split in ("val", "test"):  # one row per target, on the windows' own dates and truth
        part = frame[frame["split"] == split]
        assert list(part["date"]) == list(pd.DatetimeIndex(w.dates[split]))
        np.testing.assert_allclose(part["truth"], w.truth[split], rtol=1e-6)
        np.testing.assert_allclose(part["naive"], w.naive[split], rtol=1e-6)
        np.testing.assert_allclose(snap.predictions[split], final.predictions[split], rtol=1e-6)

    kept = runs.weight_history(run_dir)  # before training and after the one epoch
    assert sorted(kept) == [0, 1]
    assert [a.shape for a in kept[1]] == [a.shape for a in job.model.get_weights()]
    for saved, now in zip(kept[1], job.model.get_weights()):
        np.testing.assert_array_equal(saved, now)
    assert (run_dir / "started.json").is_file() and runs.interrupted(RUN_ID, run_dir.parent) is None  # it ended


def test_a_metric_that_is_not_a_number_is_saved_as_null_and_read_back_as_nan(trained, run_store):
    run_dir, spec, w, final, job = trained
    snap = dataclasses.replace(final, metrics={**final.metrics, "test": {**final.metrics["test"], "mape": float("nan")}})
    runs.save(run_store / "nan", spec, w, snap, job.model)
    text = (run_store / "nan" / "metrics.json").read_text()

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    assert json.loads(text, parse_constant=refuse)["test"]["mape"] is None  # strict JSON for the browser
    _, snap, _ = runs.read_run(run_store / "nan")
    assert math.isnan(snap.metrics["test"]["mape"]) and snap.metrics["test"]["rmse"] == final.metrics["test"]["rmse"]


# -- the list, and delete ---------------------------------------------------------------------------
def test_a_workspace_lists_its_own_runs_newest_first(trained, run_store):
    source = trained[0]
    old = copy_run(source, run_store, "20260101-100000-aaaaaa", saved_at="2026-01-01T10:00:00")
    new = copy_run(source, run_store, "20260102-100000-bbbbbb", saved_at="2026-01-02T10:00:00")
    copy_run(source, run_store, "20260103-100000-cccccc", saved_at="2026-01-03T10:00:00", workspace=OTHER)
    copy_run(source, run_store, "20260104-100000-dddddd", saved_at="2026-01-04T10:00:00", workspace=None)
    gone = started_only(run_store, "20260101-120000-eeeeee", OWNER, "2026-01-01T12:00:00")
    damaged = copy_run(source, run_store, "20260105-100000-ffffff")
    (damaged / "run.json").write_text("{not json")
    (run_store / "notes.txt").write_text("not a run")
    (run_store / "empty-folder").mkdir()

    mine = runs.list_runs(run_store, OWNER)
    assert [r["run_id"] for r in mine] == [new.name, gone.name, old.name]
    row = mine[0]
    metrics = json.loads((new / "metrics.json").read_text())
    assert {k: row[k] for k in ("status", "epoch", "epochs", "cell", "units", "data", "target", "setup")} == \
        {"status": "finished", "epoch": 1, "epochs": 1, "cell": "LSTM", "units": "3", "data": "sp500",
         "target": "Close", "setup": "w10"}
    assert row["rmse"] == metrics["test"]["rmse"] and row["naive_rmse"] == metrics["baselines"]["naive"]["rmse"]
    assert Path(row["path"]) == new
    assert mine[1]["status"] == "interrupted" and mine[1]["rmse"] is None
    assert mine[1]["saved_at"] == "2026-01-01T12:00:00"

    assert [r["run_id"] for r in runs.list_runs(run_store, OTHER)] == ["20260103-100000-cccccc"]
    # The command line's, and the run whose run.json (which names the workspace) is damaged: it lists, as failed,
    # so it can be deleted there; no browser's workspace sees it.
    assert [(r["run_id"], r["status"]) for r in runs.list_runs(run_store, None)] == [
        ("20260104-100000-dddddd", "finished"), (damaged.name, "failed")]
    everyone = [r["run_id"] for r in runs.list_runs(run_store, everyone=True)]
    assert everyone == ["20260104-100000-dddddd", "20260103-100000-cccccc", new.name, gone.name, old.name, damaged.name]
    assert runs.list_runs(run_store / "missing", OWNER) == []


def test_delete_removes_only_an_ended_run_of_the_workspace(trained, run_store):
    run = copy_run(trained[0], run_store, RUN_ID)
    assert not runs.delete(RUN_ID, run_store, OTHER) and not runs.delete(RUN_ID, run_store, None)
    assert run.is_dir()
    training = started_only(run_store, "20260101-000000-bbbbbb", OWNER, "2026-01-01T00:00:00")
    livefiles.write_live(training, run_id=training.name, status="running", pid=os.getpid())
    assert not runs.delete(training.name, run_store, OWNER) and training.is_dir()  # its save would bring it back
    assert runs.delete(RUN_ID, run_store, OWNER) and not run.exists()
    assert not runs.delete(RUN_ID, run_store, OWNER)
    assert not runs.delete("20991231-000000-ffffff", run_store, OWNER)


# -- runs that end without their worker's save ------------------------------------------------------
def test_mark_ended_records_the_epochs_a_run_finished(run_store):
    run_dir = started_only(run_store, "20260101-000000-aaaaaa", OWNER, "2026-01-01T00:00:00")
    pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}).to_csv(
        run_dir / "history.csv", index=False)
    livefiles.write_live(run_dir, run_id=run_dir.name, status="running", epochs=5, elapsed_seconds=3.5,
                         pid=dead_pid())
    runs.mark_ended(run_dir, run_dir.name, "failed", "the worker process was killed")
    info = json.loads((run_dir / "run.json").read_text())
    assert {k: info[k] for k in ("run_id", "status", "message", "epoch", "epochs", "elapsed_seconds", "workspace")} == \
        {"run_id": run_dir.name, "status": "failed", "message": "the worker process was killed", "epoch": 2,
         "epochs": 5, "elapsed_seconds": 3.5, "workspace": OWNER}
    assert livefiles.read_live(run_dir)["status"] == "failed"
    _, snap, frame = runs.read_run(run_dir)
    assert (snap.status, snap.epoch, snap.history["loss"]) == ("failed", 2, [0.5, 0.4])
    assert frame.empty and snap.predictions is None  # it never wrote predictions

    runs.mark_ended(run_dir, run_dir.name, "stopped", "a later word")  # the first ending stands
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    runs.mark_ended(run_store / "deleted-meanwhile", "deleted-meanwhile", "failed", "gone")
    assert not (run_store / "deleted-meanwhile").exists()


def test_a_run_whose_worker_is_gone_is_interrupted_and_a_live_one_is_not(trained, run_store):
    run_dir = started_only(run_store, "20260101-000000-aaaaaa", OWNER, "2026-01-01T00:00:00")
    assert runs.interrupted(run_dir.name, run_store) == run_dir  # started, never a word since
    assert runs.find(run_dir.name, run_store) is None

    livefiles.write_live(run_dir, run_id=run_dir.name, status="running", epoch=1, epochs=5, pid=os.getpid())
    assert runs.interrupted(run_dir.name, run_store) is None  # this process "trains" it
    assert runs.read_run(run_dir)[1].status == "running"
    assert runs.list_runs(run_store, OWNER)[0]["status"] == "running"

    livefiles.write_live(run_dir, pid=dead_pid())  # killed without a word
    assert runs.interrupted(run_dir.name, run_store) == run_dir
    _, snap, _ = runs.read_run(run_dir)
    assert snap.status == "interrupted" and snap.message == "the worker stopped before this run ended"

    finished = copy_run(trained[0], run_store, "20260101-000000-bbbbbb")
    assert runs.interrupted(finished.name, run_store) is None
    assert runs.interrupted("20991231-000000-ffffff", run_store) is None


def test_discard_removes_the_run_files_and_nothing_a_person_keeps_there(trained, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(trained[0], out)
    (out / ".model.123-456.tmp.keras").write_bytes(b"half a model")
    (out / "notes.txt").write_text("mine")
    runs.discard(out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    (out / "run.json").write_text("{}")
    runs.discard(out)
    assert not out.exists()


# -- bundles ----------------------------------------------------------------------------------------
def test_a_bundle_round_trips_into_another_workspace(trained, run_store):
    run_dir = trained[0]
    data_ = runs.bundle(run_dir)
    names = sorted(zipfile.ZipFile(io.BytesIO(data_)).namelist())
    assert names == sorted(n for n in runs.BUNDLE_FILES if (run_dir / n).is_file())
    assert {"spec.json", "model.keras", "history.csv", "predictions.csv", "metrics.json", "gates.npz",
            "run.json", "weights.npz"} <= set(names) and "started.json" not in names and "live.json" not in names

    new_id = runs.import_bundle(data_, run_store, OTHER, "20260201-000000-bbbbbb")
    assert new_id == "20260201-000000-bbbbbb"
    copy = run_store / new_id
    info = json.loads((copy / "run.json").read_text())
    assert (info["run_id"], info["workspace"], info["status"], info["imported"]) == (new_id, OTHER, "finished", "bundle")
    assert info["message"].startswith("imported from a bundle (") and info["epoch"] == 1

    spec, snap, frame = runs.read_run(run_dir)
    spec2, snap2, frame2 = runs.read_run(copy)
    assert spec2 == spec and snap2.history == snap.history and snap2.metrics["test"] == pytest.approx(snap.metrics["test"], nan_ok=True)
    pd.testing.assert_frame_equal(frame2, frame)
    for split in ("val", "test"):
        np.testing.assert_array_equal(snap2.predictions[split], snap.predictions[split])
    assert [r["run_id"] for r in runs.list_runs(run_store, OTHER)] == [new_id]
    assert runs.list_runs(run_store, OWNER) == []
    weights = runs.weight_history(copy)
    for a, b in zip(weights[1], runs.weight_history(run_dir)[1]):
        np.testing.assert_array_equal(a, b)


def test_deleting_a_run_tolerates_a_file_its_worker_removes_meanwhile():
    """A just-ended worker removes its `stop` file while the run is being deleted: rmtree's
    FileNotFoundError means the file is gone, which is the point; other errors still surface."""
    import pytest as _pytest

    runs._gone_already(None, "stop", (FileNotFoundError, FileNotFoundError("stop"), None))
    with _pytest.raises(PermissionError):
        runs._gone_already(None, "x", (PermissionError, PermissionError("x"), None))


class _RecordingPool:
    """A pool that only records what it is asked to queue (and whether the run's tag was already there)."""

    def __init__(self, refuse: bool = False):
        self.requests, self.tagged, self.refuse = [], [], refuse

    def submit(self, request) -> None:
        if self.refuse:
            raise OSError(28, "No space left on device")
        self.requests.append(request)
        self.tagged.append(sorted(p.name for p in Path(request.run_dir).iterdir()))


def test_submit_gives_each_run_its_own_tagged_folder_and_one_request(tmp_path, monkeypatch):
    ids = iter(["20260101-000000-aaaaaa"] * 2 + ["20260101-000000-bbbbbb"])  # two submits in one second
    monkeypatch.setattr(submitting, "new_run_id", ids.__next__)
    fake, spec = _RecordingPool(), tiny_spec()
    first = runs.submit(fake, spec, tmp_path, workspace=OWNER, csv_root=tmp_path, tag=("fold.json", {"fold": 1}))
    second = runs.submit(fake, spec, tmp_path, workspace=OWNER)  # the same id drawn again: a new one is drawn
    assert [first[0], second[0]] == ["20260101-000000-aaaaaa", "20260101-000000-bbbbbb"]
    assert fake.tagged == [["fold.json"], []]  # tagged before it is queued: History knows what made it at once
    assert json.loads((first[1] / "fold.json").read_text()) == {"fold": 1}
    request = fake.requests[0]
    assert (request.run_id, request.run_dir, request.workspace, request.csv_root, request.kind) == (
        first[0], str(first[1]), OWNER, str(tmp_path), "train")
    assert request.spec is spec  # the checked object itself: nobody downstream checks it again
    assert request.payload()["spec"] == spec.to_dict() and json.loads(request.line())["spec"] == spec.to_dict()


def test_a_submit_the_pool_refuses_leaves_no_folder(tmp_path):
    with pytest.raises(OSError):
        runs.submit(_RecordingPool(refuse=True), tiny_spec(), tmp_path, tag=("sweep.json", {"trial": 0}))
    assert list(tmp_path.iterdir()) == []


def test_a_dead_worker_is_told_by_the_ending_s_reason_not_its_words(run_store):
    """A sweep retries a trial whose worker died; it reads run.json's reason, not the message's words."""
    died, failed = run_store / "20260101-000000-aaaaaa", run_store / "20260101-000000-bbbbbb"
    for path in (died, failed):
        path.mkdir(parents=True)
    runs.mark_ended(died, died.name, runs.FAILED, "the worker process was killed (signal 9)", reason=runs.WORKER_DIED)
    runs.mark_ended(failed, failed.name, runs.FAILED, "column 'worker process' is not a number")
    assert runs.ended_because(died) == runs.WORKER_DIED
    assert runs.ended_because(failed) is None
    assert "reason" not in json.loads((failed / "run.json").read_text())  # an ordinary ending is as before


class _HeldLauncher:
    """A launcher whose workers never end and never train: it keeps the requests the pool hands them."""

    def __init__(self):
        self.launched = []

    def prewarm(self) -> None:
        pass

    def launch(self, request):
        self.launched.append(request)
        return type("Handle", (), {"pid": 0, "poll": lambda self: None})()

    def close(self) -> None:
        pass


def test_a_train_click_checks_its_spec_once_when_it_is_made(tmp_path, monkeypatch):
    """runs.submit -> the pool -> the worker's spec: the validated object is passed on, not checked again."""
    from core import pool
    from core.spec import ExperimentSpec

    spec = tiny_spec()  # validated here, once
    checks = []
    monkeypatch.setattr(ExperimentSpec, "validate", lambda self: checks.append(self))
    launcher = _HeldLauncher()
    queue = pool.Pool(launcher, 1)
    try:
        run_id, run_dir = runs.submit(queue, spec, tmp_path, workspace=OWNER)
        deadline = time.monotonic() + 5
        while not launcher.launched and time.monotonic() < deadline:
            time.sleep(0.01)
        worker_spec = ExperimentSpec.from_checked(json.loads(launcher.launched[0].line())["spec"])
    finally:
        queue.close()
    assert checks == []
    assert worker_spec == spec and runs.read_spec(run_dir) == spec  # spec.json is the spec submitted
    assert (run_dir / "started.json").is_file()
