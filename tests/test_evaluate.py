import math

import numpy as np

from core import evaluate


def test_metrics_known_values():
    m = evaluate.metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert math.isclose(m["rmse"], math.sqrt((100 + 400) / 2))
    assert math.isclose(m["mae"], 15.0)
    assert math.isclose(m["mape"], 10.0)  # percent


def test_mape_skips_zero_targets():
    m = evaluate.metrics(np.array([0.0, 100.0]), np.array([5.0, 90.0]))
    assert math.isclose(m["mape"], 10.0)
    assert math.isnan(evaluate.metrics(np.zeros(3), np.ones(3))["mape"])


def test_report_shape():
    r = evaluate.report(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    assert r["test"]["rmse"] == 0 and set(r["baselines"]) == {"naive"}
    assert set(r["baselines"]["naive"]) == {"rmse", "mae", "mape"} and r["baselines"]["naive"]["mae"] == 1
