"""Forecasts past the end of the data, and test error by horizon step.

Two ways to look several steps ahead:
- direct (modes direct and seq2seq): one prediction gives all `horizon` steps at once.
- recursive (one-step models: many_to_one, many_to_many and stateful with horizon 1): predict
  the next value, append it to the window as if it had been observed, and repeat. Errors feed
  back in, so they pile up step by step; `by_step` shows how fast.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import intervals
from .evaluate import metrics
from .spec import ExperimentSpec
from .windows import Windowed

MAX_WINDOWS = 256  # test windows rolled forward for the by-step errors (evenly spaced): about 0.5 s


def kind(spec: ExperimentSpec) -> tuple[str | None, str]:
    """("direct" | "recursive" | None, why not when None)."""
    if spec.model.task == "classification":
        return None, "a classifier labels windows; it does not forecast values past the data"
    if spec.model.mode == "autoencoder":
        return None, "an autoencoder rebuilds the windows it reads; it does not forecast past the data"
    if spec.window.horizon == 0:
        return None, "with horizon 0 the model maps each window to its own steps; there is nothing ahead to forecast"
    if spec.model.mode in ("direct", "seq2seq"):
        return "direct", ""
    if spec.window.horizon != 1:
        return None, ("recursive forecasting feeds one-step predictions back in: set the horizon to 1, or use "
                      "the direct or seq2seq mode")
    if list(spec.data.features) != [spec.data.target]:
        return None, ("recursive forecasting feeds predictions back in as inputs, so the target must be the only "
                      "input feature; use the direct or seq2seq mode for several inputs")
    return "recursive", ""


def steps(spec: ExperimentSpec) -> int:
    return spec.window.horizon if spec.model.mode in ("direct", "seq2seq") else spec.window.forecast_steps


def predict(net, X: np.ndarray, spec: ExperimentSpec) -> np.ndarray:
    """Predict any mode; a stateful model starts from reset states and gets whole batches."""
    X = np.asarray(X, dtype=np.float32)
    if spec.model.mode != "stateful":
        return np.asarray(net.predict_on_batch(X) if len(X) <= 4096 else net.predict(X, batch_size=4096, verbose=0))
    batch = spec.train.batch_size
    reset_states(net)
    pad = (-len(X)) % batch
    padded = np.concatenate([X, np.repeat(X[-1:], pad, axis=0)]) if pad else X
    out = np.asarray(net.predict(padded, batch_size=batch, verbose=0))
    reset_states(net)
    return out[: len(X)]


def reset_states(net) -> None:
    for layer in net.layers:
        inner = getattr(layer, "forward_layer", layer)
        if getattr(inner, "stateful", False):
            inner.reset_states()


def _roll(net, w: Windowed, spec: ExperimentSpec, windows: np.ndarray, last_levels: np.ndarray, n: int) -> np.ndarray:
    """Recursive forecasts: (windows, n) levels, each step predicted from the steps before it."""
    windows = np.array(windows, dtype=np.float32, copy=True)
    previous = np.asarray(last_levels, dtype=np.float64)
    out = np.empty((len(windows), n))
    for k in range(n):
        scaled = predict(net, windows, spec).reshape(len(windows), -1)[:, -1]
        level = w.to_levels(scaled, previous)[:, 0]
        out[:, k] = level
        new = w.scaled_inputs(level, previous)
        windows = np.concatenate([windows[:, 1:, :], new[:, None, None]], axis=1)
        previous = level
    return out


def future(net, w: Windowed, spec: ExperimentSpec) -> pd.DataFrame | None:
    """The forecast past the last date: columns date, forecast. None when the mode cannot forecast."""
    how, _ = kind(spec)
    if how is None:
        return None
    length, n = w.input_shape[0], steps(spec)
    last_window = w.x_scaled[-length:][None, :, :]
    anchor = w.levels[-1:]
    if how == "direct":
        values = w.to_levels(predict(net, last_window, spec), anchor)[0]
    else:
        values = _roll(net, w, spec, last_window, anchor, n)[0]
    return pd.DataFrame({"date": future_dates(w.index, len(values)), "forecast": values})


def future_dates(index: pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    """n dates after the index, at its frequency (inferred; business days for trading days)."""
    recent = index[-60:]
    freq = pd.infer_freq(recent) if len(recent) >= 3 else None
    if freq is None:
        gaps = pd.Series(recent).diff().dropna()
        weekdays_only = len(recent) > 10 and (recent.dayofweek < 5).all() and gaps.median() == pd.Timedelta(days=1)
        freq = "B" if weekdays_only else (gaps.median() if len(gaps) else pd.Timedelta(days=1))
    return pd.date_range(index[-1], periods=n + 1, freq=freq)[1:]


def step_forecasts(net, w: Windowed, spec: ExperimentSpec, split: str):
    """(truth, forecast, naive, origins) for up to MAX_WINDOWS windows of `split`: (windows, steps) levels
    of the steps 1..n after each window, the model's forecast of them, the window's last value and its row;
    None when the mode cannot forecast or no window has n steps after it."""
    how, _ = kind(spec)
    if how is None:
        return None
    n, length = steps(spec), w.input_shape[0]
    last = w.starts[split] + length - 1
    # The known steps after a window must exist, and for the validation windows (which calibrate the
    # forecast's bands) lie before the first test target: calibration never reads the test period.
    end = len(w.levels) if split == "test" else int(w.starts["test"][0] + length - 1 + max(w.horizon, 1))
    usable = np.flatnonzero(last + n < end)
    if len(usable) == 0:
        return None
    pick = usable[np.unique(np.linspace(0, len(usable) - 1, min(MAX_WINDOWS, len(usable))).round().astype(int))]
    truth = w.levels[last[pick][:, None] + np.arange(1, n + 1)[None, :]]
    naive = w.levels[last[pick]]
    X = np.asarray(w.X[split])[pick]
    if how == "direct":
        forecast = w.to_levels(predict(net, X, spec), naive)
    else:
        forecast = _roll(net, w, spec, X, naive, n)
    return truth, forecast, naive, last[pick]


def by_step(net, w: Windowed, spec: ExperimentSpec, found=None) -> pd.DataFrame | None:
    """Test error for each step ahead, with persistence's on the same targets.

    Columns: step, rmse, mae, naive_rmse, windows. None when the mode cannot forecast.
    `found`: step_forecasts(net, w, spec, "test") when the caller has it already.
    """
    found = step_forecasts(net, w, spec, "test") if found is None else found
    if found is None:
        return None
    truth, forecast, naive, _ = found
    rows = []
    for k in range(truth.shape[1]):
        model, base = metrics(truth[:, k], forecast[:, k]), metrics(truth[:, k], naive)
        rows.append({"step": k + 1, "rmse": model["rmse"], "mae": model["mae"], "naive_rmse": base["rmse"],
                     "windows": len(truth)})
    return pd.DataFrame(rows)


def with_bands(future_frame: pd.DataFrame | None, net, w: Windowed, spec: ExperimentSpec) -> pd.DataFrame | None:
    """The forecast with conformal bands per step ahead (lower_80, upper_80, lower_95, upper_95):
    step k's error size comes from the validation windows' errors k steps after them."""
    if future_frame is None:
        return None
    found = step_forecasts(net, w, spec, "val")
    if found is None:
        return future_frame
    truth, forecast, _, _ = found
    errors = np.abs(truth - forecast)
    out = future_frame.copy()
    values = out["forecast"].to_numpy(float)
    for level in intervals.LEVELS:
        q = np.array([intervals.quantile(errors[:, k], level) for k in range(min(len(values), errors.shape[1]))])
        q = np.pad(q, (0, len(values) - len(q)), constant_values=np.nan)
        out[f"lower_{level}"], out[f"upper_{level}"] = values - q, values + q
    return out
