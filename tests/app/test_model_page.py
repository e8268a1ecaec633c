"""The Model page through AppTest: modes, training controls, the layer table with cuDNN flags."""
from __future__ import annotations

from ..conftest import tiny_spec
from .helpers import button, figures, new_app, open_page, poll, session_run, table


def model_page(spec=None):
    return open_page("model", spec)


def layer_rows(at) -> list[dict]:
    return table(at, "cuDNN on GPU").to_dict("records")


def test_seq2seq_needs_a_horizon_and_shows_its_diagram_and_layers():
    at = model_page()
    at.radio(key="w.model.mode").set_value("seq2seq").run()
    spec = at.session_state["spec"]
    assert spec.model.mode == "seq2seq" and spec.window.horizon == 5
    assert any("RepeatVector" in c.value for c in at.code)
    types = [r["type"] for r in layer_rows(at)]
    assert types == ["LSTM", "RepeatVector", "LSTM", "TimeDistributed(Dense)"]
    assert layer_rows(at)[-1]["output shape"] == "(None, 5, 1)"


def test_leaving_seq2seq_puts_an_automatic_horizon_back_but_keeps_a_chosen_one():
    at = model_page()
    at.radio(key="w.model.mode").set_value("seq2seq").run()
    at.radio(key="w.model.mode").set_value("many_to_one").run()
    assert at.session_state["spec"].window.horizon == 1
    assert any("back to 1" in i.value for i in at.info)
    at.radio(key="w.model.mode").set_value("direct").run()
    at.number_input(key="w.window.horizon").set_value(4).run()
    at.number_input(key="w.window.horizon").set_value(5).run()  # chosen by hand: 5 is now the person's choice
    at.radio(key="w.model.mode").set_value("stateful").run()
    assert at.session_state["spec"].window.horizon == 5
    assert not at.exception


def test_recurrent_dropout_rules_out_cudnn_in_the_table():
    at = model_page()
    assert layer_rows(at)[0]["cuDNN on GPU"] == "yes"
    at.slider(key="w.model.recurrent_dropout").set_value(0.2).run()
    assert layer_rows(at)[0]["cuDNN on GPU"] == "no: recurrent_dropout is 0.2, not 0"
    at.radio(key="w.model.cell").set_value("SimpleRNN").run()
    assert layer_rows(at)[0]["cuDNN on GPU"].startswith("no: SimpleRNN has no cuDNN kernel")


def test_stateful_turns_bidirectional_off():
    at = model_page(tiny_spec(model={"bidirectional": True}))
    at.radio(key="w.model.mode").set_value("stateful").run()
    spec = at.session_state["spec"]
    assert spec.model.mode == "stateful" and spec.model.bidirectional is False
    assert at.toggle(key="w.model.bidirectional").disabled


def test_training_controls_reach_the_spec():
    at = model_page()
    at.selectbox(key="w.train.optimizer").set_value("sgd").run()
    at.number_input(key="w.train.momentum").set_value(0.9).run()
    at.selectbox(key="w.train.loss").set_value("huber").run()
    at.number_input(key="w.train.clipnorm").set_value(1.0).run()
    at.toggle(key="w.train.es").set_value(True).run()
    at.number_input(key="w.train.es.patience").set_value(3).run()
    at.toggle(key="w.train.rl").set_value(True).run()
    at.number_input(key="w.model.head_units").set_value(8).run()
    t = at.session_state["spec"].train
    assert (t.optimizer, t.momentum, t.loss, t.clipnorm) == ("sgd", 0.9, "huber", 1.0)
    assert t.early_stopping == {"patience": 3, "restore_best_weights": True}
    assert t.reduce_lr == {"factor": 0.5, "patience": 3}
    assert at.session_state["spec"].model.head_units == 8
    at.number_input(key="w.train.clipnorm").set_value(0.0).run()
    assert at.session_state["spec"].train.clipnorm is None and not at.exception


def test_a_seq2seq_run_trains_from_the_app_and_shows_its_forecast():
    at = new_app(tiny_spec(model={"mode": "seq2seq"}, window={"horizon": 3}, train={"epochs": 1}))
    at.run()
    assert any("RepeatVector(3)" in m.value for m in at.markdown)  # the summary line names the shape
    button(at, "Train").click().run()
    session_run(at).join(120)
    poll(at, lambda a: "Forecast past the data" in figures(a))
    fig = figures(at)
    traces = {t.get("name"): t for t in fig["Forecast past the data"]["data"]}
    forecast_trace = next(t for name, t in traces.items() if name and name.startswith("forecast"))
    assert len(forecast_trace["x"]) == 4  # last known point + 3 steps
    assert len(traces["80% band"]["x"]) == 3 and len(traces["95% band"]["x"]) == 3  # a band per step ahead
    assert fig["Test error by step ahead"]["data"][0]["x"] == [1, 2, 3]
    assert any(b.label == "forecast.csv" for b in at.get("download_button"))


def test_the_app_trains_on_windows_made_for_the_chosen_mode():
    """The windows cache must key on the mode: seq2seq targets are (samples, horizon, 1)."""
    at = model_page(tiny_spec(window={"horizon": 3}, train={"epochs": 1, "batch_size": 16}))
    at.radio(key="w.model.mode").set_value("seq2seq").run()
    at.switch_page("pages/train.py").run()
    button(at, "Train").click().run()
    job = session_run(at)
    assert job.windowed.y["train"].shape[1:] == (3, 1)
    job.join(120)
    at.switch_page("pages/model.py").run()
    at.radio(key="w.model.mode").set_value("stateful").run()
    at.switch_page("pages/train.py").run()
    button(at, "Train").click().run()
    job = session_run(at)
    job.join(120)
    assert job.snapshot().status == "finished", job.snapshot().message
    assert all(n % 16 == 0 for n in job.windowed.counts().values())


def test_a_stateful_batch_bigger_than_a_split_is_refused_in_plain_words():
    at = model_page(tiny_spec(model={"mode": "stateful"}, train={"batch_size": 512}))
    at.switch_page("pages/train.py").run()
    button(at, "Train").click().run()
    shown = " ".join(w.value for w in at.warning)
    assert "Stateful layers train and predict in fixed batches of 512" in shown and "run_id" not in at.session_state


def test_a_horizon_set_on_the_model_page_survives_the_data_page():
    at = open_page("model", tiny_spec(window={"horizon": 3}))
    at.switch_page("pages/data.py").run()
    assert at.number_input(key="w.data.horizon").value == 3 and at.session_state["spec"].window.horizon == 3


def test_switching_to_classification_switches_the_loss_and_builds_a_softmax_head():
    letters = tiny_spec(data={"source": "synthetic", "name": "letters", "target": "letter", "start": None,
                              "features": ["a", "b", "c", "d", "e"], "scaler": "none"}, window={"length": 3})
    at = open_page("model", letters)
    at.segmented_control(key="w.model.task").set_value("classification").run()
    assert not at.exception
    spec = at.session_state["spec"]
    assert spec.model.task == "classification" and spec.train.loss == "crossentropy"
    assert at.selectbox(key="w.train.loss").options == ["crossentropy"]
    head = next(r for r in layer_rows(at) if r["layer"] == "head")
    assert head["output shape"] == "(None, 5)"  # one probability per letter
    at.segmented_control(key="w.model.task").set_value("regression").run()
    assert at.session_state["spec"].train.loss == "mse"


def test_the_autoencoder_sets_the_horizon_to_0_and_leaving_it_sets_1_again():
    at = model_page()
    at.radio(key="w.model.mode").set_value("autoencoder").run()
    assert at.session_state["spec"].model.mode == "autoencoder" and at.session_state["spec"].window.horizon == 0
    assert any("rebuilds its own window" in i.value for i in at.info) and not at.error
    at.radio(key="w.model.mode").set_value("many_to_one").run()
    assert at.session_state["spec"].window.horizon == 1
    assert any("set for the autoencoder is back to 1" in i.value for i in at.info)  # not "the multi-step mode"


def test_a_model_over_the_parameter_cap_is_flagged_on_the_model_page():
    spec = tiny_spec().replace(model={"units": [1024, 1024, 1024, 1024], "bidirectional": True, "head_units": 1024})
    at = model_page(spec)
    assert not at.exception
    assert any("RNNLAB_MAX_MODEL_PARAMS" in e.value and "parameters" in e.value for e in at.error)
    small = model_page()
    assert not any("RNNLAB_MAX_MODEL_PARAMS" in e.value for e in small.error)


def test_a_refused_setting_is_also_said_in_a_toast_seen_from_the_top_of_the_page():
    at = model_page()
    at.radio(key="w.model.mode").set_value("autoencoder").run()
    at.button_group(key="w.model.task").set_value("classification").run()
    assert at.session_state["spec"].model.task == "regression"  # refused, the old setting kept
    assert any("use the regression task" in t.value for t in at.toast)


def test_clicking_the_active_task_again_keeps_it_instead_of_a_traceback():
    at = model_page()
    at.button_group(key="w.model.task").set_value(None).run()  # what a click on the selected segment sends
    assert not at.exception, at.exception
    assert at.button_group(key="w.model.task").value == "regression"
    assert at.session_state["spec"].model.task == "regression"
