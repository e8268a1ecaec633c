"""What each unit is: how long it remembers, and which signal of the input it follows.

Half-life: an LSTM cell state decays by its forget gate f each step (c = f c_prev + ...), a GRU's
h by its update gate z (h = z h_prev + (1 - z) h~). With the gate's mean m over the test windows,
the time constant is tau = -1 / ln(m) steps (the state falls to 1/e) and the half-life
ln(2) * tau (it falls to half). SimpleRNN has no gate to read one from.

Unit-signal map: Pearson correlation of each unit's h with interpretable signals of the series at
the same row: the level, its one-step change, the rolling volatility, the distance from a moving
average, the day of the week, and the target `horizon` rows ahead.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .states import States

NO_HALF_LIFE = ("SimpleRNN has no forget or update gate: its state is rewritten through tanh every step, so there is "
                "no per-unit decay rate to turn into a half-life.")
ROLLING = 20  # rows of the rolling volatility and the moving average (about a trading month)
SIGNALS = {
    "level": "the target's value at that step",
    "change": "its change from the step before",
    "volatility": f"the standard deviation of the changes over the last {ROLLING} steps",
    "ma_distance": f"its distance from its {ROLLING}-step moving average",
    "day_of_week": "the day of the week (0 Monday ... 6 Sunday)",
    "ahead": "the target `horizon` steps later (what the model predicts)",
}


def half_life(keep: np.ndarray | None) -> pd.DataFrame:
    """Per unit: mean keep gate, time constant -1/ln(mean) and half-life ln 2 * that, in steps.

    Args:
        keep: (units,) mean forget/update gate (States.keep), or None for SimpleRNN (empty table).
    A gate of 1 never forgets (inf); a gate of 0 forgets at once (0).
    """
    columns = ["unit", "mean_gate", "time_constant", "half_life"]
    if keep is None:
        return pd.DataFrame(columns=columns)
    m = np.clip(np.asarray(keep, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        tau = np.where(m >= 1.0, np.inf, -1.0 / np.log(m))
    return pd.DataFrame({"unit": np.arange(len(m)), "mean_gate": m, "time_constant": tau, "half_life": np.log(2) * tau})


def half_life_words(table: pd.DataFrame, window: int) -> str:
    """"Window 60; 80% of units forget half within 9 steps; 3 units keep half for longer than the window.\""""
    if not len(table):
        return NO_HALF_LIFE
    life = table["half_life"].to_numpy()
    p80 = float(np.quantile(life, 0.8))
    beyond = int(np.sum(life > window))
    words = f"Window {window}; 80% of units lose half their memory within {p80:.1f} steps"
    words += f", median {float(np.median(life)):.1f}"
    return words + (f"; {beyond} unit{'s' if beyond != 1 else ''} keep half for longer than the window." if beyond
                    else "; no unit keeps half its memory over the whole window.")


def series_signals(levels: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> pd.DataFrame:
    """(rows, signals): every signal of SIGNALS at each row of the series (NaN where undefined)."""
    level = pd.Series(np.asarray(levels, dtype=np.float64))
    change = level.diff()
    return pd.DataFrame({
        "level": level, "change": change, "volatility": change.rolling(ROLLING).std(),
        "ma_distance": level - level.rolling(ROLLING).mean(),
        "day_of_week": np.asarray(pd.DatetimeIndex(index).dayofweek, dtype=np.float64),
        "ahead": level.shift(-horizon),
    })


def signal_map(states: States, levels: np.ndarray, index: pd.DatetimeIndex, horizon: int,
               split: str = "test") -> pd.DataFrame:
    """(units, signals) correlations of each unit's h with each signal, over the windows of `split`.

    Each (window, step) is one observation, at the series row that step reads. Signals that never
    change (a daily series' day of week on a weekly one) correlate 0."""
    rows = states.split == split
    h = states.h[rows]
    at = states.starts[rows][:, None] + np.arange(states.steps)[None, :]  # (windows, steps) series rows
    signals = series_signals(levels, index, horizon).to_numpy()[at.ravel()]  # (obs, signals)
    flat = h.reshape(-1, h.shape[-1]).astype(np.float64)
    out = np.zeros((flat.shape[1], signals.shape[1]))
    for j in range(signals.shape[1]):
        ok = np.isfinite(signals[:, j])
        out[:, j] = _pearson(flat[ok], signals[ok, j])
    return pd.DataFrame(out, columns=list(SIGNALS), index=pd.Index(np.arange(flat.shape[1]), name="unit"))


def _pearson(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Correlation of each column of values (obs, units) with target (obs,); 0 where either is flat."""
    if len(target) < 2:
        return np.zeros(values.shape[1])
    v = values - values.mean(axis=0)
    t = target - target.mean()
    denom = np.sqrt((v ** 2).sum(axis=0) * (t ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num((v * t[:, None]).sum(axis=0) / denom)


def strongest(corr: pd.DataFrame) -> pd.Series:
    """Each unit's label: the signal it correlates with most strongly (by |r|), with the sign."""
    best = corr.abs().idxmax(axis=1)
    return pd.Series([f"{'+' if corr.at[u, s] >= 0 else '-'}{s}" for u, s in best.items()], index=corr.index)


def clusters(corr: pd.DataFrame, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(order, label): the units in leaf order of an average-linkage tree over their correlation profiles,
    and each unit's cluster (1..k), so units that follow the same signals sit together."""
    from scipy.cluster import hierarchy

    profile = corr.to_numpy()
    if len(profile) < 2:
        return np.arange(len(profile)), np.ones(len(profile), dtype=int)
    tree = hierarchy.linkage(profile, method="average", metric="euclidean")
    return hierarchy.leaves_list(tree), hierarchy.fcluster(tree, t=min(k, len(profile)), criterion="maxclust")
