"""What the Inspect page looks into: a run's model, its windows and its weights epoch by epoch.

Everything comes from the run directory, live or finished: the weights after each kept epoch
(weights.npz, which the worker rewrites as it trains) and the windows rebuilt from the spec. A
finished run's model is model.keras; a live run's is built from its spec (Keras is imported
here, lazily: only this page needs it) and only its layer structure is used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core import gates, runs
from core.spec import ExperimentSpec

from core.errors import sentence

from . import loads


@dataclass
class Probe:
    """A run ready to replay.

    Attributes:
        run_id, spec: the run.
        model: the Keras model (structure; weights from `history`).
        windowed: the run's windows (core.windows.Windowed).
        history: epoch -> model.get_weights() list, oldest first (at least one entry).
        running: True while the run trains (the history grows).
    """

    run_id: str
    spec: ExperimentSpec
    model: object
    windowed: object
    history: dict[int, list[np.ndarray]]
    running: bool
    imported: bool = False  # a model uploaded as .keras: its layers are not the spec's
    trained: int = 0  # epochs the run has finished (the newest kept weights may be an epoch or two behind)

    @property
    def epochs(self) -> list[int]:
        return list(self.history)

    @property
    def layers(self) -> list[gates.Layer]:
        return gates.recurrent_layers(self.model)

    def replay(self, X: np.ndarray, epoch: int | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Gates of every recurrent layer for windows X (windows, time steps, features) at `epoch`."""
        weights = self.history[self.epochs[-1] if epoch is None else epoch]
        return gates.replay(self.model, X, weights)


@st.cache_resource(max_entries=4, show_spinner="Loading the saved model...")
def _saved_model(path: str, mtime: float):
    return runs.load_model(path)


@st.cache_resource(max_entries=4, show_spinner=False)
def _saved_history(path: str, mtime: float) -> dict[int, list[np.ndarray]]:
    return runs.weight_history(path)


@st.cache_resource(max_entries=4, show_spinner="Building the model...")
def _live_model(spec_json: str, input_shape: tuple, classes: int, vocab: int):
    from core import models

    spec = ExperimentSpec.from_json(spec_json)
    return models.build(spec.model, spec.train, input_shape, spec.window.horizon, classes, vocab)


def probe(run) -> Probe | str:
    """A Probe for a run (live or finished), or a message saying why there is none yet."""
    if run.snapshot().running:
        history = _saved_history(str(run.path), runs.file_version(run.path, "weights.npz"))
        if not history:
            return "The model is being built; its gates appear after a moment."
        try:
            windowed = loads.windowed(run.spec)
        except ValueError as exc:
            return f"The data this run trains on cannot be loaded here: {sentence(str(exc))}"
        model = _live_model(run.spec.to_json(), tuple(windowed.input_shape), len(windowed.classes or ()),
                            windowed.vocab)
        return Probe(run.run_id, run.spec, model, windowed, history, True, trained=run.snapshot().epoch)
    if not runs.has_model(run.path):
        return "This run has no saved model (it failed before training started), so there are no gates to show."
    try:
        windowed = loads.windowed(run.spec)  # a CSV outside the uploads is refused where it is read
    except ValueError as exc:  # the data cannot be read again (a ticker offline, a moved file)
        return f"The data this run was trained on cannot be loaded again: {sentence(str(exc))}"
    version = runs.file_version(run.path, "model.keras")
    model = _saved_model(str(run.path), version)
    history = _saved_history(str(run.path), version) or {run.snapshot().epoch: model.get_weights()}
    return Probe(run.run_id, run.spec, model, windowed, history, False, runs.imported_as(run.path) == "model")
