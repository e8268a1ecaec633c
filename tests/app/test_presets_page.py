"""The Presets page, presentation mode, and the classification, letters, digits and autoencoder views."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import presets
from core.spec import ExperimentSpec

from .helpers import button, figures, new_app, poll, session_run, stop_job, table, train_to_the_end, values


def presets_page(**query):
    at = new_app(**query)
    at.run()
    at.switch_page("pages/presets.py").run()
    assert not at.exception, at.exception
    return at


def test_presets_page_lists_every_preset_walks_them_and_loads_one_into_the_editor():
    at = presets_page()
    pick = at.selectbox(key="preset_pick")
    assert pick.options and len(pick.options) == len(presets.PRESETS) and pick.value == "sine-to-cosine"
    assert presets.PRESETS["sine-to-cosine"].shows[:40] in at.markdown[0].value + at.markdown[1].value
    button(at, "Next preset").click().run()
    assert at.selectbox(key="preset_pick").value == list(presets.PRESETS)[1]
    assert at.query_params["preset"] == list(presets.PRESETS)[1]
    at.selectbox(key="preset_pick").set_value("one-to-many").run()
    shapes = [d.value for d in at.dataframe][0]  # the shape explainer: RepeatVector between encoder and decoder
    assert list(shapes["type"]) == ["LSTM", "RepeatVector", "LSTM", "TimeDistributed(Dense)"]
    assert any("(1490, 1, 1)" in m.value for m in at.markdown)  # (samples, time steps, features)
    button(at, "Load into the editor").click().run()
    assert at.session_state["spec"] == presets.get("one-to-many").experiment()


def test_a_link_opens_a_preset_and_the_sine_toggle_feeds_unscaled_x():
    at = presets_page(preset="sine-to-cosine")
    at.toggle(key="unscaled_x").set_value(True).run()
    button(at, "Load into the editor").click().run()
    spec = at.session_state["spec"]
    assert spec.data.features == ["x", "sin"] and spec.data.params["x0"] == 3000


def test_a_stock_preset_on_a_csv_without_its_columns_says_so_and_keeps_the_builtin_data(tmp_path):
    path = tmp_path / "cache" / "uploads" / "0123456789ab-odd.csv"  # as the Data page stores an upload
    path.parent.mkdir(parents=True)
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=50), "price": np.arange(50.0)}).to_csv(path, index=False)
    at = new_app(ExperimentSpec.from_dict({"data": {"source": "csv", "path": str(path), "target": "price",
                                                    "features": ["price"]}}), preset="stock-lstm-60")
    at.run()
    at.switch_page("pages/presets.py").run()
    at.toggle(key="preset_on_csv").set_value(True).run()
    assert any("no 'Open' column" in w.value and "built-in data is used" in w.value for w in at.warning)
    button(at, "Load into the editor").click().run()
    assert at.session_state["spec"].data.name == "sp500"


def test_training_a_letters_preset_shows_accuracy_and_answers_typed_letters():
    at = presets_page(preset="next-letter-4")
    button(at, "Train this preset").click().run()
    poll(at, lambda a: not session_run(a).running, 180)
    at.run()  # the run may have ended after the rerun that saw it running: draw the finished page
    titles = list(figures(at))
    assert "Accuracy" in titles and "Confusion matrix (test)" in titles
    accuracy = values(figures(at)["Accuracy"]["data"][1]["y"])  # validation, per epoch, in percent
    assert len(accuracy) == presets.get("next-letter-4").experiment().train.epochs
    at.text_input(key="typed_letters").set_value("bcd").run()
    assert "After “bcd”: next is “e”" in figures(at)
    hidden = figures(at)["Hidden state of simplernn_1, letter by letter"]["data"][0]
    assert list(hidden["y"]) == ["b", "c", "d"] and len(hidden["x"]) == 3  # 3 letters x 3 units
    at.text_input(key="typed_letters").set_value("xyz").run()
    assert any("only knows the letters a b c d e" in w.value for w in at.warning)


def test_presentation_mode_hides_the_sidebar_and_walks_the_presets():
    at = new_app(present="1")
    at.run()  # the app opens the Presets page itself
    assert at.session_state["presenting"] is True and at.selectbox(key="preset_pick_present").value
    assert any("stSidebar" in h.value for h in at.markdown)  # the presentation style is applied
    names = list(presets.PRESETS)
    button(at, "Next").click().run()
    button(at, "Next").click().run()
    assert at.selectbox(key="preset_pick_present").value == names[2]
    button(at, "Back").click().run()
    assert at.title[0].value == presets.get(names[1]).title  # the preset's title is the slide's heading
    button(at, "Exit").click().run()
    assert not at.session_state["presenting"] and not any("stSidebar" in h.value for h in at.markdown)
    assert "present" not in at.query_params
    at.switch_page("pages/presets.py").run()  # the normal page goes on from the same preset
    assert at.selectbox(key="preset_pick").value == names[1]
    button(at, "Next preset").click().run()
    assert not at.exception and at.selectbox(key="preset_pick").value == names[2]


def test_the_sidebar_button_starts_presentation_mode_on_the_presets_page():
    at = new_app()
    at.run()
    button(at, "Presentation mode").click().run()
    assert at.session_state["presenting"] is True and not at.sidebar.markdown
    assert at.query_params["present"] == "1"  # a refresh stays in presentation mode
    at.switch_page("pages/presets.py").run()  # AppTest keeps its page; a browser shows Presets at once
    assert at.title[0].value == presets.get(list(presets.PRESETS)[0]).title


WAVES = {"data": {"source": "synthetic", "name": "waves", "params": {"points": 400}, "target": "sign",
                  "features": ["sin"], "scaler": "none"},
         "window": {"length": 10, "horizon": 0},
         "model": {"cell": "GRU", "units": [4], "mode": "many_to_many", "task": "classification"},
         "train": {"epochs": 2, "batch_size": 32, "loss": "crossentropy"}}


def test_train_page_classifies_with_probabilities_coloured_by_class_and_a_confusion_matrix():
    at = new_app(ExperimentSpec.from_dict(WAVES))
    at.run()
    train_to_the_end(at)
    figs = figures(at)
    probs = next(f for t, f in figs.items() if t.startswith("Class probabilities, last"))
    names = [t.get("name") for t in probs["data"]]
    assert {"predicted 0", "predicted 1", "p(0)", "p(1)"} <= set(names)
    assert np.sum(values(figs["Confusion matrix (test)"]["data"][0]["z"])) == len(session_run(at).windowed.y["test"])
    scores = table(at, "Accuracy %")
    metrics = session_run(at).snapshot().metrics  # the run's test accuracy and the majority class's, as saved
    assert list(scores.index) == ["GRU (epoch 2)", "majority class"]
    assert list(scores["Accuracy %"]) == [f"{metrics['test']['accuracy']:.3f}",
                                          *(f"{b['accuracy']:.3f}" for b in metrics["baselines"].values())]
    assert scores["Log loss"].iloc[1] == "–"  # a baseline class has no probabilities
    assert "Error analysis" not in [h.value for h in at.subheader]  # residuals mean nothing for labels


def test_digits_are_read_row_by_row_and_the_autoencoder_shows_its_reconstruction_error():
    spec = presets.get("image-rows").experiment().replace(data={"end": "2001-12-31"}, train={"epochs": 1})
    at = new_app(spec)
    at.run()
    train_to_the_end(at)
    figs = figures(at)
    image = next(t for t in figs if t.startswith("Test image "))
    assert values(figs[image]["data"][0]["z"]).shape == (8, 8)  # 8 rows of 8 pixels
    hidden = figs["Hidden state h of lstm_1, row by row"]["data"][0]
    assert len(hidden["y"]) == 8 and len(hidden["x"]) == 100
    at.slider(key="digit_index").set_value(3).run()
    assert not at.exception and next(t for t in figures(at) if t.startswith("Test image ")) != image
    auto = ExperimentSpec.from_dict({"data": {"source": "synthetic", "name": "sine", "params": {"points": 300},
                                              "target": "value", "features": ["value"]},
                                     "window": {"length": 12, "horizon": 0},
                                     "model": {"units": [4], "mode": "autoencoder"},
                                     "train": {"epochs": 2, "batch_size": 32}})
    at = new_app(auto)
    at.run()
    train_to_the_end(at)
    error = next(f for t, f in figures(at).items() if t.startswith("Reconstruction error per window"))
    assert {t["name"] for t in error["data"]} == {"val", "test"} and np.isfinite(values(error["data"][1]["y"])).all()
    assert values(error["data"][1]["x"]).dtype.kind in "iu"  # generated data is charted by step, not by made-up date
    assert "window mean" in table(at, "RMSE").index


def test_presentation_mode_stops_a_long_run_from_the_next_slide():
    """The issue's path: train a long preset, Next, and Stop it from there (no sidebar, no Train page)."""
    at = new_app(present="1", preset="stock-simplernn-60")  # 50 epochs
    at.run()
    assert at.button(key="preset_stop").disabled  # nothing trains yet
    try:
        button(at, "Train").click().run()
        assert not at.button(key="preset_stop").disabled  # drawn after the click: it can stop what just started
        button(at, "Next").click().run()
        assert at.title[0].value == presets.get("stock-lstm-60").title
        assert any("**Stop** it above" in i.value for i in at.info)
        at.button(key="preset_stop").click().run()
        poll(at, lambda a: not session_run(a).running, 60)
        assert session_run(at).snapshot().status == "stopped"
    finally:
        stop_job(at)


def test_the_presets_page_has_stop_next_to_train_and_says_what_each_preset_should_show():
    at = presets_page(preset="stock-multifeature")
    labels = [b.label for b in at.button]
    assert labels.index("Stop") == labels.index("Train this preset") + 1 and at.button(key="preset_stop").disabled
    assert any(m.value.startswith("**What you should see:**") for m in at.markdown)
    at.toggle(key="lookahead").set_value(True).run()  # the tutorial's look-ahead, marked as a leak
    assert any("Look-ahead leak" in w.value for w in at.warning)
    button(at, "Load into the editor").click().run()
    data = at.session_state["spec"].data
    assert (data.transform, data.scaler) == ("raw", "standard-lookahead")
    at.toggle(key="lookahead").set_value(False).run()
    button(at, "Load into the editor").click().run()
    data = at.session_state["spec"].data
    assert (data.transform, data.scaler) == ("pct", "standard")  # the honest default trains on changes
