"""The data sources a spec's data.source names: one module per source, one registry.

Every other module asks here: the spec's list of sources and what each needs (spec_checks), the
loader (core/data.load), a source's title (core/describe.py), its label and defaults on the Data
page, the target it suggests, whether its dates are real, whether a backtest can refit on it.
Adding a source is its own module (a `SOURCE = Source(...)`) and its name in `_MODULES`.
"""
from __future__ import annotations

import importlib

from ..errors import DataError
from .base import Source

__all__ = ["SOURCES", "NAMES", "Source", "source"]

_MODULES = ("builtin", "synthetic", "ticker", "upload")  # one module per source, in the Data page's order

SOURCES: dict[str, Source] = {s.name: s for s in (importlib.import_module(f"{__name__}.{m}").SOURCE for m in _MODULES)}
NAMES: tuple[str, ...] = tuple(SOURCES)
"""The data.source values, in registry order."""


def source(name: str) -> Source:
    """The registered source called `name`; a DataError naming the known ones otherwise."""
    try:
        return SOURCES[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown data source {name!r}; use {', '.join(NAMES[:-1])} or {NAMES[-1]}") from None
