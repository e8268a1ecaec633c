"""Hidden states of one layer over every window, computed once per run, epoch and layer.

The explorer's views all read the same thing: h (windows, time steps, units) for the train,
validation and test windows, plus each unit's mean keep gate (forget for LSTM, update for GRU) and
mean h over the test windows. Replaying the default spec's ~5,000 windows takes about a second;
each view after that is numpy on the cached arrays.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import gates

SPLITS = ("train", "val", "test")
KEEP_GATE = {"LSTM": "forget", "GRU": "update"}  # the fraction of the old state kept each step
CHUNK = 1024  # windows replayed at once: an LSTM(64) chunk of 60 steps holds 6 gates x 16 MB, not 6 x 77 MB


def cache_bytes() -> int:
    """The most memory the cached states may hold ($RNNLAB_EXPLORE_CACHE_MB, default 384): one layer of the
    default spec is 77 MB (5,000 windows x 60 steps x 64 units, float32). A layer larger than this is
    thinned to evenly spaced windows (States.every says by how much)."""
    try:
        return max(1, int(float(os.environ.get("RNNLAB_EXPLORE_CACHE_MB") or 384) * 2 ** 20))
    except ValueError:
        return 384 * 2 ** 20


@dataclass
class States:
    """One layer's hidden states over the windows of every split.

    Attributes:
        layer, cell: the layer's name and cell ("LSTM", "GRU", "SimpleRNN").
        h: (windows, time steps, units) float32, the splits one after the other (train, val, test).
        split: (windows,) the split of each row of h; index: (windows,) its index in that split.
        starts: (windows,) the series row of each window's first step (windowed.starts).
        keep: (units,) mean forget/update gate over the test windows; None for SimpleRNN.
        mean_h: (units,) mean h over the test windows (what "clamp to its mean" uses).
        every: 1, or k when only every k-th window was kept to stay within cache_bytes().
    """

    layer: str
    cell: str
    h: np.ndarray
    split: np.ndarray
    index: np.ndarray
    starts: np.ndarray
    keep: np.ndarray | None
    mean_h: np.ndarray
    every: int = 1

    @property
    def steps(self) -> int:
        return self.h.shape[1]

    @property
    def units(self) -> int:
        return self.h.shape[2]

    def find(self, split: str, i: int) -> int:
        """The row of h holding window i of `split`; -1 when it was thinned away."""
        rows = np.flatnonzero((self.split == split) & (self.index == i))
        return int(rows[0]) if len(rows) else -1


def explorable(model) -> list[gates.Layer]:
    """The recurrent layers whose steps are the input's steps (a seq2seq decoder's are forecast steps)."""
    names = [layer.name for layer in model.layers]
    after_repeat = next((i for i, n in enumerate(names) if n == "repeat"), len(names))
    return [r for r in gates.recurrent_layers(model) if r.index < after_repeat]


def compute(model, windowed, weights: list[np.ndarray], layer: str) -> States:
    """Replay every window (in chunks) and keep h of `layer`, its mean keep gate and mean h on test."""
    cell = next(r.cell for r in gates.recurrent_layers(model) if r.name == layer)
    keep_gate = KEEP_GATE.get(cell)
    total = sum(len(windowed.X[s]) for s in SPLITS)
    steps, width = _shape(model, windowed, weights, layer)
    every = max(1, int(np.ceil(total * steps * width * 4 / cache_bytes())))
    parts, splits, index, starts = [], [], [], []
    keep_sum, h_sum, n_test = np.zeros(width), np.zeros(width), 0
    for split in SPLITS:
        chosen = np.arange(0, len(windowed.X[split]), every)
        for lo in range(0, len(chosen), CHUNK):
            rows = chosen[lo:lo + CHUNK]
            traces = gates.replay(model, windowed.X[split][rows], weights)[layer]
            parts.append(traces["h"])
            if split == "test":
                h_sum += traces["h"].sum(axis=(0, 1), dtype=np.float64)
                n_test += traces["h"].shape[0] * traces["h"].shape[1]
                if keep_gate:
                    keep_sum += traces[keep_gate].sum(axis=(0, 1), dtype=np.float64)
        splits.append(np.full(len(chosen), split))
        index.append(chosen)
        starts.append(np.asarray(windowed.starts[split])[chosen])
    h = np.concatenate(parts) if parts else np.zeros((0, steps, width), np.float32)
    n = max(n_test, 1)
    return States(layer, cell, h, np.concatenate(splits), np.concatenate(index), np.concatenate(starts),
                  keep_sum / n if keep_gate and n_test else None, h_sum / n, every)


def _shape(model, windowed, weights, layer) -> tuple[int, int]:
    """(time steps, units) of the layer's h, from one window's replay."""
    one = windowed.X["train"][:1] if len(windowed.X["train"]) else windowed.X["test"][:1]
    h = gates.replay(model, one, weights)[layer]["h"]
    return h.shape[1], h.shape[2]


_CACHE: OrderedDict[tuple, States] = OrderedDict()


def cached(key: tuple, build) -> States:
    """States from the process-wide cache under `key` (e.g. (run directory, its version, epoch, layer)),
    built with `build()` when missing; the oldest entries go once the cache holds more than cache_bytes()."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    states = build()
    _CACHE[key] = states
    while len(_CACHE) > 1 and sum(s.h.nbytes for s in _CACHE.values()) > cache_bytes():
        _CACHE.popitem(last=False)
    return states
