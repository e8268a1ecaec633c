"""core/gates.py: the numpy replay must reproduce Keras's own outputs, with trained weights."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from core import cells, data, gates, runs, training, windows
from core.training import TrainingJob

from .conftest import TINY, tiny_spec

STEPS, FEATURES = 12, 2
ROOT = Path(__file__).resolve().parents[1]


def _trained(layers: list, seed: int = 0) -> tuple[keras.Model, np.ndarray]:
    """A model of `layers` after one epoch at a high learning rate (so weights are off their init)."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, STEPS, FEATURES)).astype("float32")
    y = X[:, -3:, :1].sum(axis=1)
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), *layers, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights())), "weights did not train"
    return model, X[:8]


def _keras_sequences(layer: keras.layers.Layer, x: np.ndarray) -> tuple[keras.layers.Layer, np.ndarray]:
    """The layer's own output at every step: a copy with return_sequences=True and the same weights."""
    config = layer.get_config()
    inner = config["layer"]["config"] if isinstance(layer, keras.layers.Bidirectional) else config
    inner["return_sequences"] = True
    if isinstance(layer, keras.layers.Bidirectional) and config.get("backward_layer"):
        config["backward_layer"]["config"]["return_sequences"] = True
    copy = layer.__class__.from_config(config)
    copy.build(x.shape)
    copy.set_weights(layer.get_weights())
    return copy, np.asarray(copy(x))


def _assert_replay_matches(model: keras.Model, X: np.ndarray) -> dict:
    traces = gates.replay(model, X)
    names = [r.name for r in gates.recurrent_layers(model)]
    assert list(traces) == names and names
    x = X
    for layer in model.layers:
        if layer.name not in traces:
            x = np.asarray(layer(x))
            continue
        copy, expected = _keras_sequences(layer, x)
        np.testing.assert_allclose(gates.output(copy, traces[layer.name]["h"]), expected, atol=1e-5)
        np.testing.assert_allclose(gates.output(layer, traces[layer.name]["h"]), np.asarray(layer(x)), atol=1e-5)
        x = np.asarray(layer(x))
    return traces


@pytest.mark.parametrize("name", cells.NAMES)  # every registered cell (core/cells/)
def test_replay_equals_keras_for_stacked_and_bidirectional_layers(name):
    cell = cells.cell(name).layer()
    model, X = _trained([cell(5, return_sequences=True), keras.layers.Bidirectional(cell(4))])
    traces = _assert_replay_matches(model, X)
    first, second = traces.values()
    assert first["h"].shape == (8, STEPS, 5)
    assert second["h"].shape == (8, STEPS, 8)  # bidirectional: forward units, then backward ones
    assert set(first) == set(gates.GATES[name])


def test_replay_equals_keras_for_gru_without_reset_after():
    model, X = _trained([keras.layers.GRU(5, reset_after=False, return_sequences=True),
                         keras.layers.Bidirectional(keras.layers.GRU(3, reset_after=False))])
    _assert_replay_matches(model, X)


@pytest.mark.parametrize("mode", ["seq2seq", "stateful", "many_to_many"])
def test_replay_follows_the_models_rnn_lab_builds(mode):
    spec = tiny_spec(model={"mode": mode, "units": [6, 4], "cell": "GRU", "dropout": 0.2},
                     window={"length": 10, "horizon": 3 if mode == "seq2seq" else 1}, train={"batch_size": 8, "epochs": 1})
    w = windows.make(data.load(spec.data), spec)
    job = TrainingJob(spec, w)
    job.run()
    X = w.X["test"][:8]
    traces = gates.replay(job.model, X)
    expected_layers = ["gru_1", "gru_2"] + (["gru_decoder"] if mode == "seq2seq" else [])
    assert list(traces) == expected_layers
    if mode == "seq2seq":
        assert traces["gru_decoder"]["h"].shape == (8, 3, 4)  # the decoder unrolls `horizon` steps
        # the decoder's h read out by the head is the model's prediction
        head = np.asarray(job.model.layers[-1](traces["gru_decoder"]["h"]))
        np.testing.assert_allclose(head, np.asarray(job.model.predict_on_batch(X)), atol=1e-5)
    elif mode == "many_to_many":
        np.testing.assert_allclose(np.asarray(job.model.layers[-1](traces["gru_2"]["h"])),
                                   np.asarray(job.model.predict_on_batch(X)), atol=1e-5)
    else:  # stateful: the replay starts from zero states, as predict does after a reset
        head = np.asarray(job.model.layers[-1](traces["gru_2"]["h"][:, -1]))
        np.testing.assert_allclose(head, np.asarray(job.model.predict(w.X["test"][:8], batch_size=8, verbose=0)),
                                   atol=1e-5)


def test_sigmoid_gates_stay_in_0_1_and_lstm_states_obey_their_equations():
    model, X = _trained([keras.layers.LSTM(6, name="lstm")])
    t = gates.replay(model, X)["lstm"]
    for gate in ("input", "forget", "output"):
        assert t[gate].min() >= 0 and t[gate].max() <= 1
    assert np.abs(t["candidate"]).max() <= 1 and np.abs(t["h"]).max() <= 1
    np.testing.assert_allclose(t["h"], t["output"] * np.tanh(t["cell"]), atol=1e-6)
    np.testing.assert_allclose(t["cell"][:, 1:], t["forget"][:, 1:] * t["cell"][:, :-1]
                               + t["input"][:, 1:] * t["candidate"][:, 1:], atol=1e-5)


def test_replay_with_an_earlier_weight_list():
    model, X = _trained([keras.layers.GRU(4, name="gru")])
    now = gates.replay(model, X)
    zeros = [np.zeros_like(w) for w in model.get_weights()]
    then = gates.replay(model, X, weights=zeros)
    np.testing.assert_allclose(then["gru"]["update"], 0.5)  # sigmoid(0)
    np.testing.assert_allclose(then["gru"]["h"], 0.0)
    assert not np.allclose(now["gru"]["h"], 0.0)


def test_flat_keys_and_shapes():
    model, X = _trained([keras.layers.LSTM(3, return_sequences=True, name="lstm"),
                         keras.layers.Bidirectional(keras.layers.GRU(2), name="bidirectional")])
    flat = gates.flat(gates.replay(model, X), window=1)
    assert set(flat) == {f"lstm/{g}" for g in gates.GATES["LSTM"]} | {f"bidirectional/{g}" for g in gates.GATES["GRU"]}
    assert flat["lstm/forget"].shape == (STEPS, 3) and flat["bidirectional/h"].shape == (STEPS, 4)


def test_saturation_fractions_per_unit():
    values = np.array([[[0.05, 0.5], [0.95, 0.5]], [[0.01, 0.92], [0.5, 0.99]]])  # (2 windows, 2 steps, 2 units)
    sat = gates.saturation({"forget": values})["forget"]
    np.testing.assert_allclose(sat, [[0.5, 0.0], [0.25, 0.5]])


def test_unit_order_by_mean_and_by_correlation():
    t = np.linspace(0, 1, 20)
    values = np.stack([np.full(20, 0.2), -t, np.full(20, 0.9), t], axis=1)
    assert gates.order_units(values, "as built").tolist() == [0, 1, 2, 3]
    assert gates.order_units(values, "mean").tolist()[0] == 2
    order = gates.order_units(values, "correlation", target=t * 5 + 1)
    assert order[0] == 3 and order[-1] == 1  # most correlated first, anti-correlated last


def test_gradient_flow_matches_finite_differences():
    keras.utils.set_random_seed(1)
    X = np.random.default_rng(1).normal(size=(8, STEPS, 1)).astype("float32")
    model = keras.Sequential([keras.Input((STEPS, 1)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)])
    flow = gates.gradient_flow(model, X)
    assert flow.shape == (STEPS,)
    eps, numeric = 1e-2, []
    for t in range(STEPS):
        up, down = X.copy(), X.copy()
        up[:, t] += eps
        down[:, t] -= eps
        diff = (np.asarray(model(up)) - np.asarray(model(down)))[:, 0] / (2 * eps)
        numeric.append(np.abs(diff).mean())
    np.testing.assert_allclose(flow, numeric, rtol=0.05, atol=1e-4)


def test_weight_history_keeps_every_epoch_then_thins_to_the_budget(monkeypatch):
    spec = tiny_spec(train={"epochs": 9})
    w = windows.make(data.load(spec.data), spec)
    job = TrainingJob(spec, w)
    job.run()
    history = job.weight_history()
    assert list(history) == list(range(10))  # before training, then every epoch
    np.testing.assert_array_equal(history[9][0], job.model.get_weights()[0])
    one = sum(a.nbytes for a in history[0])
    monkeypatch.setattr(training, "WEIGHT_BUDGET", one * 4)
    job = TrainingJob(spec, w)
    job.run()
    kept = list(job.weight_history())
    assert kept[0] == 0 and kept[-1] == 9 and len(kept) <= 4
    assert all(e % 4 == 0 for e in kept[:-1])


def test_run_directory_has_gates_and_weights(run_store):
    spec = tiny_spec(model={"bidirectional": True})
    w = windows.make(data.load(spec.data), spec)
    job = TrainingJob(spec, w, run_dir=run_store / "g")
    job.run()
    with np.load(run_store / "g" / "gates.npz") as archive:
        assert set(archive.files) == {f"bi_lstm_1/{g}" for g in gates.GATES["LSTM"]}
        assert archive["bi_lstm_1/forget"].shape == (10, 8)  # (time steps, 2 * units)
        np.testing.assert_allclose(archive["bi_lstm_1/h"], gates.replay(job.model, w.X["test"][:1])["bi_lstm_1"]["h"][0])
    history = runs.weight_history(run_store / "g")
    assert list(history) == [0, 1, 2]
    for a, b in zip(history[2], job.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cli_writes_gates_npz(tmp_path):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "model": {"units": [3], "cell": "GRU"}, "train": {"epochs": 1}}))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with np.load(out / "gates.npz") as archive:
        assert sorted(archive.files) == ["gru_1/candidate", "gru_1/h", "gru_1/reset", "gru_1/update"]
        assert archive["gru_1/update"].shape == (10, 3)
        assert 0 <= archive["gru_1/update"].min() and archive["gru_1/update"].max() <= 1


def test_replay_handles_go_backwards_other_merge_modes_and_functional_models():
    model, X = _trained([keras.layers.GRU(4, go_backwards=True, return_sequences=True),
                         keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode="sum"),
                         keras.layers.Bidirectional(keras.layers.SimpleRNN(2), merge_mode="ave")])
    _assert_replay_matches(model, X)
    inputs = keras.Input((STEPS, FEATURES))
    functional = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(3, name="lstm_f")(inputs)))
    traces = gates.replay(functional, X)  # its layers include the InputLayer
    assert list(traces) == ["lstm_f"] and traces["lstm_f"]["h"].shape == (8, STEPS, 3)


def test_the_last_kept_weights_are_the_models_after_early_stopping_restores_the_best():
    spec = tiny_spec(train={"epochs": 8, "learning_rate": 0.05, "early_stopping": {"patience": 1}})
    job = TrainingJob(spec, windows.make(data.load(spec.data), spec))
    job.run()
    last = list(job.weight_history().values())[-1]
    for a, b in zip(last, job.model.get_weights()):
        np.testing.assert_array_equal(a, b)  # what Inspect shows last is what model.keras and gates.npz hold


def test_replay_reads_the_input_projection_and_embedding_from_the_epoch_asked_for():
    import keras as _keras

    from core import models
    from core.spec import ModelSpec, TrainSpec

    for model, X in ((ModelSpec(cell="GRU", units=[3], input_dense=4), np.random.default_rng(0).normal(size=(5, 6, 2))),
                     (ModelSpec(cell="LSTM", units=[3], embedding_dim=2, task="classification"),
                      np.random.default_rng(0).integers(0, 5, size=(5, 6, 1)).astype("float32"))):
        train = TrainSpec(loss="crossentropy" if model.task == "classification" else "mse")
        net = models.build(model, train, X.shape[1:], 1, classes=5, vocab=5)
        other = [w * 0.5 + 0.1 for w in net.get_weights()]  # "another epoch": every array changed
        twin = models.build(model, train, X.shape[1:], 1, classes=5, vocab=5)
        twin.set_weights(other)
        replayed = gates.replay(net, X, other)
        name = next(iter(replayed))
        assert np.allclose(replayed[name]["h"], gates.replay(twin, X)[name]["h"], atol=1e-5)
        assert not np.allclose(replayed[name]["h"], gates.replay(net, X)[name]["h"], atol=1e-3)
        assert np.allclose(gates.replay(twin, X)[name]["h"][:, -1],
                           _keras.Model(twin.inputs, twin.get_layer(name).output).predict(X, verbose=0), atol=1e-5)
        if model.embedding_dim:
            with pytest.raises(ValueError, match="embedding"):
                gates.gradient_flow(net, X, classify=True)


def test_gate_histograms_show_where_values_lie_when_no_unit_saturates():
    rng = np.random.default_rng(0)
    middle = rng.uniform(0.3, 0.6, size=(8, 10, 4))  # never below 0.1 nor above 0.9: saturation is (0, 0) for all
    assert gates.saturation({"forget": middle})["forget"].max() == 0
    centres, shares = gates.histograms({"forget": middle})["forget"]
    assert len(centres) == gates.HIST_BINS and shares.sum() == pytest.approx(1.0)
    assert shares[(centres > 0.3) & (centres < 0.6)].sum() == pytest.approx(1.0)  # all the mass where the values are
    h_centres, _ = gates.histograms({"h": rng.uniform(-1, 1, size=(2, 3, 4))})["h"]
    assert h_centres.min() < 0  # a SimpleRNN's h spans -1..1
    assert gates.saturation_words({"input": np.array([[0.5, 0.0], [0.0, 0.1]])}) == "input 25% below 0.1, 5% above 0.9"
