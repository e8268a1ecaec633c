"""Cached loads: the spec's data, its windows and its layer table, once per setup.

Caching sits here, at the boundary between the pages and core/: the functions below take a spec
and key Streamlit's caches by the JSON of the sections that matter, so a page can call them on
every rerun.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import data, layers, windows
from core.spec import ExperimentSpec, ModelSpec, TrainSpec

TICKER_TTL = 3600  # seconds a downloaded ticker is reused in memory before asking again


@st.cache_data(show_spinner="Loading data...", max_entries=8, ttl=TICKER_TTL)
def _load_frame(data_json: str) -> pd.DataFrame:
    # Every read of a CSV in the app goes through here, so the upload-folder check sits where the
    # data is read: a spec that arrived by any route (link, import, bundle, ?run=, a preset) is covered.
    return data.load(ExperimentSpec.from_json(data_json).data, require_columns=False, csv_root=data.uploads_dir())


def load_frame(spec: ExperimentSpec) -> pd.DataFrame:
    """The spec's data, any columns (cached per data section). Raises DataError."""
    return _load_frame(ExperimentSpec(data=spec.data).to_json())


@st.cache_data(show_spinner="Making windows...", max_entries=8)
def _windowed(spec_json: str) -> windows.Windowed:
    spec = ExperimentSpec.from_json(spec_json)
    return windows.make(load_frame(spec), spec)


def windowed(spec: ExperimentSpec) -> windows.Windowed:
    """The spec's windows (cached per data, window and split sections, the mode, the task, the
    embedding, and the batch size, which stateful windows come in whole multiples of). Raises DataError."""
    m = spec.model
    key = ExperimentSpec(data=spec.data, window=spec.window, split=spec.split,
                         model=ModelSpec(mode=m.mode, task=m.task, embedding_dim=m.embedding_dim),
                         train=TrainSpec(batch_size=spec.train.batch_size, loss=spec.train.loss))
    return _windowed(key.to_json())


def layer_table(spec: ExperimentSpec) -> tuple[list[dict], int]:
    """(rows of name/type/output shape/parameters, total parameters) for the spec's model, counted
    from the spec (core/layers.py): the server draws it without importing TensorFlow."""
    classes = vocab = 0
    if spec.model.task == "classification" or spec.model.embedding_dim:
        try:  # the class count and the vocabulary come from the data
            w = windowed(spec)
            classes, vocab = len(w.classes or ()), w.vocab
        except ValueError:
            pass  # the Data page says what is wrong with the data
    rows = layers.table(spec, (spec.window.length, len(spec.data.features)), classes, vocab)
    return rows, sum(r["parameters"] for r in rows)
