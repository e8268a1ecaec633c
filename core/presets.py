"""Presets: the classic RNN tutorials as specs, one click (or one command) each.

    python -m core presets                       # list them
    python -m core train --preset stock-lstm-60  # run one, with overrides such as --epochs 2

Each preset is a plain spec (see core/spec.py) plus a few sentences on what it shows and where it
comes from. Only settings that differ from the defaults are written out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import ExperimentSpec, SpecError


@dataclass(frozen=True)
class Preset:
    """A tutorial as a spec.

    Attributes:
        name: the command-line name, e.g. "stock-lstm-60".
        title: a short title for people.
        shows: a few sentences on what it demonstrates.
        origin: the tutorial it reproduces.
        spec: the spec's sections that differ from the defaults.
        report: the metrics the tutorial reports (keys of metrics.json's "test").
    """

    name: str
    title: str
    shows: str
    origin: str
    spec: dict[str, Any] = field(default_factory=dict)
    report: tuple[str, ...] = ("rmse", "mae")

    def experiment(self) -> ExperimentSpec:
        return ExperimentSpec.from_dict(self.spec)


def _stock(cell: str) -> Preset:
    return Preset(
        f"stock-{cell.lower()}-60", f"Stock price, 60-day window, {cell}",
        f"The previous 60 days of the opening price predict the next day's, with a two-layer {cell} "
        "(80 then 100 units, dropout 0.2 after each). The last 300 days are the test segment; min-max scaling is "
        "fitted on the training rows only. Compare the three cells, and persistence, on the same test days.",
        "a well-known TensorFlow 2 course (stock prediction with SimpleRNN, LSTM and GRU)",
        {"data": {"source": "builtin", "name": "sp500", "target": "Open", "features": ["Open"], "scaler": "minmax"},
         "window": {"length": 60, "horizon": 1},
         "split": {"val": 0.1, "test": 300},
         "model": {"cell": cell, "units": [80, 100], "dropout": 0.2},
         "train": {"optimizer": "adam", "learning_rate": 0.001, "loss": "mse", "batch_size": 64, "epochs": 50}},
        report=("mse", "rmse", "mae"),
    )


PRESETS: dict[str, Preset] = {p.name: p for p in (
    _stock("SimpleRNN"), _stock("LSTM"), _stock("GRU"),
    Preset(
        "stock-stacked-lstm", "Stock price, stacked LSTM",
        "Two stacked LSTMs (50 then 100 units, dropout 0.2 after each) read 60 days of closing prices, trained "
        "with RMSprop. The tutorial reports MAE; here it sits next to persistence's.",
        "the classic stacked-LSTM stock tutorial (Keras)",
        {"data": {"source": "builtin", "name": "sp500", "target": "Close", "features": ["Close"], "scaler": "minmax"},
         "window": {"length": 60},
         "model": {"cell": "LSTM", "units": [50, 100], "dropout": 0.2},
         "train": {"optimizer": "rmsprop", "learning_rate": 0.001, "batch_size": 64, "epochs": 50}},
        report=("mae",),
    ),
    Preset(
        "stateful-lstm", "Stateful LSTM over consecutive batches",
        "A stateful LSTM keeps its state from one batch to the next over consecutive, unshuffled windows, so its "
        "memory reaches past one window; states are reset every epoch and before evaluation (reset_states).",
        "the Keras stateful LSTM example",
        {"data": {"source": "builtin", "name": "sp500", "start": "2014-01-01", "target": "Close",
                  "features": ["Close"], "transform": "diff"},
         "window": {"length": 10},
         "model": {"cell": "LSTM", "units": [20], "mode": "stateful"},
         "train": {"batch_size": 16, "epochs": 20}},
    ),
)}


def get(name: str) -> Preset:
    """The preset called `name`; SpecError listing the names when there is none."""
    if name not in PRESETS:
        raise SpecError("--preset", f"there is no preset {name!r}; choose one of {', '.join(PRESETS)} "
                                    "(python -m core presets lists them)")
    return PRESETS[name]
