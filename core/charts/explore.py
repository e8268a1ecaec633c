"""The explorer's charts (core/explore): the selection, matches, half-lives, the unit-signal map,
what-if and the trajectory over training. Pure functions of arrays, like every chart module."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import _safe
from ._style import LEGEND, SPLIT_COLOURS, _layout


def _subplots(rows: int, cols: int = 1, **kw):
    from plotly.subplots import make_subplots

    return make_subplots(rows=rows, cols=cols, **kw)


@_safe.no_links
def selection_figure(values: np.ndarray, times: list[str], h: np.ndarray, span: tuple[int, int],
                     selected: np.ndarray, title: str) -> go.Figure:
    """The window's series on top, its h (units x steps) below; the span shaded, pattern units marked ●."""
    fig = _subplots(2, shared_xaxes=True, row_heights=[0.3, 0.7], vertical_spacing=0.05)
    fig.add_trace(go.Scatter(x=times, y=np.asarray(values, np.float32), mode="lines", name="series",
                             line_color="#2a2a2a"), row=1, col=1)
    labels = [f"● u{u}" if selected[u] else f"u{u}" for u in range(h.shape[1])]
    fig.add_trace(go.Heatmap(z=np.asarray(h.T, np.float32).round(3), x=times, y=labels, zmin=-1, zmax=1,
                             colorscale="RdBu", reversescale=True, colorbar=dict(title="h", thickness=10, len=0.6, y=0.35),
                             hovertemplate="%{x}<br>%{y}: h = %{z:.3f}<extra></extra>"), row=2, col=1)
    for row in (1, 2):
        fig.add_vrect(x0=times[span[0]], x1=times[span[1]], fillcolor="#ffd54f", opacity=0.35, line_width=0,
                      row=row, col=1)
    fig.update_xaxes(type="category", nticks=10)
    fig.update_yaxes(autorange="reversed", tickfont_size=9, row=2, col=1)
    fig.update_layout(title=title, height=260 + 9 * h.shape[1], margin=dict(l=10, r=10, t=50, b=10), showlegend=False,
                      uirevision="keep")
    return fig


@_safe.no_links
def matches_figure(panels: list[dict], columns: int = 4) -> go.Figure:
    """Small multiples, aligned at the span's end (step 0): each panel's series before (grey), the span
    (black) and what followed (red). panel: title, before (values), span (values), after (values)."""
    rows = max(1, -(-len(panels) // columns))
    # Titles on two lines and wider gaps: at 800 px (a 470 px chart) one-line titles ran into each other and
    # each panel's % ticks sat on its left neighbour.
    fig = _subplots(rows, columns, subplot_titles=[p["title"] for p in panels], vertical_spacing=0.16 / rows + 0.08,
                    horizontal_spacing=0.07)
    for i, p in enumerate(panels):
        r, c = divmod(i, columns)
        before, span, after = (np.asarray(p[k], np.float64) for k in ("before", "span", "after"))
        base = span[-1] if len(span) and span[-1] else 1.0
        # Each piece starts at the last point of the one before, so the line is unbroken (the grey and
        # the black were drawn a step apart).
        pieces = ((before, -len(before) - len(span) + 1, "#9e9e9e"),
                  (np.r_[before[-1:], span], -len(span) + 1 - min(len(before), 1), "#2a2a2a"),
                  (np.r_[span[-1:], after], 0, SPLIT_COLOURS["test"]))
        for y, x0, colour in pieces:
            fig.add_trace(go.Scatter(x=np.arange(x0, x0 + len(y)), y=(y / base - 1) * 100, mode="lines",
                                     line_color=colour, showlegend=False, hovertemplate="step %{x}: %{y:+.2f}%<extra></extra>"),
                          row=r + 1, col=c + 1)
    fig.update_annotations(font_size=10)
    fig.update_xaxes(zeroline=True, tickfont_size=9)
    fig.update_yaxes(tickfont_size=9, ticksuffix="%")
    fig.update_layout(height=50 + 190 * rows, margin=dict(l=10, r=10, t=60, b=10),
                      title="Top matches, aligned at the span's end (0), in %")
    return fig


@_safe.no_links
def followed_figure(matched: np.ndarray, everything: np.ndarray, steps: int) -> go.Figure:
    """What followed the matches against what follows any span: two normalised histograms."""
    fig = go.Figure()
    for name, values, colour in ((f"after all spans ({len(everything):,})", everything, "#9e9e9e"),
                                 (f"after the matches ({len(matched)})", matched, SPLIT_COLOURS["test"])):
        fig.add_trace(go.Histogram(x=np.asarray(values, np.float32), histnorm="probability", name=name, opacity=0.6,
                                   marker_color=colour, nbinsx=40))
    fig.update_layout(barmode="overlay", xaxis_title=f"change over the next {steps} step{'s' * (steps > 1)} (%)")
    return _layout(fig, "What followed", "share")


@_safe.no_links
def halflife_figure(half_lives: np.ndarray, window: int, label: str) -> go.Figure:
    """A histogram of the units' half-lives (steps), with the window length as a line."""
    life = np.asarray(half_lives, np.float64)
    shown = np.minimum(life[np.isfinite(life)], 4 * window)
    end = max(float(window), float(shown.max()) if len(shown) else 1.0)
    fig = go.Figure(go.Histogram(x=shown.astype(np.float32), xbins=dict(start=0, end=end, size=end / 40), name="units",
                                 marker_color="#1f77b4"))  # bins over the whole axis, up to the window line
    fig.add_vline(x=window, line_dash="dash", line_color="#d62728", annotation_text=f"window {window}",
                  annotation_position="top")
    fig.update_layout(xaxis_title="half-life (steps)", showlegend=False)
    return _layout(fig, f"Memory half-life per unit · {label}", "units")


@_safe.no_links
def signal_map_figure(corr: np.ndarray, units: list[str], signals: list[str], title: str) -> go.Figure:
    """The unit-signal map: one row per unit (clustered order, labelled by its strongest signal)."""
    fig = go.Figure(go.Heatmap(z=np.asarray(corr, np.float32).round(3), x=signals, y=units, zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True, colorbar=dict(title="r", thickness=10),
                               hovertemplate="%{y}<br>%{x}: r = %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", tickfont_size=9)
    # Signal names slanted at a fixed angle under a title pinned to the top: at 800 px Plotly tilted them on
    # its own and they ran into the title.
    fig.update_xaxes(type="category", side="top", tickangle=-30)
    fig.update_layout(title=dict(text=title, y=0.995, yanchor="top"), height=190 + 14 * len(units),
                      margin=dict(l=10, r=10, t=120, b=10))
    return fig


@_safe.no_links
def whatif_figure(times: list[str], original: np.ndarray, edited: np.ndarray, h_before: np.ndarray,
                  h_after: np.ndarray, title: str) -> go.Figure:
    """The input before and after the edit, then h before and the change in h (after - before)."""
    fig = _subplots(3, shared_xaxes=True, row_heights=[0.26, 0.37, 0.37], vertical_spacing=0.06,
                    subplot_titles=["input (scaled)", "hidden state h, original", "change in h (what-if - original)"])
    fig.add_trace(go.Scatter(x=times, y=np.asarray(original, np.float32), name="original", line_color="#9e9e9e"), row=1, col=1)
    fig.add_trace(go.Scatter(x=times, y=np.asarray(edited, np.float32), name="what-if", line_color="#d62728"), row=1, col=1)
    labels = [f"u{u}" for u in range(h_before.shape[1])]
    fig.add_trace(go.Heatmap(z=h_before.T.astype(np.float32).round(3), x=times, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                             reversescale=True, coloraxis="coloraxis", hovertemplate="%{x} %{y}: %{z:.3f}<extra></extra>"),
                  row=2, col=1)
    change = (h_after - h_before).T.astype(np.float32)
    fig.add_trace(go.Heatmap(z=change.round(4), x=times, y=labels, coloraxis="coloraxis2",
                             hovertemplate="%{x} %{y}: %{z:+.4f}<extra></extra>"), row=3, col=1)
    # The change has its own scale, symmetric about 0 and as wide as the largest change: on h's -1..1 scale
    # an edit that moved h by 0.05 (a -150 shift on a GRU(64)) was near white, the row looked empty.
    reach = max(float(np.abs(change).max()) if change.size else 0.0, 1e-3)
    fig.update_layout(coloraxis=dict(colorscale="RdBu", reversescale=True, cmin=-1, cmax=1,
                                     colorbar=dict(title="h", thickness=10, len=0.3, y=0.56)),
                      coloraxis2=dict(colorscale="RdBu", reversescale=True, cmin=-reach, cmax=reach,
                                      colorbar=dict(title="Δh", thickness=10, len=0.3, y=0.17)))
    fig.update_xaxes(type="category", nticks=10)
    fig.update_yaxes(autorange="reversed", tickfont_size=8, row=2, col=1)
    fig.update_yaxes(autorange="reversed", tickfont_size=8, row=3, col=1)
    fig.update_layout(title=title, height=300 + 14 * h_before.shape[1], margin=dict(l=10, r=10, t=60, b=10),
                      legend=LEGEND, uirevision="keep")
    fig.update_annotations(font_size=12)
    return fig


@_safe.no_links
def trajectory_figure(paths: np.ndarray, epochs: list[int], chosen: int, explained: np.ndarray) -> go.Figure:
    """Each saved epoch's path of one window's h on the final epoch's first two PCA axes; `chosen` bold."""
    fig = go.Figure()
    for e, path in zip(epochs, paths):
        bold = e == chosen
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers" if bold else "lines",
                                 name=f"epoch {e}", opacity=1.0 if bold else 0.25, line_width=3 if bold else 1,
                                 marker_size=4, hovertemplate=f"epoch {e}, step %{{pointNumber}}<extra></extra>"))
    last = paths[list(epochs).index(chosen)]
    fig.add_trace(go.Scatter(x=last[-1:, 0], y=last[-1:, 1], mode="markers", marker=dict(size=12, symbol="star"),
                             name="last step", marker_color="#d62728"))
    fig.update_layout(xaxis_title=f"PC1 ({explained[0]:.0%} of the variance)",
                      yaxis_title=f"PC2 ({explained[1]:.0%})" if len(explained) > 1 else "PC2")
    return _layout(fig, "Hidden-state path of one window, epoch by epoch", "", 420)
