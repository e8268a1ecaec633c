"""SimpleRNN: h = tanh(x W + h_prev R + b). Weights: kernel (F, U), recurrent (U, U), bias (U,)."""
from __future__ import annotations

import numpy as np

from . import base


def replay(cell, x, kernel, recurrent, bias, act, rec) -> dict[str, np.ndarray]:
    """h at every step of x (batch, time, features), from a zero state."""
    dtype = x.dtype
    xw = x @ kernel + (bias.astype(dtype) if bias is not None else 0.0)  # the input half, all steps at once
    batch, steps, _ = x.shape
    h = np.zeros((batch, recurrent.shape[0]), dtype)
    out = {"h": np.empty((batch, steps, recurrent.shape[0]), dtype)}
    for t in range(steps):
        h = act(xw[:, t] + h @ recurrent)
        out["h"][:, t] = h
    return out


def parameters(inputs: int, units: int, config: dict) -> int:
    return base.weights(1, inputs, units, 1 if config.get("use_bias", True) else 0)


def cudnn(settings: dict) -> list[str]:
    return ["SimpleRNN has no cuDNN kernel"]


CELL = base.Cell(name="SimpleRNN", keras_name="SimpleRNN", blocks=1, traces=("h",), sigmoid_gates=frozenset(),
                 texts={"h": "hidden state h: what the layer passes on"},
                 colours=("#2ca02c", "#98df8a", "#1b5e20"), memory_gate="", states=1,
                 blurb="SimpleRNN: one tanh layer.", replay=replay, parameters=parameters, cudnn=cudnn)
