"""Statistical baselines from statsmodels: exponential smoothing (ETS) and ARIMA.

Both are fitted on the training rows only (their parameters, and the model chosen by AIC over a
small grid), then run over the whole series with those parameters fixed: the Kalman filter reads
each new observation as it comes, and the forecast of a target `horizon` steps ahead uses the
observations up to its origin and nothing after. Nothing is refitted on validation or test values,
and no test value is seen before it is predicted.

The fits are cached on disk per series, training rows, horizon and season ($RNNLAB_STATS_CACHE, by
default `statistical/` in the cache directory of core/tickers.py), so the runs of a sweep or a
backtest on the same data fit once.
"""
from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np

from . import baselines

STATISTICAL = baselines.STATISTICAL  # the registry's statsmodels baselines, e.g. ("ets", "arima")
NAMES = {k: baselines.REGISTRY[k].long_name for k in STATISTICAL}
MAX_FIT_ROWS = 500  # the last training rows the models are fitted on: 1,500 took 3.3 s on the default spec, 500 about 0.8 s
ARIMA_ORDERS = baselines.ARIMABaseline.ORDERS  # part of the cache key
MIN_ROWS = 30  # fewer training rows than this: no statistical baseline


def _ahead(res, series: np.ndarray, start: int, targets: np.ndarray, horizon: int) -> np.ndarray:
    """Forecasts of series[targets], each made `horizon` steps before it with the fitted parameters.

    The model (fitted on series[start:train_end]) filters series[start:] with its parameters
    fixed; the forecast of target r is the state predicted for row r - horizon + 1 from the rows
    before it, carried on horizon - 1 steps with the model's transition."""
    applied = res.apply(series[start:])
    ssm = applied.filter_results
    predicted = np.asarray(ssm.predicted_state)  # (states, rows + 1): the state of row t from rows < t
    T, c = ssm.transition[:, :, 0], ssm.state_intercept[:, 0]
    Z, d = ssm.design[:, :, 0], ssm.obs_intercept[:, 0]
    columns = targets - start - horizon + 1
    if (columns < 0).any():  # an origin before the filtered rows: numpy would wrap to the series' end (a leak)
        raise ValueError("a forecast origin lies before the rows the model was fitted from")
    state = predicted[:, columns]
    for _ in range(horizon - 1):
        state = T @ state + c[:, None]
    return np.asarray(Z @ state + d[:, None])[0]


def _cache_path(series: np.ndarray, train_rows: int, horizon: int, season: int, targets: dict) -> Path:
    from . import tickers

    key = hashlib.sha1(np.ascontiguousarray(series, np.float64).tobytes())
    key.update(repr((train_rows, horizon, season, MAX_FIT_ROWS, ARIMA_ORDERS)).encode())
    for split in sorted(targets):
        key.update(np.ascontiguousarray(targets[split], np.int64).tobytes())
    import os

    folder = os.environ.get("RNNLAB_STATS_CACHE") or tickers.cache_dir() / "statistical"
    return Path(folder) / f"{key.hexdigest()[:24]}.npz"


def forecasts(series: np.ndarray, train_rows: int, targets: dict[str, np.ndarray], horizon: int,
              season: int) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """ETS and ARIMA forecasts of the target rows of each split.

    Args:
        series: (rows,) the target column in original units, all rows.
        train_rows: the leading rows the models may be fitted on (the training targets' rows).
        targets: split -> (samples,) row numbers of the targets to forecast.
        horizon: steps ahead (>= 1): each forecast uses the rows up to its target - horizon.
        season: the season length for ETS (1: none).

    Returns:
        ({"ets": {split: (samples,)}, "arima": {...}}, info) where info holds the chosen models
        and the fitting seconds; a model that cannot be fitted is left out (info says why).
    """
    series = np.asarray(series, np.float64)
    info: dict = {"fit_seconds": 0.0}
    if horizon < 1 or train_rows < MIN_ROWS or not np.isfinite(series).all():
        info["skipped"] = "needs a horizon of 1 or more, at least 30 training rows and no missing values"
        return {}, info
    path = _cache_path(series, train_rows, horizon, season, targets)
    try:
        with np.load(path, allow_pickle=False) as cached:
            out: dict[str, dict[str, np.ndarray]] = {}
            for key in cached.files:
                if key.startswith("info_"):
                    info[key[5:]] = str(cached[key])
                    continue
                name, split = key.split("/")
                out.setdefault(name, {})[split] = cached[key]
            info["cached"] = True
            return out, info
    except Exception:  # noqa: BLE001 - a missing, half-written or damaged cache file: fit again
        pass
    start = max(0, train_rows - MAX_FIT_ROWS)
    y = series[start:train_rows]
    earliest = min((int(np.min(rows)) - horizon + 1 for rows in targets.values() if len(rows)), default=start)
    filter_from = max(0, min(start, earliest))  # the filter may start earlier than the fit (long horizons)
    out = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about convergence and frequencies at length
        for name in STATISTICAL:
            model = baselines.REGISTRY[name]
            res = model.fit_rows(y, season)
            _remember(series, train_rows, season, name, res)
            if res is None:
                info[name] = "could not be fitted"
                continue
            try:
                out[name] = {split: _ahead(res, series, filter_from, np.asarray(rows, int), horizon)
                             for split, rows in targets.items()}
            except (ValueError, IndexError, np.linalg.LinAlgError) as exc:
                info[name] = f"could not forecast ({exc.__class__.__name__})"
                continue
            info[name] = model.describe(res)
    info["fit_seconds"] = time.perf_counter() - t0
    if any(not np.isfinite(v).all() for model in out.values() for v in model.values()):
        out = {k: v for k, v in out.items() if all(np.isfinite(a).all() for a in v.values())}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{name}/{split}": a for name, model in out.items() for split, a in model.items()}
        arrays.update({f"info_{k}": np.asarray(str(v)) for k, v in info.items() if k in STATISTICAL})
        import os
        import uuid

        tmp = path.with_name(f"{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.npz")  # no two writers share it
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache: fit again next time
    return out, info


_FITTED: dict[tuple, dict] = {}  # the fits of this process's latest series (for by_step after forecasts)


def _fit_key(series: np.ndarray, train_rows: int, season: int) -> tuple:
    return hashlib.sha1(np.ascontiguousarray(series, np.float64).tobytes()).hexdigest(), train_rows, season


def _remember(series, train_rows, season, name, res) -> None:
    """Keep the fit for `by_step` (the last two series only: a fit holds its filtered arrays)."""
    key = _fit_key(series, train_rows, season)
    if key not in _FITTED and len(_FITTED) >= 2:
        _FITTED.pop(next(iter(_FITTED)))
    _FITTED.setdefault(key, {})[name] = res


def by_step(series: np.ndarray, train_rows: int, origins: np.ndarray, steps: int, season: int
            ) -> dict[str, np.ndarray]:
    """name -> (origins, steps) forecasts of series[origin + k], k = 1..steps, each from the rows up to
    its origin, with the models fitted as `forecasts` fits them (reused when it fitted them in this
    process, else fitted here). A model that cannot be fitted or forecast is left out."""
    series, origins = np.asarray(series, np.float64), np.asarray(origins, int)
    if steps < 1 or train_rows < MIN_ROWS or not np.isfinite(series).all() or not len(origins):
        return {}
    path = _cache_path(series, train_rows, -steps, season, {"origins": origins})  # horizon -steps: by_step's
    try:
        with np.load(path, allow_pickle=False) as cached:
            return {name: cached[name] for name in cached.files}
    except Exception:  # noqa: BLE001 - missing or damaged: compute
        pass
    start = max(0, train_rows - MAX_FIT_ROWS)
    filter_from = max(0, min(start, int(origins.min()) + 1))
    fitted = _FITTED.get(_fit_key(series, train_rows, season), {})
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in STATISTICAL:
            res = fitted[name] if name in fitted else baselines.REGISTRY[name].fit_rows(series[start:train_rows], season)
            if res is None:
                continue
            try:
                values = _ahead_steps(res, series, filter_from, origins, steps)
            except (ValueError, IndexError, np.linalg.LinAlgError):
                continue
            if np.isfinite(values).all():
                out[name] = values
    _save(path, out)
    return out


def _save(path: Path, arrays: dict) -> None:
    """Write `arrays` to the cache file `path` in one step (no two writers share a temporary file)."""
    import os
    import uuid

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache: compute again next time


def _ahead_steps(res, series: np.ndarray, start: int, origins: np.ndarray, steps: int) -> np.ndarray:
    """(origins, steps): as `_ahead` for targets origin + 1 .. origin + steps, from one filtering pass."""
    ssm = res.apply(series[start:]).filter_results
    predicted = np.asarray(ssm.predicted_state)
    T, c = ssm.transition[:, :, 0], ssm.state_intercept[:, 0]
    Z, d = ssm.design[:, :, 0], ssm.obs_intercept[:, 0]
    columns = origins - start + 1  # the state of row origin + 1 predicted from the rows up to the origin
    if (columns < 1).any():
        raise ValueError("a forecast origin lies before the rows the model was fitted from")
    state, out = predicted[:, columns], np.empty((len(origins), steps))
    for k in range(steps):
        out[:, k] = np.asarray(Z @ state + d[:, None])[0]
        state = T @ state + c[:, None]
    return out
