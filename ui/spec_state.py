"""The spec in the session: the one setup every page edits, and the widgets bound to it.

`st.session_state["spec"]` is the single source of truth. Widgets are bound to it through `bind`,
which seeds the widget's key from the spec whenever Streamlit has dropped the key (it does so one
run after a page switch), so values survive moving between pages. A new session's first spec is
chosen in app.py (a share link's, a refreshed run's, or the default).
"""
from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from core import data, sources
from core.describe import escape
from core.errors import sentence
from core.spec import ExperimentSpec, SpecError

from . import loads

SPEC_KEY = "spec"
DATA_WIDGETS = ("w.data.target", "w.data.features", "w.data.date_column")


def default_spec() -> ExperimentSpec:
    """$RNNLAB_DEFAULT_SPEC (a spec JSON file) if set and valid, else the built-in defaults."""
    path = os.environ.get("RNNLAB_DEFAULT_SPEC")
    if not path:
        return ExperimentSpec()
    try:
        return ExperimentSpec.from_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SpecError) as exc:
        st.error(escape(f"RNNLAB_DEFAULT_SPEC={path} could not be used ({exc}); starting from the defaults."))
        return ExperimentSpec()


def has_spec() -> bool:
    return SPEC_KEY in st.session_state


def get_spec() -> ExperimentSpec:
    """The session's spec (the defaults until app.py has chosen the first one)."""
    if SPEC_KEY not in st.session_state:
        st.session_state[SPEC_KEY] = default_spec()
    return st.session_state[SPEC_KEY]


def set_spec(spec: ExperimentSpec) -> None:
    st.session_state[SPEC_KEY] = spec


def bind(widget: Callable[..., Any], section: str, name: str, label: str, **kwargs) -> Any:
    """Draw `widget` for spec.<section>.<name> and return its value.

    The value is written back by `update_spec`; `kwargs` go to the widget (help, min_value, ...).
    A `to_widget` kwarg converts the spec value for the widget (e.g. a list to text); `key`
    overrides the widget key (default "w.<section>.<name>").
    """
    key = kwargs.pop("key", f"w.{section}.{name}")
    to_widget = kwargs.pop("to_widget", lambda v: v)
    if key not in st.session_state:
        st.session_state[key] = to_widget(getattr(getattr(get_spec(), section), name))
    return widget(label, key=key, **kwargs)


def field_type(section: str, name: str):
    """The annotated type of spec.<section>.<name> (int, float, bool, str, float | None, ...)."""
    return typing.get_type_hints(type(getattr(ExperimentSpec(), section)))[name]


def cast(section: str, name: str, value: Any) -> Any:
    """A widget's value as the spec field's type: number_input gives 5.0 for an int field, a
    toggle None before it is drawn. A value of no plain type (a list, a dict) is returned as it is."""
    if value is None:
        return None
    hint = field_type(section, name)
    kinds = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    kinds.discard(type(None))
    if kinds == {bool}:
        return bool(value)
    if kinds == {int}:
        return int(value)
    if kinds == {float}:
        return float(value)
    if kinds == {str}:
        return str(value)
    return value


class Fields:
    """The spec fields one page edits: each declared once, by `bind`, and committed together.

    A page binds its widgets through `fields.bind(...)` (the same arguments as `bind`), then calls
    `fields.commit()`, which writes every bound value into the spec, cast to the field's annotated
    type. `from_widget` converts a value first (it then decides the type: 0 -> None, say);
    `from_widget=False` leaves the field to the page (one field built from several widgets, such as
    train.early_stopping), which passes it to `commit` by section.
    """

    def __init__(self) -> None:
        self._bound: list[tuple[str, str, Any, Callable | None]] = []

    def bind(self, widget: Callable[..., Any], section: str, name: str, label: str,
             from_widget: Callable | bool | None = None, **kwargs) -> Any:
        value = bind(widget, section, name, label, **kwargs)
        if from_widget is not False:
            self._bound.append((section, name, value, from_widget))
        return value

    def values(self, **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """{section: {field: value}} of the bound widgets, with `extra` (the page's own fields) on top."""
        sections: dict[str, dict[str, Any]] = {}
        for section, name, value, convert in self._bound:
            sections.setdefault(section, {})[name] = convert(value) if convert else cast(section, name, value)
        for section, fields in extra.items():
            sections.setdefault(section, {}).update(fields)
        return sections

    def commit(self, **extra: dict[str, Any]) -> ExperimentSpec:
        """Write the bound values (and `extra`) into the session's spec; the spec as it is now (the
        old one, with the error shown, when the values do not fit together)."""
        return update_spec(**self.values(**extra)) or get_spec()


def update_spec(**sections: dict[str, Any]) -> ExperimentSpec | None:
    """Apply widget values to the spec; show the SpecError and keep the old spec if they don't fit."""
    try:
        spec = get_spec().replace(**sections)
    except SpecError as exc:
        st.error(f"{escape(sentence(str(exc)))} The previous setting is kept.")
        # The error sits where the page commits (the Model page's foot, under the fold at 1400x900), far from
        # a control at the top (Task): the toast shows wherever the visitor is scrolled.
        st.toast(f"Not applied: {escape(sentence(str(exc)))}", icon=":material/block:")
        return None
    set_spec(spec)
    return spec


def forget_widgets() -> None:
    """Drop the widget keys bound to the spec, so every widget shows the (new) spec's values."""
    for key in [k for k in st.session_state if str(k).startswith("w.")]:
        del st.session_state[key]


def use_data(**fields: Any) -> str | None:
    """Switch the spec to new data (a dataset, a ticker, a file) if it loads; else keep the old.

    The target and inputs carry over when the new data has those columns; otherwise the likely
    target (a close/price/value column) becomes target and only input. Returns an error message,
    or None when the switch worked.
    """
    spec = get_spec()
    defaults = {"name": None, "ticker": None, "path": None, "date_column": None, "start": None, "end": None,
                "params": {}}
    st.session_state.pop("data_error", None)
    try:
        candidate = spec.replace(data={**defaults, **fields})
        frame = loads.load_frame(candidate)
    except (data.DataError, SpecError) as exc:
        st.session_state["data_error"] = exc  # the exception itself, e.g. a DateColumnError's columns
        return str(exc)
    numeric = data.numeric_columns(frame)
    suggested = sources.source(candidate.data.source).target(candidate.data)  # e.g. a built-in dataset's
    target = spec.data.target if spec.data.target in numeric else (suggested or data.default_target(frame))
    features = [f for f in spec.data.features if f in numeric] or [target]
    try:
        set_spec(candidate.replace(data={"target": target, "features": features}))
    except SpecError as exc:  # e.g. a column name with a control character in it
        st.session_state["data_error"] = exc
        return str(exc)
    for key in DATA_WIDGETS:
        st.session_state.pop(key, None)
    return None
