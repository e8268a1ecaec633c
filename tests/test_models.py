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


@pytest.mark.parametrize("mode, shape", [("many_to_one", (None, 1)), ("direct", (None, 3)),
                                         ("many_to_many", (None, 10, 1)), ("seq2seq", (None, 3, 1)),
                                         ("stateful", (16, 1))])
def test_each_mode_has_its_output_shape(mode, shape):
    net = models.build(ModelSpec(units=[6, 4], mode=mode), TrainSpec(batch_size=16), (10, 2), horizon=3)
    assert net.output_shape == shape
    names = [layer.__class__.__name__ for layer in net.layers]
    if mode == "seq2seq":
        assert names[names.index("RepeatVector") + 1] == "LSTM" and names[-1] == "TimeDistributed"
    recurrent = [layer for layer in net.layers if layer.__class__.__name__ == "LSTM"]
    assert len(recurrent) == (3 if mode == "seq2seq" else 2)  # the filters below are never empty
    if mode == "many_to_many":
        assert [layer.return_sequences for layer in recurrent] == [True, True]
    if mode == "stateful":
        assert [layer.stateful for layer in recurrent] == [True, True]


def test_head_units_add_a_hidden_dense_layer():
    net = models.build(ModelSpec(units=[4], head_units=5), TrainSpec(), (10, 1))
    assert [layer.name for layer in net.layers][-2:] == ["head_hidden", "head"]
    assert net.layers[-2].units == 5


def test_cudnn_flags_follow_the_keras_conditions():
    import keras

    def flag(layer):
        return models.cudnn_reasons(layer)

    assert flag(keras.layers.LSTM(4)) == [] and flag(keras.layers.GRU(4)) == []
    assert flag(keras.layers.Bidirectional(keras.layers.GRU(4))) == []
    assert flag(keras.layers.SimpleRNN(4)) == ["SimpleRNN has no cuDNN kernel"]
    assert flag(keras.layers.LSTM(4, recurrent_dropout=0.2)) == ["recurrent_dropout is 0.2, not 0"]
    assert flag(keras.layers.LSTM(4, activation="relu")) == ["activation is not tanh"]
    assert flag(keras.layers.LSTM(4, recurrent_activation="hard_sigmoid")) == ["recurrent_activation is not sigmoid"]
    assert flag(keras.layers.GRU(4, reset_after=False)) == ["reset_after is False"]
    assert flag(keras.layers.GRU(4, unroll=True)) == ["unroll is True"]
    assert flag(keras.layers.LSTM(4, use_bias=False)) == ["use_bias is False"]
    net = models.build(ModelSpec(cell="GRU", units=[4], recurrent_dropout=0.1), TrainSpec(), (10, 1))
    assert models.layer_table(net)[0]["cuDNN on GPU"] == "no: recurrent_dropout is 0.1, not 0"
    assert models.layer_table(net)[-1]["cuDNN on GPU"] == ""  # Dense: not recurrent


def test_loss_clipnorm_and_momentum_reach_the_compiled_model():
    import keras

    net = models.build(ModelSpec(units=[4]), TrainSpec(optimizer="sgd", momentum=0.9, clipnorm=1.0, loss="huber"),
                       (5, 1))
    assert net.optimizer.momentum == pytest.approx(0.9) and net.optimizer.clipnorm == pytest.approx(1.0)
    assert isinstance(net.loss, keras.losses.Huber)
    assert models.build(ModelSpec(units=[4]), TrainSpec(loss="mae"), (5, 1)).loss == "mae"
