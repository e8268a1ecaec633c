"""Build a compiled Keras model from the model and train parts of the spec."""
from __future__ import annotations

import keras

from .spec import ModelSpec, TrainSpec

_CELLS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
_OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}


def build(model: ModelSpec, train: TrainSpec, input_shape: tuple[int, int]) -> keras.Model:
    """A stack of recurrent layers and a Dense(1) head, compiled with MSE loss.

    Every recurrent layer but the last returns the whole sequence, (batch, time, units), so the
    next one has a sequence to read; the last returns only its final state, (batch, units).

    Args:
        model: cell type, units per layer, dropout between layers, bidirectional.
        train: optimizer and learning rate.
        input_shape: (time steps, features) of one sample.
    """
    cell = _CELLS[model.cell]
    layers: list[keras.layers.Layer] = [keras.Input(shape=input_shape, name="window")]
    for i, units in enumerate(model.units):
        last = i == len(model.units) - 1
        rnn = cell(units, return_sequences=not last, name=f"{model.cell.lower()}_{i + 1}")
        layers.append(keras.layers.Bidirectional(rnn, name=f"bi_{rnn.name}") if model.bidirectional else rnn)
        if model.dropout > 0:
            layers.append(keras.layers.Dropout(model.dropout, name=f"dropout_{i + 1}"))
    layers.append(keras.layers.Dense(1, name="head"))
    net = keras.Sequential(layers, name=f"{model.cell.lower()}_stack")
    net.compile(optimizer=optimizer(train), loss="mse")
    return net


def optimizer(train: TrainSpec) -> keras.optimizers.Optimizer:
    """A fresh optimizer as the spec names it."""
    return _OPTIMIZERS[train.optimizer](learning_rate=train.learning_rate)


def layer_table(net: keras.Model) -> list[dict[str, object]]:
    """One row per layer: name, type, output shape, parameter count."""
    return [
        {"layer": layer.name, "type": layer.__class__.__name__,
         "output shape": str(tuple(layer.output.shape)), "parameters": layer.count_params()}
        for layer in net.layers
    ]
