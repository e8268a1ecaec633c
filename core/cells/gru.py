"""GRU: update gate z, reset gate r, candidate h~; h = z * h_prev + (1 - z) * h~.

Weights (Keras 3): gate order z, r, candidate. reset_after=True (Keras's default): bias (2, 3U), the
input and the recurrent row, and h~ = tanh(x W_h + b_h + r * (h_prev R_h + b_rec_h)).
reset_after=False: bias (3U,) and h~ = tanh(x W_h + b_h + (r * h_prev) R_h).
"""
from __future__ import annotations

import numpy as np

from . import base


def replay(cell, x, kernel, recurrent, bias, act, rec) -> dict[str, np.ndarray]:
    """Both gates, the candidate and h at every step of x (batch, time, features), from a zero state."""
    dtype = x.dtype
    if cell.reset_after and bias is not None:
        b_in, b_rec = bias[0].astype(dtype), bias[1].astype(dtype)
    else:
        b_in, b_rec = (bias.astype(dtype) if bias is not None else 0.0), None
    xw = x @ kernel + b_in  # the input half, all steps at once
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units), dtype)
    out = {g: np.empty((batch, steps, units), dtype) for g in CELL.traces}
    for t in range(steps):
        xz, xr, xh = xw[:, t, :units], xw[:, t, units:2 * units], xw[:, t, 2 * units:]
        if cell.reset_after:
            hr = h @ recurrent + (b_rec if b_rec is not None else 0.0)
            z, r = rec(xz + hr[:, :units]), rec(xr + hr[:, units:2 * units])
            cand = act(xh + r * hr[:, 2 * units:])
        else:
            z = rec(xz + h @ recurrent[:, :units])
            r = rec(xr + h @ recurrent[:, units:2 * units])
            cand = act(xh + (r * h) @ recurrent[:, 2 * units:])
        h = z * h + (1 - z) * cand
        out["update"][:, t], out["reset"][:, t], out["candidate"][:, t], out["h"][:, t] = z, r, cand, h
    return out


def parameters(inputs: int, units: int, config: dict) -> int:
    """reset_after=True (Keras's default) keeps a second bias per gate."""
    biases = (2 if config.get("reset_after", True) else 1) if config.get("use_bias", True) else 0
    return base.weights(3, inputs, units, biases)


def cudnn(settings: dict) -> list[str]:
    return base.cudnn_reasons(settings) + ([] if settings["reset_after"] else ["reset_after is False"])


def chrono(layer, span: np.ndarray) -> None:
    """Update biases log(u) (Tallec and Ollivier 2018), in place; with reset_after, row 0 is the input bias."""
    units = layer.cell.units
    bias = layer.cell.bias.numpy()
    (bias[0] if bias.ndim == 2 else bias)[:units] = span  # gate order z, r, h
    layer.cell.bias.assign(bias)


CELL = base.Cell(
    name="GRU", keras_name="GRU", blocks=3, traces=("update", "reset", "candidate", "h"),
    sigmoid_gates=frozenset({"update", "reset"}),
    texts={"update": "update gate z: how much of the old h is kept (1 keeps it all)",
           "reset": "reset gate r: how much of the old h the candidate may read",
           "candidate": "candidate: the new content proposed at this step",
           "h": "hidden state h: what the layer passes on"},
    colours=("#ff7f0e", "#ffbb78", "#a64d00"), memory_gate="update", states=1,
    blurb="GRU: update and reset gates, fewer parameters than an LSTM.",
    replay=replay, parameters=parameters, cudnn=cudnn, chrono=chrono)
