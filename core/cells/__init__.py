"""The recurrent cells RNN Lab builds, replays and draws: one module per cell, one registry.

Every other module asks here: the spec's list of cells (model.cell), the Keras layer models.build
makes, the gate names and the numpy replay of core/gates.py, the parameter count of core/model_size.py
and core/model_check.py, the cuDNN rule, the cell's colour on every chart, the memory race's
initialisation. Adding a cell is its own module (a `CELL = Cell(...)`) and its name in `_MODULES`.

Nothing here imports Keras at import time: the spec, the charts and the web server read this
registry without TensorFlow (`Cell.layer()` imports it when a model is built).
"""
from __future__ import annotations

import importlib

from .base import CUDNN_SETTINGS, Cell

__all__ = ["CELLS", "NAMES", "SIGMOID_GATES", "GATE_TEXT", "Cell", "cell", "by_keras_name", "of_layer", "cudnn_text"]

_MODULES = ("simple_rnn", "lstm", "gru")  # one module per cell, in the order every list of cells shows

CELLS: dict[str, Cell] = {c.name: c for c in (importlib.import_module(f"{__name__}.{m}").CELL for m in _MODULES)}
NAMES: tuple[str, ...] = tuple(CELLS)
"""The cells' names in registry order: the spec's model.cell values, the races' and the sweep's cells."""
SIGMOID_GATES = frozenset().union(*(c.sigmoid_gates for c in CELLS.values()))
"""Gates that pass through the recurrent activation (sigmoid by default): values in [0, 1]."""
GATE_TEXT = {gate: text for c in CELLS.values() for gate, text in c.texts.items()}
"""gate -> what it means, one line (the cells' own texts)."""


def cell(name: str) -> Cell:
    """The registered cell called `name` (KeyError naming the known ones otherwise)."""
    try:
        return CELLS[name]
    except KeyError:
        raise KeyError(f"no recurrent cell {name!r}; the cells are {', '.join(NAMES)}") from None


def by_keras_name(keras_name: str) -> Cell | None:
    """The first registered cell a Keras class name ("GRU") or its cell's ("GRUCell") builds, or None."""
    base = keras_name.removesuffix("Cell")
    return next((c for c in CELLS.values() if c.keras_name == base), None)


def of_layer(rnn) -> Cell | None:
    """The first registered cell whose Keras class a recurrent layer (not a Bidirectional) is, or None."""
    return next((c for c in CELLS.values() if isinstance(rnn, c.layer())), None)


def cudnn_text(name: str, settings: dict | None = None) -> str:
    """The "cuDNN on GPU" cell of a layer table: "yes", or "no: " and the reasons."""
    reasons = cell(name).cudnn({**CUDNN_SETTINGS, **(settings or {})})
    return "yes" if not reasons else "no: " + "; ".join(reasons)
