"""What the windows of a spec depend on, and how big they would be, counted before any array exists.

    RNNLAB_MAX_WINDOW_MB  the bytes the windows (inputs and targets, float32) would take when
                          materialised, in MB (default 256); `check_size` refuses more.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .data import DataError
from .spec import ExperimentSpec
from .windowed import SPLITS

DEFAULT_MAX_WINDOW_MB = 256  # 7x the largest preset (MNIST rows, 38 MB); a worker's peak is about 2x this
# The spec fields windows.make cuts the windows by (None: the whole section): the data, window and split,
# the mode and task, the embedding (its vocabulary), the batch size (stateful windows come in whole
# batches) and the loss. A cache of windows keys on these and nothing else (window_key).
WINDOW_FIELDS = {"data": None, "window": None, "split": None, "model": ("mode", "task", "embedding_dim"),
                 "train": ("batch_size", "loss")}


def window_key(spec: ExperimentSpec) -> str:
    """The JSON of what the windows depend on (WINDOW_FIELDS); every other field keeps its default, so
    two specs that differ only in the model or the training cut the same windows and share the key."""
    sections = {}
    for name, kept in WINDOW_FIELDS.items():
        section = getattr(spec, name)
        sections[name] = section if kept is None else type(section)(**{f: getattr(section, f) for f in kept})
    return ExperimentSpec(**sections).to_json()


def split_counts(targets: int, val: float | int, test: float | int) -> tuple[int, int, int]:
    """Split `targets` target rows chronologically into (train, val, test) counts.

    A fraction in (0, 1) is a share of the target rows; an integer >= 1 is a count of rows.
    """
    n_test = int(round(test * targets)) if isinstance(test, float) else int(test)
    n_val = int(round(val * targets)) if isinstance(val, float) else int(val)
    return targets - n_val - n_test, n_val, n_test


def _target_rows(starts: np.ndarray, length: int, horizon: int, mode: str) -> np.ndarray:
    """(samples, outputs) rows each sample predicts; the last column is always last step + horizon."""
    last = starts + length - 1
    if mode in ("direct", "seq2seq"):
        return last[:, None] + np.arange(1, horizon + 1)[None, :]
    if mode in ("many_to_many", "autoencoder"):  # the autoencoder's horizon is 0: the window itself
        return starts[:, None] + np.arange(length)[None, :] + horizon
    return (last + horizon)[:, None]


def longest_window(rows: int, horizon: int, stride: int, val: float | int, test: float | int) -> int:
    """The longest window length that leaves every split at least one sample (0 if none does)."""
    for length in range(max(rows - horizon, 0), 0, -1):  # long windows leave few samples: the answer is near the top
        samples = len(range(rows - length - horizon, -1, -stride))
        if samples >= 3 and min(split_counts(samples, val, test)) >= 1:
            return length
    return 0


def max_window_bytes() -> int:
    """The most the windows may take, inputs and targets as float32: $RNNLAB_MAX_WINDOW_MB (default 256)."""
    try:
        mb = float(os.environ.get("RNNLAB_MAX_WINDOW_MB", DEFAULT_MAX_WINDOW_MB))
    except ValueError:
        mb = DEFAULT_MAX_WINDOW_MB
    return int(mb * 2 ** 20)


def output_steps(length: int, horizon: int, mode: str) -> int:
    """How many target values one sample has (the columns of `_target_rows`)."""
    return _target_rows(np.zeros(1, dtype=np.int64), length, horizon, mode).shape[1]


def window_bytes(rows: int, spec: ExperimentSpec, image_offset: int | None = None) -> dict[str, int]:
    """split -> bytes its windows take materialised as float32 (X and y), counted, not allocated.

    An upper bound: the samples are counted before windows with filled-in targets are dropped.
    Args:
        rows: usable rows (after missing-value handling and differencing).
        image_offset: for an image dataset, the first candidate window that starts an image
            (windows start only there, one per `image_height` rows); None otherwise.
    """
    w, mode = spec.window, spec.model.mode
    candidates = max(rows - w.length - w.horizon + 1, 0)
    if image_offset is not None:
        height = w.length
        candidates = max(math.ceil((candidates - image_offset) / height), 0)
    samples = math.ceil(candidates / w.stride)
    per_sample = 4 * (w.length * len(spec.data.features) + output_steps(w.length, w.horizon, mode))
    counts = split_counts(samples, spec.split.val, spec.split.test)
    return {s: max(n, 0) * per_sample for s, n in zip(SPLITS, counts)}


def check_size(rows: int, spec: ExperimentSpec, image_offset: int | None = None) -> int:
    """The windows' bytes (see `window_bytes`), or DataError when they are over RNNLAB_MAX_WINDOW_MB.

    Runs before any array the size of the windows exists, so a link with a 2,000,000-point series and
    a 10,000-step window is refused in microseconds instead of taking the server's memory.
    """
    sizes, cap = window_bytes(rows, spec, image_offset), max_window_bytes()
    total = sum(sizes.values())
    if total <= cap:
        return total
    w, features = spec.window, len(spec.data.features)
    mb = lambda n: f"{n / 2 ** 20:,.0f} MB"  # noqa: E731
    stride = math.ceil(w.stride * total / cap)
    raise DataError(
        f"the windows would take {mb(total)} of memory as float32 (train {mb(sizes['train'])}, val "
        f"{mb(sizes['val'])}, test {mb(sizes['test'])}: {rows:,} rows, windows of {w.length:,} steps x {features} "
        f"feature{'s' if features != 1 else ''}, stride {w.stride}); the limit is {mb(cap)} (RNNLAB_MAX_WINDOW_MB). "
        f"Shorten the window, raise the stride (to {stride:,} or more), or use fewer rows "
        "(data.start/end, fewer points) or fewer features")
