"""core/cell_race.py: three cells on the same setup, in order; Stop skips the rest."""
import json

from core import cells, data, windows
from core.cell_race import CellRace

from .conftest import tiny_spec


def test_race_trains_each_cell_on_the_same_setup(run_store):
    spec = tiny_spec(model={"units": [3]}, train={"epochs": 1})
    w = windows.make(data.load(spec.data), spec)
    race = CellRace(spec, w, run_store, workspace="ws1")
    race.run()
    assert [j.spec.model.cell for j in race.started] == list(cells.NAMES)  # every registered cell, in order
    assert all(j.spec.replace(model={"cell": "LSTM"}) == spec for j in race.jobs)
    assert all((run_store / j.run_id / "run.json").is_file() for j in race.jobs)
    assert len({j.run_id for j in race.jobs}) == len(cells.NAMES)
    table = race.results()
    assert list(table["cell"]) == list(cells.NAMES)
    assert list(table["run"]) == [j.run_id for j in race.jobs]
    assert list(table["status"]) == ["finished"] * len(cells.NAMES) and list(table["epochs"]) == [1] * len(cells.NAMES)
    # one recurrent layer of 3 units on `features` inputs, then Dense(1): gates * 3 * (features + 3 + 1
    # [+ 1, GRU's second bias]) + 3 + 1
    features = w.input_shape[1]
    expected = [1 * 3 * (features + 4) + 4, 4 * 3 * (features + 4) + 4, 3 * 3 * (features + 5) + 4]
    assert list(table["parameters"])[:3] == expected  # the registry's first three cells
    for row, job in zip(table.to_dict("records"), race.jobs):  # the saved run's numbers and their verdict
        metrics = json.loads((run_store / job.run_id / "metrics.json").read_text())
        test, naive = metrics["test"], metrics["baselines"]["naive"]
        assert row["test RMSE"] == test["rmse"] and row["test MAE"] == test["mae"]
        assert row["persistence RMSE"] == naive["rmse"] and row["direction %"] == test["direction"]
        change = 1 - test["rmse"] / naive["rmse"]  # the verdict follows the saved numbers (a tie within 0.5%)
        word = "beats" if change > 0.0005 else "does not beat" if change < -0.005 else "ties with"
        assert row["verdict"].startswith(f"{row['cell']} {word} ")
        assert "persistence" in row["verdict"]
        assert json.loads((run_store / job.run_id / "run.json").read_text())["workspace"] == "ws1"


def test_stop_skips_the_cells_not_started_and_leaves_no_ghost_runs(run_store):
    spec = tiny_spec(model={"units": [3]}, train={"epochs": 300})
    w = windows.make(data.load(spec.data), spec)
    race = CellRace(spec, w, run_store, workspace="ws1").start()
    race.stop()
    race.join(120)
    assert not race.running and race.stopped
    assert len(race.started) <= 1 and all(not j.running for j in race.started)
    skipped = race.jobs[len(race.started):]
    assert skipped and all(not (run_store / j.run_id).exists() for j in skipped)
    assert len(race.results()) == len(race.started)



def test_a_race_of_classifiers_reports_accuracy_against_the_baseline_class():
    from types import SimpleNamespace

    from core.cell_race import _verdict

    job = SimpleNamespace(windowed=SimpleNamespace(classes=["a", "b"], naive_name="majority class"))
    assert _verdict(job, "GRU", {"accuracy": 90.0}, {"accuracy": 50.0}) == \
        "GRU beats majority class (90.0% vs 50.0% correct)"
    assert "does not beat" in _verdict(job, "GRU", {"accuracy": 40.0}, {"accuracy": 50.0})
    regression = SimpleNamespace(windowed=SimpleNamespace(classes=None, naive_name="persistence"))
    assert "beats persistence" in _verdict(regression, "LSTM", {"rmse": 1.0}, {"rmse": 2.0})
