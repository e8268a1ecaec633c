"""LSTM: gates i, f, o and a candidate g; c = f * c_prev + i * g, h = o * tanh(c).

Weights (Keras 3): kernel (F, 4U), recurrent (U, 4U), bias (4U,), gate order i, f, g (candidate), o.
"""
from __future__ import annotations

import numpy as np

from . import base


def replay(cell, x, kernel, recurrent, bias, act, rec) -> dict[str, np.ndarray]:
    """Every gate, the cell state and h at every step of x (batch, time, features), from zero states."""
    dtype = x.dtype
    xw = x @ kernel + (bias.astype(dtype) if bias is not None else 0.0)  # the input half, all steps at once
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units), dtype)
    c = np.zeros((batch, units), dtype)
    out = {g: np.empty((batch, steps, units), dtype) for g in CELL.traces}
    for t in range(steps):
        z = xw[:, t] + h @ recurrent
        i, f = rec(z[:, :units]), rec(z[:, units:2 * units])
        g, o = act(z[:, 2 * units:3 * units]), rec(z[:, 3 * units:])
        c = f * c + i * g
        h = o * act(c)
        for name, value in (("input", i), ("forget", f), ("candidate", g), ("output", o), ("cell", c), ("h", h)):
            out[name][:, t] = value
    return out


def parameters(inputs: int, units: int, config: dict) -> int:
    return base.weights(4, inputs, units, 1 if config.get("use_bias", True) else 0)


def chrono(layer, span: np.ndarray) -> None:
    """Forget biases log(u), input biases -log(u) (Tallec and Ollivier 2018), in place."""
    units = layer.cell.units
    bias = layer.cell.bias.numpy()
    bias[units:2 * units] = span  # gate order i, f, c, o
    bias[:units] = -span
    layer.cell.bias.assign(bias)


CELL = base.Cell(
    name="LSTM", keras_name="LSTM", blocks=4, traces=("input", "forget", "candidate", "output", "cell", "h"),
    sigmoid_gates=frozenset({"input", "forget", "output"}),
    texts={"input": "input gate i: how much of the candidate is written into the cell",
           "forget": "forget gate f: how much of the old cell state is kept",
           "candidate": "candidate: the new content proposed at this step",
           "output": "output gate o: how much of the cell is shown as h",
           "cell": "cell state c: the long-term memory (not bounded to [-1, 1])",
           "h": "hidden state h: what the layer passes on"},
    colours=("#1f77b4", "#aec7e8", "#0d3c61"), memory_gate="forget", states=2,
    blurb="LSTM: input, forget and output gates with a cell state.",
    replay=replay, parameters=parameters, cudnn=base.cudnn_reasons, chrono=chrono)
