import pytest

from core import models
from core.spec import ModelSpec, TrainSpec


@pytest.mark.parametrize("cell, gates", [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_single_layer_parameter_count(cell, gates):
    net = models.build(ModelSpec(cell=cell, units=[8]), TrainSpec(), (10, 2))
    rnn = net.layers[0]
    bias = 2 if cell == "GRU" else 1  # GRU's reset_after keeps an input and a recurrent bias
    assert rnn.count_params() == gates * (8 * (2 + 8) + bias * 8)
    assert net.output_shape == (None, 1)


def test_stack_returns_sequences_except_the_last():
    net = models.build(ModelSpec(units=[8, 6, 4], dropout=0.2), TrainSpec(), (10, 1))
    rnns = [layer for layer in net.layers if layer.__class__.__name__ == "LSTM"]
    assert [r.return_sequences for r in rnns] == [True, True, False]
    assert [layer.__class__.__name__ for layer in net.layers].count("Dropout") == 3


def test_bidirectional_doubles_the_state():
    net = models.build(ModelSpec(units=[8], bidirectional=True), TrainSpec(), (10, 1))
    assert net.layers[0].__class__.__name__ == "Bidirectional"
    assert net.layers[0].output.shape == (None, 16)


@pytest.mark.parametrize("name, cls", [("adam", "Adam"), ("rmsprop", "RMSprop"), ("sgd", "SGD")])
def test_optimizer_and_learning_rate(name, cls):
    net = models.build(ModelSpec(units=[4]), TrainSpec(optimizer=name, learning_rate=0.01), (5, 1))
    assert net.optimizer.__class__.__name__ == cls
    assert float(net.optimizer.learning_rate) == pytest.approx(0.01)


def test_layer_table_lists_every_layer():
    net = models.build(ModelSpec(units=[8, 4]), TrainSpec(), (10, 1))
    rows = models.layer_table(net)
    assert [r["type"] for r in rows] == ["LSTM", "LSTM", "Dense"]
    assert sum(r["parameters"] for r in rows) == net.count_params()
    assert rows[0]["output shape"] == "(None, 10, 8)"
