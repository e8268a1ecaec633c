"""Build a compiled Keras model from the model and train parts of the spec, for every sequence shape."""
from __future__ import annotations

import keras

from . import cells
from .spec import ModelSpec, TrainSpec

_OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
_LOSSES = {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber,
           "crossentropy": keras.losses.SparseCategoricalCrossentropy}

def output_steps(model: ModelSpec, length: int, horizon: int) -> int:
    """How many values one sample predicts."""
    return {"direct": horizon, "seq2seq": horizon, "many_to_many": length, "autoencoder": length}.get(model.mode, 1)


def build(model: ModelSpec, train: TrainSpec, input_shape: tuple[int, int], horizon: int = 1, classes: int = 0,
          vocab: int = 0) -> keras.Model:
    """A stack of recurrent layers and a dense head shaped by `model.mode`, compiled.

    In many_to_one, direct and stateful modes every recurrent layer but the last returns the whole
    sequence (batch, time, units) so the next has a sequence to read; the last returns its final
    state (batch, units). many_to_many keeps sequences to the end; seq2seq encodes to one state,
    repeats it `horizon` times and decodes.

    Args:
        model: cell, units per layer, dropouts, bidirectional, mode, head units.
        train: optimizer, learning rate, loss, clipnorm, momentum; batch size (stateful only).
        input_shape: (time steps, features) of one sample.
        horizon: steps ahead (direct and seq2seq predict each of them).
        classes: classification: how many classes (the head is Dense(classes, softmax)).
        vocab: with model.embedding_dim, how many distinct tokens the input holds.
    """
    cell = cells.cell(model.cell).layer()
    stateful = model.mode == "stateful"
    sequences_out = model.mode == "many_to_many"
    window = keras.Input(shape=input_shape, batch_size=train.batch_size if stateful else None, name="window")
    layers: list[keras.layers.Layer] = [window]
    if model.embedding_dim:  # (time steps, 1) tokens -> (time steps, embedding_dim)
        layers.append(keras.layers.Reshape((input_shape[0],), name="tokens"))
        layers.append(keras.layers.Embedding(max(vocab, 1), model.embedding_dim, name="embedding"))
    if model.input_dense:  # Dense on a sequence acts on every time step with the same weights
        layers.append(keras.layers.Dense(model.input_dense, name="input_dense"))
    for i, units in enumerate(model.units):
        last = i == len(model.units) - 1
        rnn = cell(units, return_sequences=sequences_out or not last, stateful=stateful,
                   recurrent_dropout=model.recurrent_dropout, name=f"{model.cell.lower()}_{i + 1}")
        layers.append(keras.layers.Bidirectional(rnn, name=f"bi_{rnn.name}") if model.bidirectional else rnn)
        if model.dropout > 0:
            layers.append(keras.layers.Dropout(model.dropout, name=f"dropout_{i + 1}"))
    if model.mode in ("seq2seq", "autoencoder"):
        steps = input_shape[0] if model.mode == "autoencoder" else horizon
        layers.append(keras.layers.RepeatVector(steps, name="repeat"))
        decoder = cell(model.units[-1], return_sequences=True, recurrent_dropout=model.recurrent_dropout,
                       name=f"{model.cell.lower()}_decoder")
        layers.append(keras.layers.Bidirectional(decoder, name="bi_decoder") if model.bidirectional else decoder)
    per_step = model.mode in ("many_to_many", "seq2seq", "autoencoder")  # one Dense read-out per time step

    def dense(units: int, name: str, **kwargs) -> keras.layers.Layer:
        if per_step:
            return keras.layers.TimeDistributed(keras.layers.Dense(units, **kwargs), name=name)
        return keras.layers.Dense(units, name=name, **kwargs)

    if model.head_units:
        layers.append(dense(model.head_units, "head_hidden", activation="relu"))
    if model.task == "classification":
        layers.append(dense(max(classes, 2), "head", activation="softmax"))
    else:
        layers.append(dense(horizon if model.mode == "direct" else 1, "head"))
    net = keras.Sequential(layers, name=f"{model.cell.lower()}_{model.mode}")
    compile_model(net, train)
    return net


def compile_model(net: keras.Model, train: TrainSpec) -> None:
    """Compile with a fresh optimizer and the spec's loss (also used after a divergence).
    Cross-entropy (classification) also tracks accuracy, so every epoch logs accuracy and val_accuracy."""
    loss = _LOSSES[train.loss]
    metrics = ["accuracy"] if train.loss == "crossentropy" else None
    net.compile(optimizer=optimizer(train), loss=loss() if callable(loss) and not isinstance(loss, str) else loss,
                metrics=metrics)


def optimizer(train: TrainSpec) -> keras.optimizers.Optimizer:
    """A fresh optimizer as the spec names it, with gradient clipping and SGD momentum if set."""
    kwargs = {"learning_rate": train.learning_rate}
    if train.clipnorm:
        kwargs["clipnorm"] = train.clipnorm
    if train.optimizer == "sgd":
        kwargs["momentum"] = train.momentum
    return _OPTIMIZERS[train.optimizer](**kwargs)


def cudnn_reasons(layer: keras.layers.Layer) -> list[str]:
    """Why a recurrent layer would NOT use the fast cuDNN kernel on a GPU; [] when it would.

    The rule is its cell's (core/cells/: Keras's conditions, e.g. activation tanh, recurrent_dropout 0,
    unroll False, use_bias True; a GRU also needs reset_after); this reads the layer's settings."""
    rnn = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    cell = rnn.cell
    settings = {"activation": keras.activations.serialize(cell.activation),
                "recurrent_activation": keras.activations.serialize(getattr(cell, "recurrent_activation", cell.activation)),
                "recurrent_dropout": cell.recurrent_dropout, "unroll": rnn.unroll, "use_bias": cell.use_bias,
                "reset_after": getattr(cell, "reset_after", True)}
    return cells.of_layer(rnn).cudnn(settings)


def _is_recurrent(layer) -> bool:
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    return isinstance(inner, keras.layers.RNN)


def layer_table(net: keras.Model) -> list[dict[str, object]]:
    """One row per layer: name, type, output shape, parameter count, and cuDNN use on a GPU."""
    rows = []
    for layer in net.layers:
        inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
        kind = layer.__class__.__name__ + (f"({inner.__class__.__name__})" if inner is not None else "")
        row = {"layer": layer.name, "type": kind,
               "output shape": str(tuple(layer.output.shape)), "parameters": layer.count_params(), "cuDNN on GPU": ""}
        if _is_recurrent(layer):
            reasons = cudnn_reasons(layer)
            row["cuDNN on GPU"] = "yes" if not reasons else "no: " + "; ".join(reasons)
        rows.append(row)
    return rows
