"""The Inspect page through AppTest: the empty state, gate heatmaps of a trained run, the other views."""
from __future__ import annotations

import json

import numpy as np

from core import memory_race

from ..conftest import tiny_spec
from .helpers import button, figures, new_app, open_page, poll, session_run, stop_job, train_to_the_end, values


def _trained(spec=None, cell="LSTM"):
    """An app whose tiny run has finished, switched to Inspect."""
    at = new_app(spec or tiny_spec(model={"cell": cell, "units": [5]}))
    at.run()
    train_to_the_end(at)
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, at.exception
    return at


def _heatmaps(fig: dict) -> dict[str, dict]:
    return {t["name"]: t for t in fig["data"] if t["type"] == "heatmap"}


def test_empty_state_says_to_train_first():
    at = open_page("inspect")
    assert any("train a model first" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.segmented_control(key="inspect_view").set_value("Gradient flow").run()
    assert any("train a model first" in i.value for i in at.info)
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/inspect.py").run()
    assert at.segmented_control(key="inspect_view").value == "Gradient flow"  # the choice survives a page switch


def test_gate_heatmaps_of_a_trained_lstm_follow_the_window_and_epoch_pickers():
    at = _trained()
    figs = figures(at)
    title = next(t for t in figs if t.startswith("lstm_1"))
    fig = figs[title]
    maps = _heatmaps(fig)
    assert set(maps) == {"input", "forget", "candidate", "output", "cell", "h"}
    forget = values(maps["forget"]["z"])
    assert forget.shape == (5, 10) and 0 <= forget.min() and forget.max() <= 1  # (units, time steps)
    layout = fig["layout"]
    assert layout["coloraxis"]["cmin"] == 0 and layout["coloraxis"]["cmax"] == 1  # sigmoid gates: 0..1
    assert layout["coloraxis2"]["cmin"] == -1 and layout["coloraxis2"]["cmax"] == 1  # tanh states: -1..1
    assert maps["forget"]["coloraxis"] == "coloraxis" and maps["h"]["coloraxis"] == "coloraxis2"
    assert len(maps["h"]["x"]) == 10 and len(maps["h"]["y"]) == 5  # (time steps, units)
    scatter = [t for t in fig["data"] if t["type"] == "scatter"]
    assert scatter and scatter[0]["x"] == maps["h"]["x"]  # the input window shares the time axis
    assert "test window 1 of" in title and "epoch 2" in title

    at.slider(key="inspect_slider").set_value(3).run()
    title = next(t for t in figures(at) if t.startswith("lstm_1"))
    assert "test window 3 of" in title
    assert at.date_input(key="inspect_date").value == session_run(at).windowed.dates["test"][2].date()

    at.select_slider(key=f"inspect_epoch-{session_run(at).run_id}").set_value(0).run()
    title = next(t for t in figures(at) if t.startswith("lstm_1"))
    assert "before training" in title
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["gates.npz", "gates.csv"]


def test_a_saved_run_is_read_back_from_disk_with_its_epochs(run_store):
    from core import data, windows
    from core.training import TrainingJob

    from core import runs

    spec = tiny_spec(model={"cell": "SimpleRNN", "units": [3]})
    TrainingJob(spec, windows.make(data.load(spec.data), spec), run_dir=run_store / "saved-1", run_id="saved-1",
                workspace=runs.workspace_id("my-token-123")).run()
    at = new_app(run="saved-1", ws="my-token-123")  # a new session (a refresh, another process)
    at.run()
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, at.exception
    title = next(t for t in figures(at) if t.startswith("simplernn_1"))
    assert "epoch 2" in title
    assert at.select_slider(key="inspect_epoch-saved-1").options == ["0", "1", "2"]
    assert set(_heatmaps(figures(at)[title])) == {"h"}
    assert at.session_state["session_runs"] == ["saved-1"]  # reopened from the URL: it can be compared with


def test_gru_run_shows_its_gates_and_the_other_views_render():
    at = _trained(cell="GRU")
    maps = _heatmaps(next(f for t, f in figures(at).items() if t.startswith("gru_1")))
    assert set(maps) == {"update", "reset", "candidate", "h"}
    at.segmented_control(key="inspect_view").set_value("Saturation").run()
    assert not at.exception
    spread = figures(at)["Gate values over the test windows"]  # the distribution, shown even when no unit saturates
    assert {t["name"] for t in spread["data"] if t.get("name")} == {"update", "reset"}
    assert any(c.value.startswith("**GRU") and "update " in c.value and "% above 0.9" in c.value for c in at.caption)
    sat = figures(at)["Gate saturation over the test windows"]
    names = {t["name"] for t in sat["data"] if t.get("mode") == "markers"}
    assert names == {"update", "reset"}
    points = next(t for t in sat["data"] if t.get("name") == "update")
    fractions = np.concatenate([values(points["x"]), values(points["y"])])
    assert len(values(points["x"])) == 5 and 0 <= fractions.min() and fractions.max() <= 1  # one point per unit
    at.segmented_control(key="inspect_view").set_value("Gradient flow").run()
    assert not at.exception
    grad = figures(at)["Gradient flow: how much each input step moves the prediction"]
    assert len(grad["data"]) == 1
    assert any("moves the prediction" in c.value for c in at.caption)


def test_saturation_compares_two_runs_of_the_session():
    at = _trained(cell="LSTM")
    at.switch_page("pages/train.py").run()
    at.session_state["spec"] = tiny_spec(model={"cell": "GRU", "units": [3]})
    at.run()
    train_to_the_end(at)
    at.switch_page("pages/inspect.py").run()
    at.segmented_control(key="inspect_view").set_value("Saturation").run()
    first = at.session_state["session_runs"][1]
    at.selectbox(key="inspect_compare").set_value(first).run()
    assert not at.exception, at.exception
    fig = figures(at)["Gate saturation over the test windows"]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert any(t.startswith("GRU 3") for t in titles) and any(t.startswith("LSTM 5") for t in titles)
    gates_shown = {t["name"] for t in fig["data"] if t.get("mode") == "markers"}
    assert gates_shown == {"update", "reset", "input", "forget", "output"}


def test_inspect_follows_a_running_job(monkeypatch):
    at = new_app(tiny_spec(train={"epochs": 200}))
    at.run()
    button(at, "Train").click().run()
    at.switch_page("pages/inspect.py").run()
    poll(at, lambda a: any(t.startswith("lstm_1") for t in figures(a)))
    assert at.toggle(key="inspect_follow").value is True
    first = next(t for t in figures(at) if t.startswith("lstm_1"))
    poll(at, lambda a: next((t for t in figures(a) if t.startswith("lstm_1")), first) != first)
    stop_job(at)
    assert not at.exception


def test_memory_race_runs_in_the_background_and_charts_accuracy(monkeypatch):
    at = open_page("inspect")
    at.segmented_control(key="inspect_view").set_value("Memory race").run()
    assert any("k steps before" in m.value for m in at.markdown)
    lags = next(m for m in at.multiselect if m.label == "Lags k")
    lags.set_value([1, 2])
    next(m for m in at.multiselect if m.label == "Cells").set_value(["SimpleRNN", "GRU"])
    next(n for n in at.number_input if n.label == "Epochs").set_value(1)
    next(n for n in at.number_input if n.label == "Training sequences").set_value(200)
    next(b for b in at.button if b.label == "Run the race").click().run()
    race = at.session_state["memory_race"]
    race.join(120)
    at.run()
    assert not at.exception, at.exception
    results = race.state().results
    assert list(results["k"]) == [1, 1, 2, 2] and list(results["cell"]) == ["SimpleRNN", "GRU"] * 2
    fig = figures(at)["Memory race: test accuracy against the lag"]
    assert [t["name"] for t in fig["data"]] == ["SimpleRNN", "GRU"]
    for trace in fig["data"]:  # each line is its cell's test accuracy at k = 1, 2
        part = results[results["cell"] == trace["name"]]
        assert list(trace["x"]) == [1, 2]
        np.testing.assert_allclose(values(trace["y"]), part["accuracy"], rtol=1e-6)
    assert any(d.label == "memory_race.csv" for d in at.get("download_button"))
    state = race.state()  # it ran to its end, every training of it, as a run directory tagged by the race
    assert (state.status, state.done, state.total) == ("finished", 4, 4)
    assert (race.run_dir / memory_race.TAG_FILE).is_file() and (race.run_dir / "run.json").is_file()
    spec = race.spec  # the settings on the page reached the race
    assert json.loads(json.dumps(spec.lags)) == [1, 2]  # plain ints, as the page's CSV and settings line need
    assert (list(spec.cells), spec.epochs, spec.samples) == (["SimpleRNN", "GRU"], 1, 200)


def test_an_imported_run_without_a_recurrent_layer_says_so_instead_of_a_traceback(run_store):
    # Imports of such models are refused now; a run imported before that (or a hand-made bundle) stays on disk.
    import keras

    from core import data, runs, windows
    from core.snapshot import Snapshot

    spec = tiny_spec()
    windowed = windows.make(data.load(spec.data), spec)
    model = keras.Sequential([keras.Input(windowed.input_shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    predictions = {s: windowed.inverse_y(model.predict(windowed.X[s], verbose=0), s) for s in ("val", "test")}
    snap = Snapshot(run_id="dense-1", status="finished", message="imported", epoch=0, epochs=0, predictions=predictions)
    runs.save(run_store / "dense-1", spec, windowed, snap, model, None, runs.workspace_id("my-token-123"))
    info = json.loads((run_store / "dense-1" / "run.json").read_text())
    (run_store / "dense-1" / "run.json").write_text(json.dumps({**info, "imported": "model"}))

    at = new_app(run="dense-1", ws="my-token-123")
    at.run()
    at.switch_page("pages/inspect.py").run()
    for view in ("Gates", "Saturation"):
        at.segmented_control(key="inspect_view").set_value(view).run()
        assert not at.exception, at.exception
        assert any("has no recurrent layer" in i.value for i in at.info), view
    at.segmented_control(key="inspect_view").set_value("Gradient flow").run()
    assert not at.exception, at.exception
    assert "Gradient flow: how much each input step moves the prediction" in figures(at)  # works for any model
