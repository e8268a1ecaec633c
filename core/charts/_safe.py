"""No links in a chart: Plotly draws `<a href=...>` in titles, legends, annotations and hover labels
as a clickable link, and chart text carries what visitors supply (column names, targets, run and
file names). `without_links` turns such tags into the text they are; Plotly's own tags (`<br>`,
`<b>`, `<extra>`) stay."""
from __future__ import annotations

import functools
import re

import plotly.graph_objects as go

_LINK = re.compile(r"<(\s*/?\s*a\b[^>]*)>", re.IGNORECASE)


def clean(text):
    """`text` with every <a ...> and </a> tag shown as text (&lt;a ...&gt;); anything else as it is."""
    if isinstance(text, str) and "<" in text:
        return _LINK.sub(lambda m: f"&lt;{m.group(1)}&gt;", text)
    return text


def without_links(fig: go.Figure) -> go.Figure:
    """The figure, its title, axis titles, annotations, legend title, trace names and hover texts cleaned."""
    layout = fig.layout
    if layout.title.text:
        layout.title.text = clean(layout.title.text)
    if layout.legend.title.text:
        layout.legend.title.text = clean(layout.legend.title.text)
    for axis in [*fig.select_xaxes(), *fig.select_yaxes()]:
        if axis.title.text:
            axis.title.text = clean(axis.title.text)
    for note in layout.annotations or ():
        note.text = clean(note.text)
    for trace in fig.data:
        for key in ("name", "legendgroup", "hovertemplate", "text", "hovertext"):
            value = getattr(trace, key, None) if key in trace else None
            if isinstance(value, str):
                setattr(trace, key, clean(value))
            elif isinstance(value, (list, tuple)) and any(isinstance(v, str) and "<" in v for v in value):
                setattr(trace, key, [clean(v) for v in value])  # per-point texts (a hover's %{text})
    return fig


def no_links(build):
    """Wrap a figure builder so what it returns has no live links."""
    @functools.wraps(build)
    def safe(*args, **kwargs):
        result = build(*args, **kwargs)
        return without_links(result) if isinstance(result, go.Figure) else result
    return safe
