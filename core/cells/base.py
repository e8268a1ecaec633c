"""A cell's description (`Cell`), and what the gated cells share: Keras's cuDNN conditions and the
weight count of a gated layout."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

CUDNN_SETTINGS = {"activation": "tanh", "recurrent_activation": "sigmoid", "recurrent_dropout": 0.0,
                  "unroll": False, "use_bias": True, "reset_after": True}
"""What models.build leaves at Keras's defaults: every layer it makes has these settings, bar recurrent_dropout."""


@dataclass(frozen=True)
class Cell:
    """One recurrent cell.

    Attributes:
        name: the spec's model.cell value, e.g. "LSTM"; layer names are built from its lower case.
        keras_name: the class in keras.layers that builds it ("LSTM"); its cell class is keras_name + "Cell".
        blocks: weight blocks per unit, the gate count of Keras's layout: kernel (F, blocks * U),
            recurrent (U, blocks * U), bias (blocks * U,) (SimpleRNN 1, LSTM 4, GRU 3).
        traces: what the replay records per step, in drawing order; the last is always "h".
        sigmoid_gates: the traces that pass through the recurrent activation (values in [0, 1]).
        texts: trace -> what it means, one line for the gate charts' hover.
        colours: its hue and two more shades, the same on every chart (a second run of it takes the next).
        memory_gate: the gate whose mean says how much memory a step keeps ("forget", "update"); "" for none.
        states: how many state vectors the layer returns with return_state (LSTM: h and c).
        blurb: one sentence for the Model page's picker.
        replay: (keras cell, x, kernel, recurrent, bias, act, rec) -> trace -> (batch, time, units); the
            numpy version of the cell's equations over x (batch, time, features), from zero states.
        parameters: (inputs, units, config) -> its weights' count; config holds the cell's Keras
            settings that change it (use_bias, reset_after), missing ones at Keras's defaults.
        cudnn: (settings) -> why the layer would NOT use cuDNN on a GPU ([] when it would).
        chrono: (keras layer, span) -> None: sets the gate biases so memory lasts about exp(span) steps
            (Tallec and Ollivier 2018); None for a cell without gates.
    """

    name: str
    keras_name: str
    blocks: int
    traces: tuple[str, ...]
    sigmoid_gates: frozenset[str]
    texts: dict[str, str]
    colours: tuple[str, str, str]
    memory_gate: str
    states: int
    blurb: str
    replay: Callable[..., dict]
    parameters: Callable[[int, int, dict], int]
    cudnn: Callable[[dict], list[str]]
    chrono: Callable[[Any, Any], None] | None = field(default=None)

    def layer(self):
        """The Keras layer class (imports Keras)."""
        import keras

        return getattr(keras.layers, self.keras_name)




def cudnn_reasons(settings: dict) -> list[str]:
    """Keras's conditions for the cuDNN kernel (LSTM and GRU): activation tanh, recurrent_activation
    sigmoid, recurrent_dropout 0, unroll False, use_bias True. GRU adds reset_after (gru.py)."""
    reasons = []
    if settings["activation"] != "tanh":
        reasons.append("activation is not tanh")
    if settings["recurrent_activation"] != "sigmoid":
        reasons.append("recurrent_activation is not sigmoid")
    if settings["recurrent_dropout"]:
        reasons.append(f"recurrent_dropout is {settings['recurrent_dropout']:g}, not 0")
    if settings["unroll"]:
        reasons.append("unroll is True")
    if not settings["use_bias"]:
        reasons.append("use_bias is False")
    return reasons


def weights(blocks: int, inputs: int, units: int, biases: int) -> int:
    """blocks * units * (inputs + units) kernel and recurrent weights, plus `biases` bias vectors of
    blocks * units (0 without a bias, 2 for a GRU with reset_after)."""
    return blocks * units * (inputs + units) + biases * blocks * units
