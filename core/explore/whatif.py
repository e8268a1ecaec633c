"""What-if: the forecast with an edited input window, or with units clamped, next to the original.

Clamping a unit of layer L to a value v at every step is weight surgery, exact and cheap: v times the
unit's row of L's recurrent matrix moves into L's bias (the recurrence then sees v), and v times the
unit's row of the next layer's kernel moves into that layer's bias (what comes after sees v); both rows
are then zero. The replayed h of the clamped units is set to v for the drawing. A unit whose outgoing
rows are zero is clamped without any change, as it should be.

`forward` runs the whole model in numpy (the replay, then Dense read-outs): one default window in a
few milliseconds, the test set in well under a second, so an ablation table needs no Keras call.
"""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from .. import gates

EDITS = {"none": "no edit", "set": "set the span to a value", "flatten": "hold the span at the value before it",
         "shift": "add a value to the span"}


def _weights_by_layer(model, weights: list[np.ndarray]) -> list[list[np.ndarray]]:
    """weights split per entry of model.layers."""
    out, offset = [], 0
    for layer in model.layers:
        n = len(layer.weights)
        out.append(list(weights[offset:offset + n]))
        offset += n
    return out


def forward(model, X: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, dict]:
    """(the model's output for X (windows, ...) in scaled units, the replayed traces), all in numpy.

    After the last recurrent layer: Dense and TimeDistributed(Dense) as matrix products, Dropout
    passed through, anything else called as a Keras layer."""
    traces = gates.replay(model, X, weights)
    recurrent = gates.recurrent_layers(model)
    last = recurrent[-1]
    x = gates.output(model.layers[last.index], traces[last.name]["h"])
    per_layer = _weights_by_layer(model, weights)
    for layer, own in zip(model.layers[last.index + 1:], per_layer[last.index + 1:]):
        inner = layer.layer if isinstance(layer, keras.layers.TimeDistributed) else layer
        if isinstance(inner, keras.layers.Dense):
            z = x @ own[0].astype(np.float32) + (own[1].astype(np.float32) if inner.use_bias else 0.0)
            x = gates._activation(inner.activation)(z).astype(np.float32)
        elif not isinstance(layer, keras.layers.Dropout):
            x = np.asarray(keras.ops.convert_to_numpy(layer(x, training=False)), dtype=np.float32)
    return x, traces


def _consumer(model, index: int):
    """(position in model.layers, layer) of the first layer after `index` that holds weights, or None."""
    for j in range(index + 1, len(model.layers)):
        if model.layers[j].weights:
            return j, model.layers[j]
    return None


def _fold_input(layer, arrays: list[np.ndarray], row: int, value: float) -> None:
    """Move `value` x kernel row `row` into the input bias of a Dense or recurrent layer (in place)."""
    inner = layer.layer if isinstance(layer, keras.layers.TimeDistributed) else layer
    halves = [arrays[:len(arrays) // 2], arrays[len(arrays) // 2:]] if isinstance(inner, keras.layers.Bidirectional) else [arrays]
    needs = 2 if isinstance(inner, keras.layers.Dense) else 3  # kernel, bias / kernel, recurrent, bias
    for part in halves:
        if len(part) != needs:
            raise ValueError(f"layer {layer.name} has no bias to hold a clamped unit")
        bias = part[-1][0] if part[-1].ndim == 2 else part[-1]  # GRU reset_after: row 0 is the input bias
        bias += value * part[0][row]
        part[0][row] = 0.0


def clamp(model, weights: list[np.ndarray], layer: str, units, values) -> list[np.ndarray]:
    """A copy of `weights` in which the units of `layer` are held at `values` at every step.

    Args:
        units: unit indices of the layer's h (a bidirectional layer's backward units follow its forward ones).
        values: one value per unit (0 for "off", the unit's mean h for "at its mean").
    Raises ValueError for a model this surgery cannot express (no bias, a GRU with reset_after=False,
    a bidirectional layer merged by sum or product)."""
    per_layer = [[w.copy() for w in ws] for ws in _weights_by_layer(model, weights)]
    info = next(r for r in gates.recurrent_layers(model) if r.name == layer)
    keras_layer = model.layers[info.index]
    cells = [keras_layer.forward_layer, keras_layer.backward_layer] if info.bidirectional else [keras_layer]
    if info.bidirectional and keras_layer.merge_mode != "concat":
        raise ValueError("clamping a bidirectional layer needs merge_mode='concat'")
    consumer = _consumer(model, info.index)
    for unit, value in zip(np.atleast_1d(units), np.atleast_1d(values)):
        half, k = divmod(int(unit), info.units)
        rnn = cells[half]
        if gates._cell_name(rnn) == "GRU" and not rnn.cell.reset_after:
            raise ValueError("clamping needs a GRU with reset_after=True (Keras's default)")
        own = per_layer[info.index][half * 3:(half + 1) * 3]
        if len(own) < 3:
            raise ValueError(f"layer {layer} has no bias to hold a clamped unit")
        bias = own[2][1] if own[2].ndim == 2 else own[2]  # GRU reset_after: the recurrent bias row
        bias += float(value) * own[1][k]
        own[1][k] = 0.0
        if consumer is not None:
            _fold_input(consumer[1], per_layer[consumer[0]], int(unit), float(value))
    return [w for ws in per_layer for w in ws]


def clamped_traces(traces: dict, layer: str, units, values) -> dict:
    """The replayed traces with the clamped units' h set to their values (what the model passes on)."""
    out = {name: dict(by_gate) for name, by_gate in traces.items()}
    h = out[layer]["h"].copy()
    h[..., np.atleast_1d(units)] = np.atleast_1d(values).astype(h.dtype)
    out[layer]["h"] = h
    return out


def affine(scaler, features: int, column: int) -> tuple[float, float]:
    """(scale, offset) with scaled = scale * value + offset for one input column (any per-column scaler)."""
    zeros = np.zeros((1, features))
    ones = zeros.copy()
    ones[0, column] = 1.0
    low = float(np.asarray(scaler.transform(zeros))[0, column])
    return float(np.asarray(scaler.transform(ones))[0, column]) - low, low


def edit(x: np.ndarray, column: int, kind: str, a: int, b: int, value: float, scale_offset=(1.0, 0.0)) -> np.ndarray:
    """A copy of one window's scaled input x (time steps, features) with steps a..b of `column` edited.

    `value` is in input units (before scaling; prices for a raw price input): "set" writes it, "shift"
    adds it, "flatten" holds the span at the value of the step before it (step a itself when a = 0)."""
    out = np.array(x, dtype=np.float32, copy=True)
    scale, offset = scale_offset
    if kind == "set":
        out[a:b + 1, column] = scale * value + offset
    elif kind == "shift":
        out[a:b + 1, column] += scale * value
    elif kind == "flatten":
        out[a:b + 1, column] = out[max(a - 1, 0), column]
    elif kind != "none":
        raise ValueError(f"unknown edit {kind!r}; choose one of {', '.join(EDITS)}")
    return out


def rmse(truth: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((np.asarray(truth, float) - np.asarray(forecast, float)) ** 2)))


def ablation(model, windowed, weights: list[np.ndarray], layer: str, groups: dict[str, np.ndarray],
             mean_h: np.ndarray, to: str = "mean") -> pd.DataFrame:
    """Test RMSE (original units) with each group of units clamped, against the intact model and persistence.

    Args:
        groups: name -> unit indices (e.g. the signal map's clusters).
        mean_h: (units,) each unit's mean h (States.mean_h); `to` "mean" clamps to it, "zero" to 0.
    Returns:
        columns model, units, rmse, vs_intact (ratio): persistence and intact first.
    """
    X, truth = windowed.X["test"], windowed.truth["test"]
    intact = rmse(truth, windowed.inverse_y(forward(model, X, weights)[0], "test"))
    rows = [("persistence", "", rmse(truth, windowed.naive["test"])), ("intact model", "", intact)]
    for name, units in groups.items():
        values = mean_h[units] if to == "mean" else np.zeros(len(units))
        y = forward(model, X, clamp(model, weights, layer, units, values))[0]
        rows.append((f"{name} clamped", " ".join(f"u{u}" for u in units), rmse(truth, windowed.inverse_y(y, "test"))))
    frame = pd.DataFrame(rows, columns=["model", "units", "rmse"])
    frame["vs_intact"] = frame["rmse"] / intact if intact else np.nan
    return frame
