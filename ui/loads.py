"""Cached loads: the spec's data, its window shapes, its windows and its layer table, once per setup.

Caching sits here, at the boundary between the pages and core/: the functions below take a spec
and key Streamlit's caches by the JSON of the sections that matter, so a page can call them on
every rerun.
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core import data, model_size, windows
from core.spec import ExperimentSpec

TICKER_TTL = 3600  # seconds a downloaded ticker is reused in memory before asking again


def _checked(key_json: str) -> ExperimentSpec:
    """A cache key back as a spec: the JSON of a spec validated already (the session's), not checked again."""
    return ExperimentSpec.from_checked(json.loads(key_json))


@st.cache_data(show_spinner="Loading data...", max_entries=8, ttl=TICKER_TTL)
def _load_frame(data_json: str) -> pd.DataFrame:
    # Every read of a CSV in the app goes through here, so the upload-folder check sits where the
    # data is read: a spec that arrived by any route (link, import, bundle, ?run=, a preset) is covered.
    return data.load(_checked(data_json).data, require_columns=False, csv_root=data.uploads_dir())


def load_frame(spec: ExperimentSpec) -> pd.DataFrame:
    """The spec's data, any columns (cached per data section). Raises DataError."""
    return _load_frame(ExperimentSpec(data=spec.data).to_json())


def _window_key(spec: ExperimentSpec) -> str:
    """The JSON of what the windows depend on (core/window_size.WINDOW_FIELDS, declared beside the code
    that reads them)."""
    return windows.window_key(spec)


@st.cache_data(show_spinner="Checking the windows...", max_entries=32)
def _shapes(key_json: str) -> windows.Shapes:
    # Only the few numbers and dates are cached (pickled). The windows themselves never are: pickling a
    # Windowed copies each strided view whole, and a link with 300,000 points and a 2,000-step window
    # kept the server at 2.6 GB. make() checks the windows' size (RNNLAB_MAX_WINDOW_MB) before cutting.
    spec = _checked(key_json)
    return windows.make(load_frame(spec), spec).shapes()


def shapes(spec: ExperimentSpec) -> windows.Shapes:
    """The spec's window counts, shapes and split dates (cached). Raises DataError or SpecError."""
    return _shapes(_window_key(spec))


def preflight(spec: ExperimentSpec) -> windows.Shapes:
    """The checks of the spec against its data before any run starts: the windows can be cut and fit
    RNNLAB_MAX_WINDOW_MB, and the model fits RNNLAB_MAX_MODEL_PARAMS (counted, no TensorFlow).
    The worker runs the same checks in windows.make. Raises DataError or SpecError."""
    found = shapes(spec)
    model_size.check_parameters(spec, found.input_shape, len(found.classes or ()), found.vocab)
    return found


@st.cache_resource(show_spinner="Making windows...", max_entries=2, ttl=600)
def _windowed(key_json: str) -> windows.Windowed:
    # cache_resource keeps the object itself: X stays a strided view of the scaled series (rows x
    # features), never copied. Two entries for the whole server: a Windowed holds the targets too.
    spec = _checked(key_json)
    return windows.make(load_frame(spec), spec)


def windowed(spec: ExperimentSpec) -> windows.Windowed:
    """The spec's windows, for what needs the arrays (Inspect, the cell race, a model import, the
    one window the Data page draws). Shared, read-only views. Raises DataError or SpecError."""
    return _windowed(_window_key(spec))


def layer_table(spec: ExperimentSpec) -> tuple[list[dict], int]:
    """(rows of name/type/output shape/parameters, total parameters) for the spec's model, counted
    from the spec (core/model_size.py): the server draws it without importing TensorFlow."""
    classes = vocab = 0
    if spec.model.task == "classification" or spec.model.embedding_dim:
        try:  # the class count and the vocabulary come from the data
            found = shapes(spec)
            classes, vocab = len(found.classes or ()), found.vocab
        except ValueError:
            pass  # the Data page says what is wrong with the data
    rows = model_size.table(spec, (spec.window.length, len(spec.data.features)), classes, vocab)
    return rows, sum(r["parameters"] for r in rows)
