"""Run files against their schema: a bundle whose files hold values of the wrong type is refused at
import, naming the file and the field; a run directory damaged on disk (not through an import) still
reads, lists and deletes, its bad values read as missing (core/runfiles.py)."""
from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core import runfiles, runs



@pytest.fixture
def trained(trained_run):
    """One tiny trained run (tests/conftest.py, once a session): (run directory, its bundle's bytes)."""
    return trained_run


def edited_json(raw: bytes, path: str, value) -> bytes:
    """The JSON with the value at "a.b.c" replaced."""
    content = json.loads(raw)
    *parents, last = path.split(".")
    node = content
    for key in parents:
        node = node[key]
    node[last] = value
    return json.dumps(content).encode()


def edited_csv(raw: bytes, column: str, row: int, value: str) -> bytes:
    frame = pd.read_csv(io.BytesIO(raw), dtype=str)
    frame.loc[row, column] = value
    return frame.to_csv(index=False).encode()


def rebuilt(bundle: bytes, **replace: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, replace.get(name, src.read(name)))
    return out.getvalue()


def member(bundle: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read(name)


def hostile(bundle: bytes) -> dict[str, tuple[dict[str, bytes], str]]:
    """Bundles the issue and its neighbours name: what is replaced, and what the refusal must say."""
    m, r = member(bundle, "metrics.json"), member(bundle, "run.json")
    h, p, f = member(bundle, "history.csv"), member(bundle, "predictions.csv"), member(bundle, "forecast.csv")
    return {
        "string rmse": ({"metrics.json": edited_json(m, "test.rmse", "abc")}, "metrics.json: test.rmse is 'abc'"),
        "string baseline": ({"metrics.json": edited_json(m, "baselines.naive.rmse", "1.0")},
                            "metrics.json: baselines.naive.rmse is '1.0', not a number"),
        "no baselines": ({"metrics.json": edited_json(m, "baselines", {})}, "metrics.json has no baselines.naive"),
        "lag as text": ({"metrics.json": edited_json(m, "lag", "one")}, "metrics.json: lag is 'one'"),
        "elapsed zzz": ({"run.json": edited_json(r, "elapsed_seconds", "zzz")}, "run.json: elapsed_seconds is 'zzz'"),
        "epoch text": ({"run.json": edited_json(r, "epoch", "7")}, "run.json: epoch is '7', not a whole number"),
        "message list": ({"run.json": edited_json(r, "message", ["x"])}, "run.json: message is ['x'], not text"),
        "text loss": ({"history.csv": edited_csv(h, "loss", 0, "abc")}, "history.csv: column 'loss', row 2 is 'abc'"),
        "text prediction": ({"predictions.csv": edited_csv(p, "prediction", 3, "zz")},
                            "predictions.csv: column 'prediction', row 5 is 'zz'"),
        "odd split": ({"predictions.csv": edited_csv(p, "split", 0, "train")}, "column 'split', row 2 is 'train'"),
        "no truth": ({"predictions.csv": pd.read_csv(io.BytesIO(p)).drop(columns="truth").to_csv(index=False).encode()},
                     "predictions.csv has no column 'truth'"),
        "text forecast": ({"forecast.csv": edited_csv(f, "forecast", 0, "soon")}, "forecast.csv: column 'forecast'"),
        "not a csv": ({"history.csv": b""}, "history.csv is not a CSV table"),
    }


@pytest.mark.parametrize("case", ["string rmse", "string baseline", "no baselines", "lag as text", "elapsed zzz",
                                  "epoch text", "message list", "text loss", "text prediction", "odd split",
                                  "no truth", "text forecast", "not a csv"])
def test_a_bundle_with_a_value_of_the_wrong_type_is_refused_naming_file_and_field(trained, run_store, case):
    _, good = trained
    replace, said = hostile(good)[case]
    with pytest.raises(runs.ImportRefused) as refused:
        runs.import_bundle(rebuilt(good, **replace), run_store, "ws", "20260101-000000-bbbbbb")
    assert said in str(refused.value) and "export the run again" in str(refused.value)
    assert not run_store.exists() or not any(run_store.iterdir())  # nothing left behind


def test_a_good_bundle_still_imports(trained, run_store):
    _, good = trained
    run_id = runs.import_bundle(good, run_store, "ws", "20260101-000000-cccccc")
    assert runs.read_run(run_store / run_id)[1].metrics["test"]["rmse"] > 0


# -- damaged on disk: read as missing, never a crash ---------------------------------------------------
def damage(trained, store, name: str, change) -> Path:
    """A copy of the trained run in `store` (workspace "ws") with one file changed by `change(text)`."""
    run_dir = store / "20260101-000000-dddddd"
    shutil.copytree(trained[0], run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "run_id": run_dir.name, "workspace": "ws"}))
    (run_dir / name).write_text(change((run_dir / name).read_text()))
    return run_dir


def test_a_string_rmse_on_disk_reads_as_missing_and_the_run_lists_and_deletes(trained, run_store):
    run_dir = damage(trained, run_store, "metrics.json", lambda t: edited_json(t, "test.rmse", "abc").decode())
    row = runs.list_runs(run_store, "ws")[0]
    assert row["run_id"] == run_dir.name and row["rmse"] is None and isinstance(row["naive_rmse"], float)
    snap = runs.read_run(run_dir)[1]
    assert math.isnan(snap.metrics["test"]["rmse"]) and "test.rmse is 'abc'" in snap.message
    assert runs.delete(run_dir.name, run_store, "ws") and not run_dir.exists()


@pytest.mark.parametrize("name, change, check", [
    ("run.json", lambda t: edited_json(t, "elapsed_seconds", "zzz").decode(), lambda s, f: s.elapsed == 0.0),
    ("run.json", lambda t: edited_json(t, "saved_at", 5).decode(), lambda s, f: s.status == "finished"),
    ("run.json", lambda t: "[1, 2]", lambda s, f: s.status == "failed" and "JSON object" in s.message),
    ("history.csv", lambda t: edited_csv(t.encode(), "loss", 0, "abc").decode(), lambda s, f: math.isnan(s.history["loss"][0])),
    ("history.csv", lambda t: "\x00\x01 not, a\n\"csv", lambda s, f: s.history["loss"] == []),
    ("predictions.csv", lambda t: edited_csv(t.encode(), "prediction", 0, "zz").decode(),
     lambda s, f: math.isnan(f["prediction"].iloc[0]) and f["prediction"].dtype == float),
    ("predictions.csv", lambda t: t.replace("truth", "other"), lambda s, f: s.predictions is None),
    ("forecast.csv", lambda t: edited_csv(t.encode(), "forecast", 0, "soon").decode(),
     lambda s, f: math.isnan(s.forecast["forecast"].iloc[0])),
    ("metrics.json", lambda t: edited_json(t, "test_by_step", [{"step": "x"}]).decode(), lambda s, f: s.by_step is None),
    ("metrics.json", lambda t: edited_json(t, "lag", "one").decode(), lambda s, f: s.metrics["lag"] is None),
    ("metrics.json", lambda t: "{", lambda s, f: s.metrics is None),
])
def test_a_damaged_run_directory_reads_with_the_bad_value_missing(trained, run_store, name, change, check):
    run_dir = damage(trained, run_store, name, change)
    _, snap, frame = runs.read_run(run_dir)
    assert check(snap, frame), snap
    ws = runs.owner(run_dir)  # "ws"; None when run.json, which names it, is not an object (the command line's)
    assert [r["run_id"] for r in runs.list_runs(run_store, ws)] == [run_dir.name]
    runs.read_history(run_dir), runs.read_predictions(run_dir)  # the Runs page's overlays read these
    assert runs.delete(run_dir.name, run_store, ws) and not run_dir.exists()


def test_the_cleaners_leave_a_good_run_as_it_is(trained):
    run_dir, _ = trained
    raw = json.loads((run_dir / "metrics.json").read_text())
    assert runfiles.metrics(raw) == (raw, [])
    assert runfiles.run_info(json.loads((run_dir / "run.json").read_text()))[1] == []


def test_a_classifier_s_labels_must_be_class_indices():
    """truth, prediction and naive of a classifier index its class names: a bad truth drops its row,
    a bad prediction reads as NaN, and either is a problem an import refuses."""
    frame = pd.DataFrame({"date": ["2020-01-01", "2020-01-02", "2020-01-03"], "split": ["test"] * 3,
                          "truth": [0, 7, 1], "prediction": [1, 0, 2.5], "naive": [0, 0, 1],
                          "p_up": [0.1, 0.2, 0.3], "p_down": [0.9, 0.8, 0.7]})
    clean, problems = runfiles.predictions(frame)
    assert clean["truth"].tolist() == [0, 1] and math.isnan(clean["prediction"].iloc[1])
    assert problems[0] == "predictions.csv: column 'truth', row 3 is 7.0, not a class index below 2"
