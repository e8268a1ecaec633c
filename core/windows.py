"""Windowing, the chronological split, transforms and scaling fitted on training rows only.

Steps, in order:
1. Keep the used columns (features and target) and handle missing values (`data.missing`).
2. Transform (`data.transform`). Inputs change row to row: log(x), x_t - x_(t-1) or
   100 * (x_t / x_(t-1) - 1). The target is taken relative to the window's last step, which is
   known when the prediction is made: log(y_t), y_t - y_last or 100 * (y_t / y_last - 1). So a
   prediction turns back into original units from known values only.
3. Window: sample j reads rows [j, j + length) and predicts the target at row
   j + length + horizon - 1. Filled-in values (missing values forward-filled or interpolated) may
   be inputs but never targets, and with interpolation a window's last input must be measured
   (else it was drawn from the future). With `stride` s, every s-th sample is kept, counted back
   from the last one so the newest target is always in.
4. Split the samples chronologically by their *target* row: a target never crosses a split
   boundary, while a window's inputs may reach back into the segment before it (those values are
   known at prediction time).
5. Scale (`data.scaler`): the input scaler sees the rows up to the last training target, the
   target scaler the training targets. Nothing from validation or test leaks into either.

Bounds, checked by `make` before anything proportional to the windows is allocated:
    RNNLAB_MAX_WINDOW_MB  the bytes the windows (inputs and targets, float32) would take when
                          materialised, in MB (default 256). X is a view here, but Keras copies
                          it whole: fitting a 98 MB view raised a worker's peak memory by 205 MB.
    RNNLAB_MAX_MODEL_PARAMS  the model's parameters (core/model_size.check_parameters).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from . import model_size, transforms
from .data import DataError, check_columns
from .spec import LOOKAHEAD, DataSpec, ExperimentSpec
from .window_size import (  # noqa: F401  (windows.<name>, as callers use them)
    DEFAULT_MAX_WINDOW_MB, WINDOW_FIELDS, check_size, longest_window, max_window_bytes, output_steps, split_counts,
    window_bytes, window_key,
)
from .windowed import SPLITS, Shapes, Windowed, untransform  # noqa: F401

MAX_CLASSES = 100
TRANSFORM_TEXT = {name: t.text for name, t in transforms.TRANSFORMS.items()}


def _whole_batches(starts: np.ndarray, counts: tuple[int, int, int], batch: int):
    """Stateful layers need every batch full: drop each split's oldest samples to a multiple of `batch`."""
    keep, kept, offset = [], [], 0
    for n in counts:
        whole = n - n % batch
        keep.append(starts[offset + n - whole: offset + n])
        kept.append(whole)
        offset += n
    if min(kept) < 1:
        names = [name for name, k in zip(("train", "validation", "test"), kept) if k < 1]
        smallest = min(counts)
        raise DataError(f"stateful layers train and predict in fixed batches of {batch} windows, but "
                        f"{' and '.join(names)} {'has' if len(names) == 1 else 'have'} fewer windows than that "
                        f"(smallest split: {smallest}). Lower the batch size to at most {smallest}, or use more data")
    return np.concatenate(keep), tuple(kept)


def sliding(x: np.ndarray, length: int, start: int = 0, stop: int | None = None, stride: int = 1) -> np.ndarray:
    """(rows, features) -> (windows, length, features): window i reads rows [i, i + length).

    A read-only strided view of `x` (no copy, no Python loop): windows `start`, `start + stride`,
    ... before `stop`. It costs the memory of `x`, not length times that; Keras copies the
    batches it needs when it trains.
    """
    return sliding_window_view(x, length, axis=0).transpose(0, 2, 1)[start:stop:stride]


def _image_offset(rows: "_Rows", image_height: int | None, spec: ExperimentSpec) -> int | None:
    """For an image dataset whose window reads one image: the first row where an image starts."""
    if not (image_height and spec.window.length == image_height and len(rows.used)):
        return None
    first = (rows.used.index[0] - pd.Timestamp("2000-01-01")).days  # rows are days from 2000-01-01
    return (-first) % image_height


def handle_missing(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """Drop rows with missing values, or fill them ("ffill", "interpolate") and drop what cannot be."""
    if how == "ffill":
        frame = frame.ffill()
    elif how == "interpolate":
        frame = frame.interpolate(method="time", limit_area="inside")
    return frame.dropna()


def scaler(kind: str):
    """A fresh scikit-learn scaler. Imported here, not at the top: scikit-learn pulls in SciPy (about
    1.9 s on first import), and the web server's first page (its Train button) must not wait for it."""
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    return {"minmax": MinMaxScaler, "standard": StandardScaler, LOOKAHEAD: StandardScaler}.get(
        kind, lambda: FunctionTransformer())()


class _Rows(NamedTuple):
    """The rows the windows are cut from, after missing-value handling and the input transform."""

    used: pd.DataFrame  # (rows, columns) the kept rows in original units, indexed by date
    filled: np.ndarray  # (rows,) bool: the row's values were filled in, not measured
    x_raw: np.ndarray  # (rows, features) transformed inputs, float64
    levels: np.ndarray  # (rows,) the target column in original units
    dropped: int  # rows removed by missing-value handling and differencing


class _Targets(NamedTuple):
    """What each sample predicts, before scaling."""

    levels: np.ndarray  # (rows,) the target column: original units, or class label indices
    classes: list[str] | None  # classification: the class names, by label index
    y_raw: np.ndarray  # (samples, outputs) transformed targets
    last_rows: np.ndarray  # (samples,) the row of each window's last step
    target_rows: np.ndarray  # (samples,) the row each sample's (last) target sits on


class _Scaled(NamedTuple):
    """The fitted scalers and the scaled arrays."""

    x_scaler: object
    y_scaler: object
    x_scaled: np.ndarray  # (rows, features) float32
    y_scaled: np.ndarray  # (samples, 1) or (samples, steps, 1) float32
    train_rows: int  # leading rows the input scaler was fitted on
    vocab: int  # embedding: distinct tokens the input column may hold; else 0
    split_y_scalers: dict | None = None  # the look-ahead leak only: val/test targets' own scalers


class _Splits(NamedTuple):
    """Per-split arrays (split -> array) and the naive baseline."""

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    dates: dict[str, pd.DatetimeIndex]
    truth: dict[str, np.ndarray]
    naive: dict[str, np.ndarray]
    starts: dict[str, np.ndarray]
    naive_name: str


def make(frame: pd.DataFrame, spec: ExperimentSpec) -> Windowed:
    """Window `frame` as the spec says, in the steps the module docstring lists.

    Args:
        frame: (rows, columns) the loaded data, indexed by date; `attrs` may carry
            "image_height" (an image dataset) and "class_names" (classification labels).
        spec: the experiment; reads data, window, split, model (mode, task, embedding) and
            train.batch_size (stateful modes).

    Returns:
        A `Windowed` with (samples, time steps, features) inputs for each split.

    Raises:
        DataError: when the data is too short for the window and split, a column is missing or
            empty, the transform does not fit the values, or the windows would take more memory
            than RNNLAB_MAX_WINDOW_MB (checked before they are cut).
        SpecError: the model would have more parameters than RNNLAB_MAX_MODEL_PARAMS.
    """
    rows = _clean(frame, spec.data)
    check_size(len(rows.used), spec, _image_offset(rows, frame.attrs.get("image_height"), spec))
    starts, counts = _choose_starts(rows, frame.attrs.get("image_height"), spec)
    targets = _targets(rows, starts, frame.attrs.get("class_names"), spec)
    scaled = _scale(rows, targets, counts[0], spec)
    if spec.data.scaler == LOOKAHEAD:
        scaled = _leak_later_periods(rows, targets, scaled, counts)
    model_size.check_parameters(spec, (spec.window.length, len(spec.data.features)), len(targets.classes or ()),
                            scaled.vocab)
    splits = _cut(rows, targets, scaled, starts, counts, spec)
    d = spec.data
    return Windowed(
        X=splits.X, y=splits.y, dates=splits.dates, truth=splits.truth, naive=splits.naive,
        x_scaler=scaled.x_scaler, y_scaler=scaled.y_scaler, train_rows=scaled.train_rows,
        features=list(d.features), target=d.target, starts=splits.starts,
        index=pd.DatetimeIndex(rows.used.index), transform=d.transform, dropped_rows=rows.dropped,
        mode=spec.model.mode, horizon=spec.window.horizon, levels=targets.levels,
        x_scaled=scaled.x_scaled, classes=targets.classes, vocab=scaled.vocab, naive_name=splits.naive_name,
        split_y_scalers=scaled.split_y_scalers,
    )


def _clean(frame: pd.DataFrame, d: DataSpec) -> _Rows:
    """Steps 1 and 2 (inputs): keep the used columns, handle missing values, transform the inputs.

    Infinities count as missing. With "diff" and "pct" the first row is dropped: it has no
    previous row to change from.

    Raises:
        DataError: a column is missing from `frame` or holds no values.
    """
    check_columns(frame, [d.target, *d.features])
    columns = list(dict.fromkeys([*d.features, d.target]))
    for column in columns:
        if frame[column].notna().sum() == 0:
            raise DataError(f"the column {column!r} has no values (all {len(frame)} are missing); pick another column")
    raw = frame[columns].astype(np.float64).replace([np.inf, -np.inf], np.nan)  # an infinity is a missing value
    used = handle_missing(raw, d.missing)
    filled = raw.loc[used.index].isna().any(axis=1).to_numpy()  # rows whose values were filled in, not measured
    x_raw = transforms.inputs(used[d.features], d.transform)
    levels = used[d.target].to_numpy(np.float64)
    dropped = len(frame) - len(used)
    if transforms.get(d.transform).needs_previous:  # the first row has no previous row to change from
        x_raw, levels, used, filled = x_raw[1:], levels[1:], used.iloc[1:], filled[1:]
        dropped += 1
    return _Rows(used, filled, x_raw, levels, dropped)


def _choose_starts(rows: _Rows, image_height: int | None,
                   spec: ExperimentSpec) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Steps 3 and 4: the row each sample's window starts on, and the (train, val, test) counts.

    Drops windows whose targets were filled in (and, with interpolation, whose last input was),
    keeps whole images for an image dataset, every stride-th window counted back from the newest,
    and whole batches for stateful layers.

    Returns:
        (starts, (n_train, n_val, n_test)): starts is (samples,), in chronological order.

    Raises:
        DataError: a split is left without samples (the message names the longest window that fits).
    """
    w, d, mode = spec.window, spec.data, spec.model.mode
    n_rows, length, horizon = len(rows.used), w.length, w.horizon
    candidates = np.arange(max(n_rows - length - horizon + 1, 0))
    filled = rows.filled
    if filled.any():  # filled values may be inputs, never targets; interpolation must not reach past the window
        honest = ~_any_in(filled, _first_target(candidates, length, horizon, mode), output_steps(length, horizon, mode))
        if d.missing == "interpolate":
            honest &= ~filled[candidates + length - 1]
        candidates = candidates[honest]
    if image_height and length == image_height and n_rows:  # an image dataset: a window reads one whole image
        first = (rows.used.index[0] - pd.Timestamp("2000-01-01")).days  # rows are days from 2000-01-01
        candidates = candidates[(first + candidates) % image_height == 0]
    starts = candidates[::-1][::w.stride][::-1]  # every stride-th, counted back from the newest sample
    n_train, n_val, n_test = split_counts(len(starts), spec.split.val, spec.split.test)
    if mode == "stateful" and min(n_train, n_val, n_test) >= 1:
        starts, (n_train, n_val, n_test) = _whole_batches(starts, (n_train, n_val, n_test), spec.train.batch_size)
    if len(starts) < 3 or min(n_train, n_val, n_test) < 1:
        _too_few_windows(n_rows, len(starts), (n_train, n_val, n_test), spec)
    return starts, (n_train, n_val, n_test)


def _too_few_windows(n_rows: int, samples: int, counts: tuple[int, int, int], spec: ExperimentSpec) -> None:
    """Raise the DataError that says a split has no samples, and how long a window would fit."""
    w = spec.window
    n_train, n_val, n_test = counts
    longest = longest_window(n_rows, w.horizon, w.stride, spec.split.val, spec.split.test)
    fits = (f"the longest window that fits is {longest}" if longest else
            "no window fits this split: shrink the val/test split")
    raise DataError(
        f"the data has {n_rows} usable rows, which leaves {samples} windows of length {w.length} "
        f"(horizon {w.horizon}, stride {w.stride}); split into train {max(n_train, 0)}, val {max(n_val, 0)}, "
        f"test {max(n_test, 0)}, each split needs at least one. Shorten the window ({fits}), shrink the "
        "val/test split, lower the stride, or use more data"
    )


def _targets(rows: _Rows, starts: np.ndarray, class_names: list[str] | None, spec: ExperimentSpec) -> _Targets:
    """Step 2 for the targets: what each sample predicts, relative to the window's last step.

    For classification the target column becomes label indices first. Each output step's
    anchor is the window's last step (the step itself less the horizon in many_to_many and
    autoencoder modes).

    Raises:
        DataError: bad class labels, values the transform cannot take, or infinite results.
    """
    d, mode = spec.data, spec.model.mode
    length, horizon = spec.window.length, spec.window.horizon
    levels = rows.levels
    last_rows = starts + length - 1
    target_rows = last_rows + horizon
    outputs, per_step = output_steps(length, horizon, mode), mode in ("many_to_many", "autoencoder")
    first_target = _first_target(starts, length, horizon, mode)  # each sample's targets: outputs rows from here
    classes = None
    if spec.model.task == "classification":
        levels, classes = _labels(levels, class_names, d.target)
    transform = transforms.get(d.transform)
    if transform.check_values is not None:  # each row once, however many samples and steps use it
        transform.check_values(pd.DataFrame({d.target: levels[_covered(first_target, outputs, len(levels))]}))
    if transform.check_anchors is not None:
        anchors = _covered(first_target - horizon, outputs, len(levels)) if per_step else np.unique(last_rows)
        transform.check_anchors(pd.DataFrame({d.target: levels[anchors]}))
    y_raw = _gather_targets(levels, first_target, last_rows, outputs, horizon, per_step, d.transform)
    if not (np.isfinite(rows.x_raw).all() and np.isfinite(y_raw).all()):
        raise DataError(f"the {d.transform} transform produced infinite values (numbers too large for it). Use raw "
                        "values or another transform, or rescale the column")
    return _Targets(levels, classes, y_raw, last_rows, target_rows)


def _first_target(starts: np.ndarray, length: int, horizon: int, mode: str) -> np.ndarray:
    """(samples,) the row of each sample's first target; its targets are the next `output_steps` rows
    (the same rows as `_target_rows`, without an index per step)."""
    return starts + length - 1 + horizon - output_steps(length, horizon, mode) + 1


def _covered(first: np.ndarray, width: int, n: int) -> np.ndarray:
    """(n,) bool: the rows some sample reads, each reading rows [first, first + width)."""
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, first, 1)
    np.add.at(marks, first + width, -1)
    return np.cumsum(marks[:-1]) > 0


def _any_in(flags: np.ndarray, first: np.ndarray, width: int) -> np.ndarray:
    """(samples,) bool: any of flags[first : first + width] is set, by a running count, not a gather."""
    counts = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return counts[first + width] > counts[first]


def _gather_targets(levels: np.ndarray, first_target: np.ndarray, last_rows: np.ndarray, outputs: int,
                    horizon: int, per_step: bool, transform: str) -> np.ndarray:
    """(samples, outputs) transformed targets, with one float64 copy of them and no index arrays.

    In the per-step modes each step's anchor is the row `horizon` before it, so the transform is
    taken once per row and each sample's run of rows is copied out; otherwise the anchor is the
    window's last step. Measured on 500,000 rows, many_to_many, window 60 (229 MB of windows): make()
    peaked at 927 MB with (samples, steps) index arrays and one float64 copy per step; 433 MB now.
    """
    if per_step:
        by_row = transforms.target(levels[horizon:], levels[:len(levels) - horizon], transform)  # row r at r - horizon
        return sliding_window_view(by_row, outputs)[first_target - horizon]
    return transforms.target(sliding_window_view(levels, outputs)[first_target], levels[last_rows][:, None], transform)


_CHUNK = 2 ** 20  # target values scaled at once: 8 MB of float64


def _scale(rows: _Rows, targets: _Targets, n_train: int, spec: ExperimentSpec) -> _Scaled:
    """Step 5: fit the scalers on measured training rows / training targets only, and scale.

    Class labels are not scaled. An embedding's vocabulary is read from the inputs here.

    Raises:
        DataError: the inputs are not embedding tokens, or scaling overflows float32.
    """
    d = spec.data
    x_raw, y_raw = rows.x_raw, targets.y_raw
    train_rows = int(targets.target_rows[n_train - 1]) + 1
    measured = ~rows.filled[:train_rows]  # scalers learn from measured training rows only
    x_scaler = scaler(d.scaler).fit(x_raw[:train_rows][measured] if measured.any() else x_raw[:train_rows])
    y_scaler = scaler("none" if targets.classes else d.scaler).fit(y_raw[:n_train].reshape(-1, 1))  # labels stay labels
    vocab = _vocabulary(x_raw, d.features) if spec.model.embedding_dim else 0
    x_scaled = x_scaler.transform(x_raw).astype(np.float32)
    y_scaled = np.empty(y_raw.shape, dtype=np.float32)
    flat_in, flat_out = y_raw.reshape(-1, 1), y_scaled.reshape(-1, 1)  # views: both are contiguous
    for a in range(0, len(flat_in), _CHUNK):  # in chunks: no float64 copy of every target at once
        flat_out[a:a + _CHUNK] = y_scaler.transform(flat_in[a:a + _CHUNK])
    if spec.model.mode in ("seq2seq", "many_to_many", "autoencoder"):
        y_scaled = y_scaled[:, :, None]  # (samples, steps, 1), one value per output step
    if not (np.isfinite(x_scaled).all() and np.isfinite(y_scaled).all()):
        raise DataError(f"{d.scaler} scaling produced infinite values (numbers too large for it). Use another "
                        "scaler, or rescale the column")
    return _Scaled(x_scaler, y_scaler, x_scaled, y_scaled, train_rows, vocab)


def _leak_later_periods(rows: _Rows, targets: _Targets, scaled: _Scaled, counts: tuple[int, int, int]) -> _Scaled:
    """The "standard-lookahead" leak: re-standardise the validation and the test period, inputs and
    targets, each with its own mean and std, as some tutorials do (they scale the test frame with a
    scaler fitted on it). The model then reads, and is turned back into prices with, the level of
    the period it predicts: the curve hugs the truth for a reason no forecast could have."""
    n_train, n_val, _ = counts
    x_scaled, y_scaled = scaled.x_scaled.copy(), scaled.y_scaled.copy()
    val_end = int(targets.target_rows[n_train + n_val - 1]) + 1
    y_scalers = {}
    for split, (rows_a, rows_b), (a, b) in (("val", (scaled.train_rows, val_end), (n_train, n_train + n_val)),
                                            ("test", (val_end, len(rows.x_raw)), (n_train + n_val, len(y_scaled)))):
        x_scaled[rows_a:rows_b] = scaler("standard").fit_transform(rows.x_raw[rows_a:rows_b])
        y_scalers[split] = scaler("standard").fit(targets.y_raw[a:b].reshape(-1, 1))
        y_scaled[a:b] = y_scalers[split].transform(targets.y_raw[a:b].reshape(-1, 1)).reshape(y_scaled[a:b].shape)
    return scaled._replace(x_scaled=x_scaled.astype(np.float32), y_scaled=y_scaled.astype(np.float32),
                           split_y_scalers=y_scalers)


def _cut(rows: _Rows, targets: _Targets, scaled: _Scaled, starts: np.ndarray,
         counts: tuple[int, int, int], spec: ExperimentSpec) -> _Splits:
    """Cut the per-split arrays and pick the naive baseline.

    X is a strided view of the scaled series when the starts are evenly spaced, else a copy.
    The baseline is persistence, unless the horizon is 0 (see `_horizon0_baseline`).
    """
    n_train, n_val, _ = counts
    length, stride, horizon = spec.window.length, spec.window.stride, spec.window.horizon
    levels, dates_index = targets.levels, rows.used.index
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, len(starts))}
    X, y, dates, truth, naive, split_starts = {}, {}, {}, {}, {}, {}
    regular = bool(np.all(np.diff(starts) == stride))
    for split, (a, b) in bounds.items():
        X[split] = (sliding(scaled.x_scaled, length, int(starts[a]), int(starts[b - 1]) + 1, stride) if regular
                    else sliding(scaled.x_scaled, length)[starts[a:b]])  # gaps left by filled targets: a copy
        y[split] = scaled.y_scaled[a:b]
        dates[split] = pd.DatetimeIndex(dates_index[targets.target_rows[a:b]])
        truth[split] = levels[targets.target_rows[a:b]]
        naive[split] = levels[targets.last_rows[a:b]]
        split_starts[split] = starts[a:b]
    naive_name = "persistence"
    if horizon == 0:  # the target at the window's last step is the answer itself: another baseline
        naive, naive_name = _horizon0_baseline(levels, starts, length, bounds, n_train, spec.model.mode,
                                               targets.classes is not None)
    elif targets.classes:
        naive_name = "last step's class"
    return _Splits(X, y, dates, truth, naive, split_starts, naive_name)


def _labels(values: np.ndarray, names: list[str] | None, target: str) -> tuple[np.ndarray, list[str]]:
    """Class labels in a column -> (label index per row, class names)."""
    if not np.allclose(values, np.round(values)):
        raise DataError(f"classification needs whole-number class labels in {target!r} (e.g. 0/1, or a letter's "
                        "index), but it holds fractions; pick a label column, or use the regression task")
    distinct = np.unique(values)
    if len(distinct) > MAX_CLASSES:
        raise DataError(f"{target!r} holds {len(distinct)} different values; classification handles at most "
                        f"{MAX_CLASSES} classes. Pick a label column, or use the regression task")
    if len(distinct) < 2:
        raise DataError(f"{target!r} holds one class only ({distinct[0]:g}); classification needs at least two")
    whole = [int(round(v)) for v in distinct]
    named = names is not None and all(0 <= v < len(names) for v in whole)
    return (np.searchsorted(distinct, values).astype(np.float64),
            [str(names[v]) if named else str(v) for v in whole])


def _vocabulary(x_raw: np.ndarray, features: list[str]) -> int:
    """An embedding's vocabulary: the input column must hold whole numbers from 0."""
    if not (np.allclose(x_raw, np.round(x_raw)) and x_raw.min() >= 0):
        raise DataError(f"an embedding looks up whole-number tokens from 0, but {features[0]!r} holds other values; "
                        "pick a token column (e.g. letter), or turn the embedding off")
    return int(x_raw.max()) + 1


def _horizon0_baseline(levels, starts, length, bounds, n_train, mode, classify):
    """With horizon 0 the window's last value is the answer, so persistence would be perfect.

    Returns (split -> baseline, name): the mean of the window's target values for the
    autoencoder (a flat reconstruction), else the most common training class (classification)
    or the training targets' mean (regression).
    """
    train_targets = levels[starts[:n_train] + length - 1]
    if mode == "autoencoder":
        csum = np.concatenate([[0.0], np.cumsum(levels)])
        mean = (csum[starts + length] - csum[starts]) / length
        return {s: mean[a:b] for s, (a, b) in bounds.items()}, "window mean"
    if classify:
        value, name = float(np.bincount(train_targets.astype(np.int64)).argmax()), "majority class"
    else:
        value, name = float(np.mean(train_targets)), "training mean"
    return {s: np.full(b - a, value) for s, (a, b) in bounds.items()}, name
