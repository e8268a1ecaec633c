"""core/statistical.py: ETS and ARIMA baselines fitted on the training rows, forecasting each target
from the rows before its origin only."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import evaluate, statistical, windows
from core.spec import ExperimentSpec


def _windowed(values: np.ndarray, horizon: int = 1, length: int = 14):
    frame = pd.DataFrame({"value": values}, index=pd.date_range("2020-01-01", periods=len(values), freq="D",
                                                                 name="date"))
    spec = ExperimentSpec.from_dict({"data": {"source": "csv", "path": "x.csv", "target": "value",
                                              "features": ["value"]},
                                     "window": {"length": length, "horizon": horizon}})
    return windows.make(frame, spec)


def test_on_a_seasonal_series_ets_beats_persistence():
    t = np.arange(700)
    rng = np.random.default_rng(0)
    w = _windowed(50 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, len(t)))
    ev = evaluate.Evaluator(w, season=7)
    report = ev.report({s: w.naive[s] for s in ("val", "test")})
    test = report["baselines"]
    assert {"ets", "arima"} <= set(test)
    assert test["ets"]["rmse"] < 0.5 * test["naive"]["rmse"]  # the season is learnt, persistence lags it
    assert "season 7" in report["statistical"]["ets"]
    assert "ETS" in evaluate.full_verdict("LSTM", report["test"], test)  # the verdict names the best baseline


def test_on_a_random_walk_nothing_beats_persistence():
    rng = np.random.default_rng(1)
    w = _windowed(1000 + np.cumsum(rng.normal(0, 1, 1500)))
    report = evaluate.Evaluator(w).report({s: w.naive[s] for s in ("val", "test")})
    naive = report["baselines"]["naive"]["rmse"]
    for name in ("ets", "arima"):
        assert report["baselines"][name]["rmse"] >= 0.98 * naive, name  # at best a tie


def test_no_forecast_sees_a_value_after_its_origin_and_nothing_is_refitted_on_later_values():
    rng = np.random.default_rng(2)
    series = 100 + np.cumsum(rng.normal(0, 1, 400)) + 5 * np.sin(np.arange(400) / 3)
    train_rows, horizon = 250, 3
    targets = {"test": np.arange(300, 400)}
    base, _ = statistical.forecasts(series, train_rows, targets, horizon, 7)
    changed = series.copy()
    changed[330:] += 1000  # everything from row 330 on is different
    after, _ = statistical.forecasts(changed, train_rows, targets, horizon, 7)
    origin = targets["test"] - horizon  # the last row each forecast may use
    unseen = origin < 330
    for name in ("ets", "arima"):
        assert np.array_equal(base[name]["test"][unseen], after[name]["test"][unseen]), name
        assert not np.allclose(base[name]["test"][~unseen], after[name]["test"][~unseen]), name  # it does read them
    early = series.copy()
    early[:train_rows] += rng.normal(0, 1, train_rows)  # the training rows do decide the fitted parameters
    refit, _ = statistical.forecasts(early, train_rows, targets, horizon, 7)
    assert not np.allclose(refit["arima"]["test"], base["arima"]["test"])


def test_the_fits_are_cached_per_series_and_split():
    series = 10 + np.sin(np.arange(300) / 5)
    first, info = statistical.forecasts(series, 200, {"val": np.arange(200, 250)}, 1, 1)
    again, cached = statistical.forecasts(series, 200, {"val": np.arange(200, 250)}, 1, 1)
    assert cached.get("cached") and not info.get("cached")
    assert all(np.array_equal(first[k]["val"], again[k]["val"]) for k in first)


def test_a_horizon_longer_than_the_fitted_rows_still_forecasts_from_before_each_origin():
    rng = np.random.default_rng(4)
    series = 50 + np.cumsum(rng.normal(0, 1, 1400))
    targets = {"test": np.arange(1300, 1400)}
    base, info = statistical.forecasts(series, 700, targets, 600, 1)  # origins 700..799: before the fitted rows' end
    changed = series.copy()
    changed[800:] += 500  # after every origin
    after, _ = statistical.forecasts(changed, 700, targets, 600, 1)
    for name in base:
        assert np.array_equal(base[name]["test"], after[name]["test"]), name  # no wrapped index reads the future
