"""core/intervals.py: split-conformal bands whose test coverage matches their level."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import intervals, training, windows
from core.spec import ExperimentSpec


def test_the_conformal_quantile_is_the_ceil_n_plus_1_order_statistic():
    errors = np.arange(1, 20, dtype=float)  # 19 errors: 1..19
    assert intervals.quantile(errors, 80) == 16.0  # ceil(20 * 0.8) = 16th smallest
    assert intervals.quantile(errors, 95) == 19.0  # ceil(20 * 0.95) = 19th
    assert intervals.quantile(errors[:10], 95) == math.inf  # too few errors for 95%: no finite band


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bands_from_gaussian_errors_cover_their_level_on_new_data(seed):
    rng = np.random.default_rng(seed)
    signal = np.sin(np.arange(1200) / 7)
    truth = {"val": signal[:600] + rng.normal(0, 0.3, 600), "test": signal[600:] + rng.normal(0, 0.3, 600)}
    predictions = {"val": signal[:600], "test": signal[600:]}  # a model that knows the signal, not the noise
    columns, summary = intervals.for_splits(truth, predictions)
    assert abs(summary["80"]["coverage"] - 80) < 6 and abs(summary["95"]["coverage"] - 95) < 3.5  # fixed seeds
    assert summary["80"]["width"] == pytest.approx(2 * 1.2816 * 0.3, rel=0.12)  # 2 * z_0.9 * sigma
    assert np.all(columns["lower_95"]["test"] <= columns["lower_80"]["test"])
    broken = {"val": truth["val"], "test": truth["test"] * 1.5}  # the test period no longer behaves like val
    assert intervals.for_splits(broken, predictions)[1]["80"]["coverage"] < 50  # measured, not assumed


def test_a_trained_run_writes_bands_whose_coverage_is_measured_on_the_test_targets(run_store):
    rng = np.random.default_rng(3)
    n = 900
    frame = pd.DataFrame({"value": 10 * np.sin(np.arange(n) * 2 * np.pi / 25) + rng.normal(0, 1.0, n)},
                         index=pd.date_range("2020-01-01", periods=n, freq="D", name="date"))
    spec = ExperimentSpec.from_dict({"data": {"source": "csv", "path": "x.csv", "target": "value",
                                              "features": ["value"]},
                                     "window": {"length": 25, "forecast_steps": 5},
                                     "model": {"units": [16]}, "train": {"epochs": 12, "learning_rate": 0.01}})
    w = windows.make(frame, spec)
    snap = training.TrainingJob(spec, w, run_dir=run_store / "bands").run()
    summary = snap.metrics["intervals"]
    saved = pd.read_csv(run_store / "bands" / "predictions.csv")
    test = saved[saved["split"] == "test"]
    held = 100 * np.mean((test["truth"] >= test["lower_80"]) & (test["truth"] <= test["upper_80"]))
    assert summary["80"]["coverage"] == pytest.approx(held)  # metrics.json says what predictions.csv shows
    assert abs(summary["80"]["coverage"] - 80) < 12 and abs(summary["95"]["coverage"] - 95) < 8
    forecast = pd.read_csv(run_store / "bands" / "forecast.csv")
    assert list(forecast.columns) == ["date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (forecast["upper_95"] >= forecast["upper_80"]).all() and (forecast["upper_80"] > forecast["forecast"]).all()


def test_too_few_validation_errors_give_no_band_and_no_claimed_coverage():
    truth = {"val": np.arange(10.0), "test": np.arange(10.0)}
    _, summary = intervals.for_splits(truth, {"val": truth["val"] + 0.5, "test": truth["test"] + 0.5})
    assert math.isnan(summary["95"]["coverage"]) and math.isnan(summary["95"]["width"])  # 10 errors: no 95% band
    assert summary["80"]["coverage"] == 100.0  # 10 errors are enough for 80%
    stored = {"80": {"coverage": 100.0, "width": 1.0}, "95": {"coverage": None, "width": None}}  # null in metrics.json
    assert intervals.sentence(stored) == "The 80% band held 100% of the test values (width 1)."
