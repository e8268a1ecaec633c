"""core/race.py: three cells on the same setup, in order; Stop skips the rest."""
from core import data, windows
from core.race import CellRace

from .conftest import tiny_spec


def test_race_trains_each_cell_on_the_same_setup(run_store):
    spec = tiny_spec(model={"units": [3]}, train={"epochs": 1})
    w = windows.make(data.load(spec.data), spec)
    race = CellRace(spec, w, run_store, workspace="ws1")
    race.run()
    assert [j.spec.model.cell for j in race.started] == ["SimpleRNN", "LSTM", "GRU"]
    assert all(j.spec.replace(model={"cell": "LSTM"}) == spec for j in race.jobs)
    assert all((run_store / j.run_id / "run.json").is_file() for j in race.jobs)
    table = race.results()
    assert list(table["cell"]) == ["SimpleRNN", "LSTM", "GRU"] and (table["parameters"] > 0).all()
    assert table["verdict"].str.contains("persistence").all()


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

    from core.race import _verdict

    job = SimpleNamespace(windowed=SimpleNamespace(classes=["a", "b"], naive_name="majority class"))
    assert _verdict(job, "GRU", {"accuracy": 90.0}, {"accuracy": 50.0}) == \
        "GRU beats majority class (90.0% vs 50.0% correct)"
    assert "does not beat" in _verdict(job, "GRU", {"accuracy": 40.0}, {"accuracy": 50.0})
    regression = SimpleNamespace(windowed=SimpleNamespace(classes=None, naive_name="persistence"))
    assert "beats persistence" in _verdict(regression, "LSTM", {"rmse": 1.0}, {"rmse": 2.0})
