"""Select and match (LSTMVis, Strobelt et al. 2018) over a numeric series.

A selection is a span of time steps [a, b] of one window and a threshold: the units whose hidden
state stays above the threshold over the whole span are the pattern. Every span of the same length
in every window is then scored as LSTMVis does: +1 for each pattern unit that is on over it, -1 for
each other unit that is on over it. Spans sharing no pattern unit are not matches. Windows overlap
(stride 1), so one stretch of the series shows up in many windows at different steps: a match is
kept once per series row (the best score, then the window the selection came from, then the window
where the span sits latest, after the most warm-up), and with `distinct` no two kept spans overlap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .states import States


def pattern(h: np.ndarray, a: int, b: int, threshold: float) -> np.ndarray:
    """(units,) bool: the units of one window's h (time steps, units) above `threshold` at every step a..b."""
    return np.all(h[a:b + 1] > threshold, axis=0)


def span_on(h: np.ndarray, length: int, threshold: float) -> np.ndarray:
    """(windows, time steps - length + 1, units) bool: unit on (above threshold) over every step of the span
    starting at each step. Counts the off steps with one cumulative sum: O(windows x steps x units)."""
    off = h <= threshold
    dtype = np.int16 if h.shape[1] < 2 ** 15 else np.int32
    count = np.zeros((h.shape[0], h.shape[1] + 1, h.shape[2]), dtype)
    np.cumsum(off, axis=1, dtype=dtype, out=count[:, 1:])
    return (count[:, length:] - count[:, :-length]) == 0


def scores(on: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shared, extra), each (windows, spans): pattern units on, and other units on, over each span."""
    # Sums of a uint8 view: 4x faster than a float32 matrix product over the default's 16M (window, span, unit)
    # flags (measured 10-40 ms against 90 ms), as the copy to float32 is what costs.
    total = on.view(np.uint8).sum(axis=-1, dtype=np.int32)
    shared = on[..., selected].view(np.uint8).sum(axis=-1, dtype=np.int32)
    return shared, total - shared


def search(states: States, selected: np.ndarray, length: int, threshold: float, top: int = 50,
           source: tuple[str, int, int] | None = None, distinct: bool = True) -> pd.DataFrame:
    """The best-scoring spans of `length` steps over every window, best first.

    Args:
        states: one layer's h over the windows (see states.compute).
        selected: (units,) bool, the pattern (see `pattern`).
        source: (split, window index, start step) of the selection: it wins ties for its own rows.
        distinct: keep no two spans that overlap in the series (else one per series row).
    Returns:
        columns split, window, start, end (steps of the window), row (series row of the span's last
        step), score, shared, extra; at most `top` rows.
    """
    columns = ["split", "window", "start", "end", "row", "score", "shared", "extra"]
    if not selected.any() or not len(states.h):
        return pd.DataFrame(columns=columns)
    on = span_on(states.h, length, threshold)
    shared, extra = scores(on, selected)
    w, s = np.nonzero(shared > 0)
    score = shared[w, s] - extra[w, s]
    row = states.starts[w] + s + length - 1
    own = np.zeros(len(w), bool)
    if source is not None:
        own = (states.split[w] == source[0]) & (states.index[w] == source[1]) & (s == source[2])
    order = np.lexsort((-s, ~own, -score))  # last key first: score, then the selection itself, then later steps
    w, s, score, row = w[order], s[order], score[order], row[order]
    keep = _one_per_row(row, length if distinct else 1, top)
    w, s = w[keep], s[keep]
    return pd.DataFrame({"split": states.split[w], "window": states.index[w], "start": s, "end": s + length - 1,
                         "row": row[keep], "score": score[keep], "shared": shared[w, s], "extra": extra[w, s]})


def _one_per_row(rows: np.ndarray, gap: int, top: int) -> np.ndarray:
    """Positions of `rows` (already best first) to keep: the first of each row, and none within `gap` - 1
    rows of one kept before; at most `top`."""
    first = np.sort(np.unique(rows, return_index=True)[1])  # best candidate of each series row
    if gap <= 1:
        return first[:top]
    taken: set[int] = set()
    keep = []
    for i in first:
        r = int(rows[i])
        if any(r + d in taken for d in range(-gap + 1, gap)):
            continue
        taken.add(r)
        keep.append(i)
        if len(keep) >= top:
            break
    return np.asarray(keep, dtype=np.int64)


def followed(levels: np.ndarray, rows: np.ndarray, horizon: int) -> np.ndarray:
    """(len(rows), horizon) the series' values 1..horizon rows after each row; NaN past the end."""
    at = np.asarray(rows)[:, None] + np.arange(1, horizon + 1)[None, :]
    out = np.full(at.shape, np.nan)
    inside = at < len(levels)
    out[inside] = np.asarray(levels, dtype=np.float64)[at[inside]]
    return out


def change_pct(levels: np.ndarray, rows: np.ndarray, horizon: int) -> np.ndarray:
    """The change in % from each row to `horizon` rows later (NaN past the end or from a zero)."""
    now = np.asarray(levels, dtype=np.float64)[np.asarray(rows)]
    later = followed(levels, rows, horizon)[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(now != 0, (later / now - 1) * 100, np.nan)


def table(matches: pd.DataFrame, windowed, levels: np.ndarray) -> pd.DataFrame:
    """matches.csv: each match with its target date, the date of its span's end, and what followed."""
    horizon = windowed.horizon
    rows = matches["row"].to_numpy(dtype=np.int64)
    out = matches.copy()
    out.insert(2, "target_date", [_date(windowed.dates[s][i]) for s, i in zip(out["split"], out["window"])])
    out.insert(6, "span_end_date", [_date(windowed.index[r]) for r in rows])
    out["level"] = np.asarray(levels, dtype=np.float64)[rows] if len(rows) else []
    out["followed_pct"] = change_pct(levels, rows, horizon) if len(rows) else []
    after = followed(levels, rows, horizon) if len(rows) else np.zeros((0, horizon))
    for k in range(horizon):
        out[f"next_{k + 1}"] = after[:, k]
    return out


def _date(stamp) -> str:
    stamp = pd.Timestamp(stamp)
    return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")


def baseline(states: States, levels: np.ndarray, length: int, horizon: int) -> np.ndarray:
    """The change in % after every series row a span of `length` can end on: what follows any span."""
    first = int(states.starts.min()) + length - 1 if len(states.starts) else 0
    last = int(states.starts.max()) + states.steps - 1 if len(states.starts) else -1
    rows = np.arange(first, last + 1)
    values = change_pct(levels, rows, horizon)
    return values[np.isfinite(values)]


def summary(matches: pd.DataFrame, everything: np.ndarray, horizon: int) -> str:
    """The sentence under the distributions: what followed the matches against what follows any span."""
    after = matches["followed_pct"].dropna().to_numpy() if "followed_pct" in matches else np.array([])
    if not len(after):
        return "No match has a known future yet (they all end at the series' last rows)."
    steps = "step" if horizon == 1 else f"{horizon} steps"
    base = f"{_pct(everything.mean())} on average ({100 * (everything > 0).mean():.0f}% rises)" if len(everything) else "unknown"
    return (f"After the {len(after)} matches the series moved {_pct(after.mean())} on average over the next {steps} "
            f"({100 * (after > 0).mean():.0f}% rises), against {base} after all {len(everything):,} spans.")


def _pct(value: float) -> str:
    """A signed percentage to 2 decimals; a mean that rounds to zero reads "+0.00%", never "-0.00%"."""
    return f"{round(float(value), 2) + 0.0:+.2f}%"
