"""The Runs page through AppTest: history, overlays, open, export, delete, privacy, race, imports, share links."""
from __future__ import annotations

import io
import json
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

from core import evaluate, runs
from core.spec import ExperimentSpec

from ..conftest import tiny_spec
from .helpers import (button, figures, new_app, param, poll, record_downloads, session_run, status, table,
                      train_to_the_end)


def saved_metrics(run_id: str) -> dict:
    return json.loads((runs.find(run_id) / "metrics.json").read_text())


def _trained_app(cells=("LSTM",), epochs=1):
    """A session that trained one tiny run per cell; returns the app on the Runs page."""
    at = new_app(tiny_spec(train={"epochs": epochs}))
    at.run()
    for cell in cells:
        at.session_state["spec"] = tiny_spec(model={"cell": cell, "units": [3]}, train={"epochs": epochs})
        at.run()
        train_to_the_end(at)
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def test_empty_history_points_to_train():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert any("No runs in this workspace yet" in i.value for i in at.info)


def test_history_lists_runs_overlays_them_and_deletes_one(run_store):
    at = _trained_app(cells=("LSTM", "GRU"))
    listed = table(at, "run")
    assert sorted(listed["cell"]) == ["GRU", "LSTM"] and set(listed["status"]) == {"finished"}
    for row in listed.to_dict("records"):  # each run's own saved scores
        metrics = saved_metrics(row["run"])
        assert row["test RMSE"] == metrics["test"]["rmse"]
        assert row["persistence RMSE"] == metrics["baselines"]["naive"]["rmse"]
    assert listed["persistence RMSE"].nunique() == 1  # same data, same persistence
    figs = figures(at)
    loss = figs["Loss of each run"]
    assert len(loss["data"]) == 4  # validation and train per run
    pred = figs["Test predictions of each run"]
    assert [t["name"] for t in pred["data"]][:2] == ["truth", "persistence"] and len(pred["data"]) == 4

    victim = at.selectbox(key="runs_one").value
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert not (run_store / victim).exists()
    listed = table(at, "run")
    assert victim not in set(listed["run"]) and len(listed) == 1


def test_open_a_run_and_download_its_bundle(monkeypatch):
    downloads = record_downloads(monkeypatch)
    at = _trained_app()
    run_id = at.selectbox(key="runs_one").value
    zipped = next(d for d in at.get("download_button") if d.label == "Download .zip")
    file_name, make = downloads[zipped.proto.deferred_file_id]  # what a click would send
    bundle = make()
    assert file_name == f"{run_id}.zip" and bundle == runs.bundle(runs.find(run_id))
    names = set(zipfile.ZipFile(io.BytesIO(bundle)).namelist())
    assert {"spec.json", "model.keras", "history.csv", "predictions.csv", "metrics.json", "gates.npz"} <= names
    button(at, "Open on Train").click().run()
    assert not at.exception
    assert at.title[0].value == "Train" and "finished 1 epoch" in status(at) and "1 epochs" not in status(at)
    shown = session_run(at)
    assert shown.run_id == run_id


def test_another_workspace_sees_none_of_these_runs(run_store):
    at = _trained_app()
    mine = table(at, "run")
    assert len(mine) == 1
    other = new_app(tiny_spec(), ws="another-visitor-token")
    other.run()
    other.switch_page("pages/runs.py").run()
    assert any("No runs in this workspace yet" in i.value for i in other.info)
    run_id = mine["run"].iloc[0]
    assert not runs.delete(run_id, run_store, runs.workspace_id("another-visitor-token"))
    assert (run_store / run_id / "run.json").is_file()
    again = new_app(tiny_spec(), ws=param(at, "ws"))  # the owner, after a refresh
    again.run()
    again.switch_page("pages/runs.py").run()
    assert list(table(again, "run")["run"]) == [run_id]


def test_cell_race_trains_three_cells_and_tabulates_them():
    at = new_app(tiny_spec(model={"units": [3]}, train={"epochs": 1}))
    at.run()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("Race").run()
    button(at, "Race the three cells").click().run()
    race = at.session_state["cell_race"]
    race.join(120)
    at.run()
    assert not at.exception, at.exception
    raced = table(at, "s / epoch")
    assert list(raced["cell"]) == ["SimpleRNN", "LSTM", "GRU"] and set(raced["status"]) == {"finished"}
    # one layer of 3 units on the 1 input (Close), then Dense(1): gates * 3 * (1 + 3 + 1 [+ 1 for GRU]) + 4
    assert list(raced["parameters"]) == [19, 64, 58]
    verdicts = next(m.value for m in at.markdown if m.value.startswith("**Verdicts**"))  # in full, not in a cut cell
    for row, job in zip(raced.to_dict("records"), race.jobs):  # each verdict from its own run's saved scores
        metrics = saved_metrics(job.run_id)
        assert row["run"] == job.run_id
        assert f"- {evaluate.verdict(row['cell'], metrics['test'], metrics['baselines']['naive'])}" in verdicts
    assert "verdict" not in raced  # the table keeps the numbers on screen; the verdicts are written out below it
    assert len(figures(at)["Loss of each run"]["data"]) == 6
    assert set(at.session_state["session_runs"]) >= {j.run_id for j in race.jobs}
    assert any("Cell race: 3 of 3 cells trained" in c.value for c in at.sidebar.caption)  # not "No training run yet"


def test_import_spec_json_restores_the_configuration():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("Import").run()
    wanted = tiny_spec(model={"cell": "GRU", "units": [7, 5]}, window={"length": 12})
    at.get("file_uploader")[0].set_value(("spec.json", wanted.to_json().encode(), "application/json")).run()
    assert not at.exception
    assert at.session_state["spec"] == wanted
    assert any("Configuration restored" in s.value for s in at.success)


def test_import_refuses_a_broken_spec_and_a_lambda_model_and_keeps_the_setup(tmp_path):
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("Import").run()
    before = at.session_state["spec"]
    at.get("file_uploader")[0].set_value(("spec.json", b'{"model": {"cells": 1}}', "application/json")).run()
    assert any("unknown key model.cells" in e.value.lower() for e in at.error) and at.session_state["spec"] == before

    model = keras.Sequential([keras.Input((10, 1)), keras.layers.Lambda(lambda x: x * 2), keras.layers.LSTM(2),
                              keras.layers.Dense(1)])
    path = tmp_path / "evil.keras"
    model.save(path)
    at.get("file_uploader")[0].set_value(("evil.keras", path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert any("Lambda" in e.value and "safe_mode" in e.value for e in at.error)
    assert runs.list_runs(workspace=runs.workspace_id(at.session_state["workspace"])) == []


def test_import_a_keras_model_evaluates_it_as_a_run(tmp_path):
    model = keras.Sequential([keras.Input((10, 1)), keras.layers.GRU(3), keras.layers.Dense(1)])
    path = tmp_path / "mine.keras"
    model.save(path)
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("Import").run()
    at.get("file_uploader")[0].set_value(("mine.keras", path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert any("is now run" in s.value for s in at.success)
    rows = runs.list_runs(workspace=runs.workspace_id(at.session_state["workspace"]))
    assert len(rows) == 1 and rows[0]["cell"] == "imported"
    metrics = saved_metrics(rows[0]["run_id"])
    frame = pd.read_csv(runs.find(rows[0]["run_id"]) / "predictions.csv")
    test = frame[frame["split"] == "test"]
    assert len(test) == 36 and test["prediction"].notna().all()  # scored on the current setup's test windows
    assert rows[0]["rmse"] == pytest.approx(np.sqrt(np.mean((test["prediction"] - test["truth"]) ** 2)), rel=1e-5)
    assert set(metrics["baselines"]) == set(evaluate.BASELINES)  # ETS and ARIMA included

    wrong = keras.Sequential([keras.Input((30, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    wrong.save(tmp_path / "wrong.keras")
    at.get("file_uploader")[0].set_value(("wrong.keras", (tmp_path / "wrong.keras").read_bytes(),
                                          "application/octet-stream")).run()
    assert any("(30, 2)" in e.value and "(10, 1)" in e.value for e in at.error)


def test_bundle_round_trip_into_another_workspace(run_store):
    at = _trained_app()
    run_id = at.selectbox(key="runs_one").value
    data = runs.bundle(runs.find(run_id))
    other = new_app(tiny_spec(), ws="second-workspace-token")
    other.run()
    other.switch_page("pages/runs.py").run()
    other.segmented_control(key="runs_section").set_value("Import").run()
    other.get("file_uploader")[0].set_value(("run.zip", data, "application/zip")).run()
    assert not other.exception, other.exception
    rows = runs.list_runs(run_store, runs.workspace_id("second-workspace-token"))
    assert len(rows) == 1 and rows[0]["run_id"] != run_id
    original = runs.summary(runs.find(run_id))
    for key in ("rmse", "naive_rmse", "cell", "units", "epoch", "status"):  # the same run, scored as it was
        assert rows[0][key] == original[key], key
    other.get("file_uploader")[0].set_value(("junk.zip", b"not a zip", "application/zip")).run()
    assert not any("is now run" in s.value for s in other.success[1:])


def test_share_link_restores_the_setup_and_leaves_the_runs_out():
    spec = tiny_spec(model={"cell": "GRU", "units": [9]}, window={"length": 14})
    shared = new_app(**spec.to_query())
    shared.run()
    assert not shared.exception
    assert shared.session_state["spec"] == spec
    assert any("Opened a shared setup" in s.value and "GRU(9)" in s.value for s in shared.success)
    assert "ws" in shared.query_params  # the visitor gets a workspace of their own
    link = {k: param(shared, k) for k in shared.query_params if "." in k}
    assert link == spec.to_query()  # the address keeps the setup, so a refresh restores it

    refreshed = new_app(**link, ws=param(shared, "ws"))  # F5: same address, new session
    refreshed.run()
    assert refreshed.session_state["spec"] == spec
    assert not any("shared setup" in s.value for s in refreshed.success)  # it is their own setup, not a link

    broken = new_app(**{"model.cell": "Transformer"})
    broken.run()
    assert not broken.exception
    assert any("without 1 value" in w.value and "model.cell" in w.value for w in broken.warning)
    assert broken.session_state["spec"] == ExperimentSpec()
    assert not any("." in k for k in broken.query_params)


def test_one_bad_value_in_a_share_link_keeps_the_rest_and_names_it():
    good = tiny_spec(model={"cell": "GRU", "units": [9]}, window={"length": 14})
    link = {**good.to_query(), "train.learning_rate": "fast", "model.dropout": "2"}
    at = new_app(**link)
    at.run()
    assert not at.exception
    spec = at.session_state["spec"]
    assert spec.model.cell == "GRU" and spec.model.units == [9] and spec.window.length == 14  # the good values
    assert spec.train.learning_rate == ExperimentSpec().train.learning_rate  # the bad ones keep their defaults
    assert spec.model.dropout == ExperimentSpec().model.dropout
    message = next(w.value for w in at.warning if "could not use" in w.value)
    assert "train.learning_rate" in message and "model.dropout" in message and "without 2 values" in message
    assert "model.cell" in at.query_params and "window.length" in at.query_params  # the address keeps the good part
    assert "train.learning_rate" not in at.query_params


def test_an_interrupted_run_is_listed_as_such(run_store):
    at = new_app(tiny_spec())
    at.run()
    ws = runs.workspace_id(at.session_state["workspace"])
    runs.mark_started(run_store / "20260101-000000-abcdef", "20260101-000000-abcdef", ws)
    (run_store / "20260101-000000-abcdef" / "spec.json").write_text(tiny_spec().to_json())
    at.switch_page("pages/runs.py").run()
    listed = table(at, "run")
    assert list(listed["status"]) == ["interrupted"]
    assert listed["test RMSE"].isna().all()


def test_refresh_on_an_interrupted_run_says_so_and_keeps_its_settings(run_store):
    token = "interrupted-visitor"
    spec = tiny_spec(model={"cell": "GRU", "units": [6]})
    runs.mark_started(run_store / "20260101-000000-aaaaaa", "20260101-000000-aaaaaa", runs.workspace_id(token), spec)
    at = new_app(run="20260101-000000-aaaaaa", ws=token)  # the server restarted mid-training; the tab reloads
    at.run()
    assert not at.exception
    assert any("was interrupted" in w.value for w in at.warning)
    assert at.session_state["spec"] == spec
    stranger = new_app(run="20260101-000000-aaaaaa", ws="someone-else-123")
    stranger.run()
    assert not any("was interrupted" in w.value for w in stranger.warning)
    assert stranger.session_state["spec"] == ExperimentSpec()


def test_links_and_imports_cannot_point_the_server_at_other_files(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("date,value\n2020-01-01,1\n")
    at = new_app(**{"data.source": "csv", "data.path": str(secret), "data.target": "value", "data.features": '["value"]'})
    at.run()
    assert not at.exception
    assert any("not a file uploaded to this app" in e.value for e in at.error)
    assert at.session_state["spec"] == ExperimentSpec()
    at.switch_page("pages/runs.py").run()
    at.segmented_control(key="runs_section").set_value("Import").run()
    sneaky = tiny_spec(data={"source": "csv", "path": str(secret), "target": "value", "features": ["value"]})
    at.get("file_uploader")[0].set_value(("spec.json", sneaky.to_json().encode(), "application/json")).run()
    assert any("not a file uploaded to this app" in e.value for e in at.error)
    assert at.session_state["spec"] == ExperimentSpec()


def test_damaged_bundles_are_refused_without_leaving_anything_behind(run_store, tmp_path):
    at = _trained_app()
    good = runs.bundle(runs.find(at.selectbox(key="runs_one").value))

    def rebuilt(**replace) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(good and io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
            for name in src.namelist():
                dst.writestr(name, replace.get(name, src.read(name)))
        return out.getvalue()

    before = sorted(p.name for p in run_store.iterdir())
    for data in (rebuilt(**{"run.json": b"[]"}), rebuilt(**{"metrics.json": b"[1, 2]"}), good[:-40]):
        with __import__("pytest").raises(runs.ImportRefused):
            runs.import_bundle(data, run_store, "ws", "20260101-000000-bbbbbb")
        assert sorted(p.name for p in run_store.iterdir()) == before  # no orphan directory


def test_a_running_run_is_listed_as_running_and_cannot_be_deleted(run_store):
    at = new_app(tiny_spec(train={"epochs": 300}))
    at.run()
    button(at, "Train").click().run()
    job = session_run(at)
    poll(at, lambda a: (run_store / job.run_id / "history.csv").is_file())
    ws = runs.workspace_id(at.session_state["workspace"])
    rows = runs.list_runs(run_store, ws)
    assert rows[0]["run_id"] == job.run_id and rows[0]["status"] == "running"
    assert not runs.delete(job.run_id, run_store, ws) and (run_store / job.run_id).is_dir()
    job.stop()
    job.join(60)
    metrics = (run_store / job.run_id / "metrics.json").read_text()
    json.loads(metrics, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict JSON: no NaN
    assert runs.delete(job.run_id, run_store, ws)


def test_a_stored_run_naming_a_server_file_never_reads_it(run_store):
    """A run planted in the store (as an older import let in) whose spec reads /etc/passwd: opening it
    by ?run= and visiting the Data and Inspect pages shows a message, never the file."""
    at = _trained_app()
    good = runs.find(at.selectbox(key="runs_one").value)
    token = at.session_state["workspace"]
    sneaky = tiny_spec(data={"source": "csv", "path": "/etc/passwd", "target": "root", "features": ["root"]})
    planted = run_store / "20260101-000000-dddddd"
    planted.mkdir()
    for name in ("history.csv", "predictions.csv", "metrics.json", "model.keras", "run.json"):
        (planted / name).write_bytes((good / name).read_bytes())
    (planted / "spec.json").write_text(sneaky.to_json())
    info = json.loads((planted / "run.json").read_text())
    (planted / "run.json").write_text(json.dumps({**info, "run_id": planted.name, "imported": "bundle"}))
    visitor = new_app(run=planted.name, ws=token)
    visitor.run()
    for page in ("data", "inspect"):
        visitor.switch_page(f"pages/{page}.py").run()
        assert not visitor.exception, visitor.exception
        shown = " ".join(str(e.value) for e in [*visitor.error, *visitor.warning, *visitor.info, *visitor.markdown])
        assert "not a file uploaded to this app" in shown
        assert "root:x:0" not in shown and "nologin" not in shown
