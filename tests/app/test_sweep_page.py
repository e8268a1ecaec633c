"""The Sweep section of the Runs page: a small study through the app's pool, its table, Optuna's
figures, the best trial's settings into the editor, and a space that cannot run."""
from __future__ import annotations

from core import runs, sweep

from ..conftest import tiny_spec
from .helpers import button, figures, runs_section, table
from ui import sweep_views


def sweep_page(spec=None):
    return runs_section(spec or tiny_spec(), "Sweep")


def test_a_sweep_runs_its_trials_as_runs_and_offers_the_best_settings(run_store):
    at = sweep_page()
    at.multiselect(key="sweep_cells").set_value(["SimpleRNN", "GRU"]).run()
    at.multiselect(key="sweep_units").set_value(["8"]).run()  # one value: fixed, not searched
    at.slider(key="sweep_window").set_value((10, 20)).run()
    at.number_input(key="sweep_trials").set_value(3).run()
    at.number_input(key="sweep_workers").set_value(1).run()
    button(at, "Start the sweep").click().run()
    assert not at.exception, at.exception
    job = next(iter(j for j in sweep_views._sweeps().values() if j.root == run_store))
    assert [d.field for d in job.dims] == ["model.cell", "window.length", "train.learning_rate"]
    assert job.base.model.units == [8]
    job.join(180)
    at.run()
    trials = table(at, "trial")
    assert len(trials) == 3 and set(trials["state"]) <= {"complete", "pruned"}
    listed = {r["run_id"]: r for r in runs.list_runs(run_store, workspace=job.workspace)}
    assert set(trials["run"]) <= set(listed) and {listed[r]["study"] for r in trials["run"]} == {job.study.study_name}
    best = sweep.best(job.study)
    assert any(f"Best: trial {best['number']}" in s.value for s in at.success)
    titles = set(figures(at))
    assert "Optimization History Plot" in titles  # Optuna's own figures, not home-made ones
    history_x = figures(at)["Optimization History Plot"]["layout"]["xaxis"]
    assert history_x["tickformat"] == "d" and history_x["dtick"] >= 1  # whole trial numbers, no 0.2 steps
    button(at, "Use the best settings").click().run()
    spec = at.session_state["spec"]
    assert spec.model.cell == best["params"]["model.cell"] and spec.window.length == best["params"]["window.length"]
    assert spec.model.units == [8]


def test_a_space_with_nothing_to_search_cannot_start():
    at = sweep_page()
    at.multiselect(key="sweep_cells").set_value(["LSTM"]).run()
    at.multiselect(key="sweep_units").set_value(["8"]).run()
    at.slider(key="sweep_window").set_value((20, 20)).run()
    at.select_slider(key="sweep_lr").set_value((1e-3, 1e-3)).run()
    assert button(at, "Start the sweep").disabled
    assert any("every field has one value" in c.value for c in at.caption)
