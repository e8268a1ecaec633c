"""Every page through Streamlit's AppTest: render, edit the spec, train, poll, stop."""
from __future__ import annotations

import keras
import pytest
from streamlit.testing.v1 import AppTest

from ..conftest import tiny_spec
from .helpers import button, figures, loss_points, new_app, param, poll, session_run, status, stop_job, table


# -- rendering -----------------------------------------------------------------------------------
def test_landing_page_shows_the_builtin_series_and_its_shapes():
    at = new_app()
    at.run()
    assert not at.exception
    assert "S&P 500 index, daily" in at.markdown[0].value
    assert any("Close: chronological split" in t for t in figures(at))
    assert any("X: (4971 samples, 60 time steps, 1 feature)" in c.value for c in at.caption)
    assert [b.label for b in at.main.button] == ["Train", "Stop"]


@pytest.mark.parametrize("page", ["pages/data.py", "pages/model.py", "pages/train.py", "pages/inspect.py"])
def test_each_page_renders_without_exception(page):
    at = new_app(tiny_spec())
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error


def test_model_page_shows_layers_and_edits_the_spec():
    at = new_app()
    at.run()
    at.switch_page("pages/model.py").run()
    assert any("Total parameters: **16,961**" in c.value for c in at.caption)  # LSTM(64) + Dense(1)
    at.radio(key="w.model.cell").set_value("GRU").run()
    at.text_input[0].set_value("32, 16").run()
    spec = at.session_state["spec"]
    assert spec.model.cell == "GRU" and spec.model.units == [32, 16]
    at.text_input[0].set_value("lots").run()
    assert any("whole numbers" in e.value for e in at.error)
    assert at.session_state["spec"].model.units == [32, 16]
    assert not at.exception


def test_data_page_edits_window_and_split():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/data.py").run()
    at.number_input(key="w.window.length").set_value(20).run()
    at.number_input(key="w.split.test.share").set_value(0.25).run()
    spec = at.session_state["spec"]
    assert spec.window.length == 20 and spec.split.test == 0.25
    at.radio(key="split_mode").set_value("number of targets").run()
    at.number_input(key="w.split.test.count").set_value(30).run()
    at.number_input(key="w.split.val.count").set_value(20).run()
    spec = at.session_state["spec"]
    assert spec.split.test == 30 and isinstance(spec.split.test, int) and spec.split.val == 20
    # 2018 has 251 trading days: 231 targets after the first window of 20, so 181 are left for training
    assert table(at, "samples")["samples"].to_dict() == {"train": 181, "val": 20, "test": 30}
    assert not at.exception
    at.number_input(key="w.split.test.count").set_value(5).run()
    assert any("test has only 5 targets" in w.value for w in at.warning)


def test_window_longer_than_the_data_shows_an_error_and_keeps_the_data():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/data.py").run()
    at.number_input(key="w.window.length").set_value(400).run()
    assert not at.exception
    assert any("Shorten the window" in e.value for e in at.error)
    rows = table(at, "Close")  # the loaded rows are still on screen: the last 20 of 2018
    assert len(rows) == 20 and f"{rows.index[-1]:%Y-%m-%d}" == "2018-12-31"
    assert not any("samples" in d.value.columns for d in at.dataframe)  # no splits of a window that does not fit
    at.switch_page("pages/train.py").run()
    button(at, "Train").click().run()
    assert any("Shorten the window" in w.value for w in at.warning)
    assert "run_id" not in at.session_state


def test_target_change_carries_the_inputs_along_when_they_were_the_target():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.data.target").set_value("Open").run()
    assert at.session_state["spec"].data.features == ["Open"]
    at.multiselect(key="w.data.features").set_value(["Open", "Volume"]).run()
    at.selectbox(key="w.data.target").set_value("High").run()
    spec = at.session_state["spec"]
    assert spec.data.target == "High" and spec.data.features == ["Open", "Volume"]


def test_huge_units_are_refused_with_a_message_not_a_traceback():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/model.py").run()
    at.text_input[0].set_value("100000").run()
    assert not at.exception
    assert any("1 to 1024" in e.value for e in at.error)
    assert at.session_state["spec"].model.units == [4]


def test_stop_without_a_run_says_so():
    at = new_app(tiny_spec())
    at.run()
    button(at, "Stop").click().run()
    assert any("Nothing is training" in i.value for i in at.info)


def test_spec_survives_a_page_switch():
    at = new_app(tiny_spec())
    at.run()
    at.switch_page("pages/model.py").run()
    at.radio(key="w.model.cell").set_value("SimpleRNN").run()
    at.radio(key="w.model.mode").set_value("many_to_many").run()
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/model.py").run()
    assert at.radio(key="w.model.cell").value == "SimpleRNN" and at.radio(key="w.model.mode").value == "many_to_many"


# -- training ------------------------------------------------------------------------------------
def test_train_history_grows_across_reruns_and_stop_stops_it():
    at = new_app(tiny_spec(train={"epochs": 300}))
    at.run()
    button(at, "Train").click().run()
    assert not at.exception
    poll(at, lambda a: loss_points(a) >= 1)
    first = loss_points(at)
    poll(at, lambda a: loss_points(a) > first)
    assert status(at).startswith("Status: epoch")
    assert "Epoch" in at.get("progress")[0].proto.text
    button(at, "Stop").click().run()
    poll(at, lambda a: "stopped at epoch" in status(a), timeout=30)
    epochs = int(status(at).split("stopped at epoch ")[1].split()[0])
    assert loss_points(at) == epochs and 2 <= epochs < 300
    assert any("persistence" in str(d.value.index.tolist()) for d in at.dataframe)


def test_second_train_click_while_running_is_refused():
    at = new_app(tiny_spec(train={"epochs": 300}))
    at.run()
    button(at, "Train").click().run()
    first_job = session_run(at).run_id
    button(at, "Train").click().run()
    assert any("already in progress" in w.value for w in at.warning)
    assert session_run(at).run_id == first_job
    stop_job(at)


def test_switch_pages_while_training_and_come_back_to_the_live_view():
    at = new_app(tiny_spec(train={"epochs": 300}))
    at.run()
    button(at, "Train").click().run()
    job = session_run(at)
    at.switch_page("pages/data.py").run()
    assert not at.exception and job.running  # (AppTest does not capture the sidebar; the e2e test reads it)
    at.switch_page("pages/train.py")
    poll(at, lambda a: loss_points(a) >= 1)
    assert session_run(at).run_id == job.run_id and job.running
    stop_job(at)


def test_log_scale_toggle_and_downloads_after_training():
    at = new_app(tiny_spec())
    at.run()
    button(at, "Train").click().run()
    poll(at, lambda a: "finished 2 epochs" in status(a))
    at.run()
    assert figures(at)["Loss"]["layout"]["yaxis"].get("type", "linear") == "linear"
    at.toggle(key="log_loss").set_value(True).run()
    assert figures(at)["Loss"]["layout"]["yaxis"]["type"] == "log"
    labels = [b.proto.label for b in at.get("download_button")]
    assert "predictions.csv" in labels and "model.keras" in labels
    # The scorecard (docs/scorecard.md): rolling coverage of the three interval methods, and the seed repeat.
    assert any(title.startswith("Coverage of the 80% bands") for title in figures(at))
    assert "Repeat with 3 seeds" in [b.label for b in at.button]


def test_diverging_training_shows_why_and_what_to_do():
    spec = tiny_spec(model={"cell": "SimpleRNN"}, train={"optimizer": "sgd", "learning_rate": 10.0, "epochs": 3})
    at = new_app(spec)
    at.run()
    button(at, "Train").click().run()
    poll(at, lambda a: any(e.value.startswith("Status: loss became") for e in a.error))  # failed, not running
    assert "lower the learning rate" in status(at)
    assert set(figures(at)) <= {"Loss"}  # nothing from the blown-up weights: see test_failed_run.py


def test_refresh_reattaches_to_the_job_and_later_reads_the_saved_run():
    at = new_app(tiny_spec())
    at.run()
    button(at, "Train").click().run()
    run_id, token = param(at, "run"), param(at, "ws")
    poll(at, lambda a: loss_points(a) >= 1)
    fresh = new_app(run=run_id, ws=token)  # a refreshed tab while it trains: new session, same URL
    fresh.run()
    assert session_run(fresh).run_id == run_id and not fresh.exception
    assert fresh.session_state["spec"] == session_run(at).spec  # the settings come back with the run
    job = session_run(at)
    job.join(60)

    later = new_app(run=run_id, ws=token)  # another process, or long after: the run store has it
    later.run()
    assert not later.exception
    assert "finished 2 epochs" in status(later) and loss_points(later) == 2


def test_another_visitor_cannot_open_a_run_by_its_id():
    at = new_app(tiny_spec(train={"epochs": 1}))
    at.run()
    button(at, "Train").click().run()
    run_id = param(at, "run")
    for intruder in (new_app(run=run_id), new_app(run=run_id, ws="someone-elses-token")):
        intruder.run()  # while it trains
        assert not intruder.exception
        assert "run_id" not in intruder.session_state and status(intruder) == ""
        assert any("Click **Train** to start" in i.value for i in intruder.info)
    session_run(at).join(60)
    intruder = new_app(run=run_id, ws="someone-elses-token")
    intruder.run()
    assert status(intruder) == "" and "run_id" not in intruder.session_state


def test_streamlit_does_not_clear_the_keras_session(monkeypatch):
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    at = new_app(tiny_spec())
    at.run()
    at.run()
    assert not at.exception and calls == []


def app_with_default_spec(tmp_path, monkeypatch, text: str) -> AppTest:
    """The app started with RNNLAB_DEFAULT_SPEC pointing at a file holding `text`, after one run."""
    path = tmp_path / "spec.json"
    path.write_text(text)
    monkeypatch.setenv("RNNLAB_DEFAULT_SPEC", str(path))
    at = new_app()
    at.run()
    return at


def test_an_unusable_default_spec_file_falls_back_with_a_message(tmp_path, monkeypatch):
    at = app_with_default_spec(tmp_path, monkeypatch, '{"model": {"cell": "Transformer"}}')
    assert not at.exception
    assert any("RNNLAB_DEFAULT_SPEC" in e.value and "model.cell" in e.value for e in at.error)
    assert at.session_state["spec"].model.cell == "LSTM"


def test_a_default_spec_file_is_used(tmp_path, monkeypatch):
    at = app_with_default_spec(
        tmp_path, monkeypatch, '{"model": {"cell": "GRU", "units": [8]}, "train": {"batch_size": 100, "epochs": 2000}}')
    at.switch_page("pages/model.py").run()
    spec = at.session_state["spec"]  # opening the page must not rewrite values the widgets allow
    assert spec.model.cell == "GRU" and spec.train.batch_size == 100 and spec.train.epochs == 2000
