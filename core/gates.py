"""Replay recurrent layers from their weights: every gate and state at every time step.

Keras returns only h (and, at the end, the states); the gates stay inside the cell. This module
runs the same equations in numpy from the layer's weights, so each gate can be drawn. Each cell's
module in core/cells/ writes out its Keras 3 weight layout and holds its one-direction replay; this
module finds a model's recurrent layers, hands each direction to its cell's replay, and chains the
layers (embeddings, input projections, repeat vectors) between them.

Bidirectional layers run the backward copy over the reversed sequence and flip its traces back,
as Keras does for return_sequences, so both halves share the input's time axis; the two halves
are joined along units: (time steps, 2 * units), forward units first.

Replays start from zero states, as `predict` does after a reset (stateful models included).
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from . import cells

GATES = {c.name: c.traces for c in cells.CELLS.values()}
"""cell -> the traces its replay records (core/cells/), e.g. "GRU" -> ("update", "reset", "candidate", "h")."""
SIGMOID_GATES = cells.SIGMOID_GATES
"""Gates that pass through the recurrent activation (sigmoid by default): values in [0, 1]."""
GATE_TEXT = cells.GATE_TEXT
"""gate -> what it means, one line (the cells' own texts)."""


def _sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88 in float32: sigmoid is then 0
        return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": _sigmoid, "hard_sigmoid": _hard_sigmoid,
                "relu": lambda x: np.maximum(x, 0.0), "linear": lambda x: x}


def _activation(fn):
    """A numpy version of a Keras activation (falls back to calling Keras on the array)."""
    name = keras.activations.serialize(fn)
    name = name if isinstance(name, str) else getattr(fn, "__name__", "")
    if name in _ACTIVATIONS:
        return _ACTIVATIONS[name]
    return lambda x: np.asarray(keras.ops.convert_to_numpy(fn(x.astype(np.float32))), dtype=x.dtype)


@dataclass
class Layer:
    """A recurrent layer of a model, as the replay sees it.

    Attributes:
        name: the Keras layer's name (e.g. "lstm_1", "bi_gru_1"); the prefix of export keys.
        cell: its cell's name in core/cells/ ("LSTM", "GRU", "SimpleRNN").
        units: units per direction.
        bidirectional: two directions, traces (time steps, 2 * units).
        index: position in model.layers; offset: where its weights start in model.get_weights().
        n_weights: how many arrays it holds (3, or 6 when bidirectional).
    """

    name: str
    cell: str
    units: int
    bidirectional: bool
    index: int
    offset: int
    n_weights: int

    @property
    def gates(self) -> tuple[str, ...]:
        return GATES[self.cell]


def _inner(layer):
    return layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer


def _cell_name(rnn) -> str | None:
    """The registered cell a Keras recurrent layer is (the first one its class builds), or None."""
    found = cells.of_layer(rnn)
    return found.name if found else None


def recurrent_layers(model: keras.Model) -> list[Layer]:
    """The model's SimpleRNN/LSTM/GRU layers (plain or Bidirectional), in order."""
    out, offset = [], 0
    for i, layer in enumerate(model.layers):
        n = len(layer.weights)
        cell = _cell_name(_inner(layer))
        if cell is not None:
            out.append(Layer(layer.name, cell, _inner(layer).cell.units,
                             isinstance(layer, keras.layers.Bidirectional), i, offset, n))
        offset += n
    return out


def layer_weights(model: keras.Model, weights: list[np.ndarray] | None = None) -> dict[str, list[np.ndarray]]:
    """name -> that layer's weight arrays, from `weights` (a model.get_weights() list) or the model."""
    weights = model.get_weights() if weights is None else weights
    return {r.name: weights[r.offset:r.offset + r.n_weights] for r in recurrent_layers(model)}


def _run_cell(rnn, kernel, recurrent, bias, x: np.ndarray) -> dict[str, np.ndarray]:
    """One direction over x (batch, time, features) -> gate -> (batch, time, units), in x's dtype:
    the cell's own replay (core/cells/) with the layer's activations in numpy."""
    cell = rnn.cell
    act = _activation(cell.activation)
    rec = _activation(getattr(cell, "recurrent_activation", cell.activation))
    dtype = x.dtype
    kernel, recurrent = kernel.astype(dtype), recurrent.astype(dtype)
    return cells.cell(_cell_name(rnn)).replay(cell, x, kernel, recurrent, bias, act, rec)


def _split_bias(arrays: list[np.ndarray], use_bias: bool):
    return (arrays[0], arrays[1], arrays[2]) if use_bias else (arrays[0], arrays[1], None)


def _replay_layer(layer, arrays: list[np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """A (possibly bidirectional) recurrent layer over x (batch, time, features).

    A plain layer with go_backwards reads the sequence from the end and, like Keras, returns its
    steps in that reversed order."""
    if not isinstance(layer, keras.layers.Bidirectional):
        return _run_cell(layer, *_split_bias(arrays, layer.cell.use_bias), x[:, ::-1] if layer.go_backwards else x)
    fwd, bwd = layer.forward_layer, layer.backward_layer
    n = len(arrays) // 2
    forward = _run_cell(fwd, *_split_bias(arrays[:n], fwd.cell.use_bias), x)
    backward = _run_cell(bwd, *_split_bias(arrays[n:], bwd.cell.use_bias), x[:, ::-1])
    return {g: np.concatenate([forward[g], backward[g][:, ::-1]], axis=-1) for g in forward}


def output(layer, h: np.ndarray) -> np.ndarray:
    """What a recurrent layer hands on, from its replayed h (windows, time steps, units).

    return_sequences: all of h. Otherwise the final state: h at the last step, and for a
    bidirectional layer the backward half's final state, which is at the *first* input step.
    """
    if not isinstance(layer, keras.layers.Bidirectional):
        return h if layer.return_sequences else h[:, -1]
    half = h.shape[-1] // 2
    if layer.return_sequences:
        forward, backward = h[..., :half], h[..., half:]
    else:
        forward, backward = h[:, -1, :half], h[:, 0, half:]
    merge = layer.merge_mode
    if merge == "concat":
        return np.concatenate([forward, backward], axis=-1)
    if merge == "sum":
        return forward + backward
    if merge == "mul":
        return forward * backward
    if merge == "ave":
        return (forward + backward) / 2
    raise ValueError(f"Bidirectional merge_mode {merge!r} is not supported by the replay")


def replay(model: keras.Model, X: np.ndarray, weights: list[np.ndarray] | None = None
           ) -> dict[str, dict[str, np.ndarray]]:
    """Every gate and state of every recurrent layer, for each window in X.

    Layers between recurrent ones are followed as at inference: Dropout passes values through,
    RepeatVector repeats the last state (seq2seq), a layer that returns only its final state
    hands h at the last step on.

    Args:
        model: a Sequential-style Keras model built by core.models (or any stack of layers).
        X: (windows, time steps, features) model inputs.
        weights: a model.get_weights() list to replay instead of the model's current weights
            (e.g. a snapshot from an earlier epoch).

    Returns:
        layer name -> gate -> (windows, time steps, units) float32; bidirectional layers
        (windows, time steps, 2 * units). The decoder of a seq2seq model has `horizon` time steps.
    """
    by_layer = layer_weights(model, weights)
    every = model.get_weights() if weights is None else weights
    x = np.asarray(X, dtype=np.float32)  # float32 like Keras: half the memory traffic of float64
    last = max((r.index for r in recurrent_layers(model)), default=-1)
    traces: dict[str, dict[str, np.ndarray]] = {}
    offset = 0
    for i, layer in enumerate(model.layers[:last + 1]):
        own = every[offset:offset + len(layer.weights)]  # this layer's arrays at the epoch asked for
        offset += len(layer.weights)
        if layer.name in by_layer:
            gates = _replay_layer(layer, by_layer[layer.name], x)
            traces[layer.name] = gates
            x = output(layer, gates["h"])
        elif isinstance(layer, keras.layers.RepeatVector):
            x = np.repeat(x[:, None, :], layer.n, axis=1)
        elif isinstance(layer, (keras.layers.Dropout, keras.layers.InputLayer)):
            continue
        elif isinstance(layer, keras.layers.Reshape):
            x = x.reshape((len(x), *layer.target_shape))
        elif isinstance(layer, keras.layers.Embedding):
            x = np.asarray(own[0], dtype=np.float32)[np.rint(x).astype(np.int64)]
        elif isinstance(layer, keras.layers.Dense):  # an input projection: the same weights at every step
            z = x @ np.asarray(own[0], np.float32) + (np.asarray(own[1], np.float32) if layer.use_bias else 0)
            x = np.asarray(keras.ops.convert_to_numpy(layer.activation(z)), dtype=np.float32)
        else:  # a layer without weights of its own
            x = np.asarray(keras.ops.convert_to_numpy(layer(x, training=False)), dtype=np.float32)
    return traces


def flat(traces: dict[str, dict[str, np.ndarray]], window: int = 0) -> dict[str, np.ndarray]:
    """"<layer name>/<gate>" -> (time steps, units) for one window: the gates.npz layout."""
    return {f"{layer}/{gate}": np.ascontiguousarray(v[window]) for layer, gates in traces.items()
            for gate, v in gates.items()}


def saturation(traces: dict[str, np.ndarray], low: float = 0.1, high: float = 0.9) -> dict[str, np.ndarray]:
    """Per unit, the fraction of (window, time step) values below `low` and above `high`.

    Karpathy, Johnson and Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks":
    a gate unit is left-saturated when its activation is < 0.1 and right-saturated when > 0.9.

    Args:
        traces: gate -> (windows, time steps, units) for one layer.
    Returns:
        gate -> (2, units): row 0 the left-saturated fraction, row 1 the right-saturated one.
    """
    out = {}
    for gate, values in traces.items():
        v = values.reshape(-1, values.shape[-1])
        out[gate] = np.stack([(v < low).mean(axis=0), (v > high).mean(axis=0)])
    return out


HIST_BINS = 20  # bins of 0.05 for a gate (0..1), 0.1 for a tanh state (-1..1): the 0.1/0.9 saturation edges are bin edges


def histograms(traces: dict[str, np.ndarray], bins: int = HIST_BINS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per gate, how its values spread over all units, windows and time steps: the distribution that
    still says something when no unit saturates (then every unit of the saturation scatter sits at (0, 0)).

    Args:
        traces: gate -> (windows, time steps, units) for one layer; sigmoid gates are binned over
            0..1, anything else (a SimpleRNN's h) over -1..1.
    Returns:
        gate -> (bin centres (bins,), share of the values in each bin (bins,), summing to 1).
    """
    out = {}
    for gate, values in traces.items():
        low = 0.0 if gate in SIGMOID_GATES else -1.0
        counts, edges = np.histogram(np.clip(np.asarray(values, np.float32).ravel(), low, 1.0), bins=bins,
                                     range=(low, 1.0))
        total = counts.sum()
        out[gate] = ((edges[:-1] + edges[1:]) / 2, counts / total if total else counts.astype(float))
    return out


def saturation_words(fractions: dict[str, np.ndarray], low: float = 0.1, high: float = 0.9) -> str:
    """The saturation fractions of one layer in words, averaged over its units:
    "input 3% shut (< 0.1), 1% wide open (> 0.9); forget ...". `fractions` is saturation()'s output."""
    return "; ".join(f"{gate} {100 * frac[0].mean():.0f}% below {low:g}, {100 * frac[1].mean():.0f}% above {high:g}"
                     for gate, frac in fractions.items())


def order_units(values: np.ndarray, how: str, target: np.ndarray | None = None) -> np.ndarray:
    """The order to draw units in, for one gate's trace (time steps, units).

    how: "as built" keeps Keras's order; "mean" sorts by mean activation, highest first;
    "correlation" by correlation with `target` (time steps,), highest first (a unit that never
    changes counts as 0).
    """
    units = values.shape[-1]
    if how == "mean":
        return np.argsort(-values.mean(axis=0), kind="stable")
    if how == "correlation" and target is not None:
        return np.argsort(-correlations(values, target), kind="stable")
    return np.arange(units)


def correlations(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each unit (time steps, units) with target (time steps,); 0 when flat."""
    v = values - values.mean(axis=0)
    t = np.asarray(target, dtype=np.float64) - np.mean(target)
    denom = np.sqrt((v ** 2).sum(axis=0) * (t ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (v * t[:, None]).sum(axis=0) / denom
    return np.nan_to_num(r)


def gradient_flow(model: keras.Model, X: np.ndarray, classify: bool = False) -> np.ndarray:
    """How much the prediction depends on each input step: mean over windows of |d ŷ / d x_t|.

    ŷ is the model's primary output (the last value it predicts for each window; with `classify`,
    the probability of the class it picks at the last step); the norm is taken over features.
    Vanishing gradients show as norms that fall towards the start.

    Args:
        model: a stateless model: for a stateful one, pass `twin(...)`, the same layers and
            weights rebuilt as many_to_one.
        X: (windows, time steps, features).
    Returns:
        (time steps,) float64, step 0 the oldest input.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(X, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x, training=False)
        if classify:  # (windows[, steps], classes): the winning class's probability at the last step
            primary = tf.reduce_max(tf.reshape(y, (tf.shape(y)[0], -1, tf.shape(y)[-1]))[:, -1, :], axis=-1)
        else:
            primary = tf.reshape(y, (tf.shape(y)[0], -1))[:, -1]
        total = tf.reduce_sum(primary)  # windows are independent: d total / d x_j = d y_j / d x_j
    grad = tape.gradient(total, x)
    if grad is None:  # e.g. an Embedding: token indices have no gradient
        raise ValueError("the inputs are tokens looked up by an embedding, which have no gradient")
    grad = grad.numpy().astype(np.float64)  # (windows, time steps, features)
    return np.linalg.norm(grad, axis=-1).mean(axis=0)


def twin(spec, input_shape: tuple[int, int], weights: list[np.ndarray], classes: int = 0,
         vocab: int = 0) -> keras.Model:
    """A stateless copy of the spec's model holding `weights`, safe to call while the original
    trains in another thread (a stateful model becomes many_to_one: same layers and weights)."""
    from . import models

    model = spec.model
    if model.mode == "stateful":
        from dataclasses import replace

        model = replace(model, mode="many_to_one")
    net = models.build(model, spec.train, input_shape, spec.window.horizon, classes, vocab)
    net.set_weights(weights)
    return net
