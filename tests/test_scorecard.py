"""Issue 25's scorecard: adaptive intervals, scores per horizon and against a coin (core/intervals.py,
core/scores.py), and what a trained run's metrics.json holds of them."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from core import baselines, intervals, scores, statistical


def test_aci_follows_a_worked_example_of_the_update_by_hand():
    # alpha = 0.2, gamma = 0.05, 9 validation errors 1..9 (the error sizes are the 9 most recent known).
    # t=0: k = ceil(10 * 0.8) = 8 -> q 8; error 5 is a hit.  t=1: alpha 0.21, pool 2..9 + 5 -> 8th = 8; 10 misses.
    # t=2: alpha 0.17, pool 3..9, 5, 10 -> 9th = 10; a hit.  t=3: alpha 0.18, pool 4..9, 5, 10, 10 -> 9th = 10.
    q = intervals.aci(np.arange(1, 10), np.array([5.0, 10, 10, 1]), 80, delay=1, gamma=0.05)
    np.testing.assert_array_equal(q, [8, 8, 10, 10])
    # With a delay of 2 (a 2-step horizon) target 0's hit is first used at target 2: alpha stays 0.2 until then.
    q2 = intervals.aci(np.arange(1, 10), np.array([5.0, 10, 10, 1]), 80, delay=2, gamma=0.05)
    assert q2[1] == 8 and q2[2] == 8  # pool 2..9 + 5 at alpha 0.21: the 8th smallest


@pytest.mark.parametrize("seed", [0, 1])
def test_after_a_variance_break_split_under_covers_and_aci_recovers(seed):
    rng = np.random.default_rng(seed)
    val = rng.normal(0, 1, 300)
    test = np.concatenate([rng.normal(0, 1, 50), rng.normal(0, 3, 450)])  # the noise triples at target 50
    zeros = {"val": np.zeros(300), "test": np.zeros(500)}
    bands = intervals.methods({"val": val, "test": test}, zeros, zeros)  # known values all 0: scaled = split
    lower, upper = bands["split"][80]
    split_after = intervals.coverage(test[50:], lower[50:], upper[50:])
    assert split_after < 80 - 20  # measured 26-34%
    lower, upper = bands["aci"][80]
    assert abs(intervals.coverage(test[250:], lower[250:], upper[250:]) - 80) <= 5


def _garch_like(rng, n):
    """Returns whose volatility clusters (GARCH(1, 1): omega 0.05, alpha 0.1, beta 0.85)."""
    r, var = np.empty(n), 1.0
    for t in range(n):
        r[t] = rng.normal(0, math.sqrt(var))
        var = 0.05 + 0.1 * r[t] ** 2 + 0.85 * var
    return r


def test_scaled_bands_are_narrow_when_calm_wide_when_volatile_and_cover_every_tercile_more_evenly():
    rng = np.random.default_rng(3)
    levels = 100 + np.cumsum(_garch_like(rng, 3001))
    truth, known = levels[1:], levels[:-1]  # persistence: the prediction is the value known at the origin
    cut = 1500
    split = lambda a: {"val": a[:cut], "test": a[cut:]}  # noqa: E731
    bands = intervals.methods(split(truth), split(known), split(known))
    vol = intervals.volatility(known)[cut:]
    summary, terciles = intervals.summarise(truth[cut:], bands, vol)
    width = bands["scaled"][80][1] - bands["scaled"][80][0]
    calm, volatile = vol <= np.quantile(vol, 1 / 3), vol >= np.quantile(vol, 2 / 3)
    split_width = summary["split"]["80"]["width"]
    assert width[calm].mean() < split_width < width[volatile].mean()
    off = {m: max(abs(c - 80) for c in terciles[m]["80"]) for m in ("split", "scaled")}
    assert off["scaled"] < off["split"]
    assert summary["scaled"]["80"]["winkler"] < summary["split"]["80"]["winkler"]


def test_winkler_is_the_width_plus_two_over_alpha_times_the_miss():
    truth, lower, upper = np.array([0.0, 5, -2]), np.array([-1.0, -1, -1]), np.array([1.0, 1, 1])
    # widths 2 each; misses: 0, 4 above, 1 below; a = 0.2 -> 2 / a = 10
    assert intervals.winkler(truth, lower, upper, 80) == pytest.approx((2 + 2 + 40 + 2 + 10) / 3)


def test_direction_p_values_say_53_percent_of_500_is_what_a_coin_does():
    last = np.zeros(500)
    truth = np.where(np.arange(500) % 2 == 0, 1.0, -1.0)  # half rises
    prediction = truth.copy()
    prediction[265:] *= -1  # right on 265 of 500: 53%
    found = scores.direction_test(truth, prediction, last)
    exact = sum(math.comb(500, i) for i in range(265, 501)) / 2 ** 500
    assert found["hits"] == 265 and found["moves"] == 500
    assert found["p_coin"] == pytest.approx(exact, rel=1e-9) and 0.05 < found["p_coin"] < 0.15
    up = np.where(np.arange(500) < 350, 1.0, -1.0)  # 70% rises: always-up is right 70% of the time
    assert scores.direction_test(up, np.ones(500), last)["p_rises"] == pytest.approx(0.5, abs=0.05)
    assert scores.direction_test(up, np.ones(500), last)["p_coin"] < 1e-10  # the trend, not skill


def test_owa_is_one_for_persistence_and_averages_the_two_ratios():
    naive = {"smape": 2.0, "mase": 1.0}
    assert scores.owa(naive, naive) == 1.0
    assert scores.owa({"smape": 1.0, "mase": 1.5}, naive) == pytest.approx(1.0)
    assert math.isnan(scores.owa({"smape": 1.0, "mase": math.nan}, naive))


def test_per_horizon_mase_of_persistence_is_one_on_a_random_walk(monkeypatch):
    rng = np.random.default_rng(0)
    levels = np.cumsum(rng.normal(0, 1, 6000))
    w = SimpleNamespace(levels=levels, train_rows=3000, mode="many_to_one", horizon=1, input_shape=(10, 1),
                        x_scaled=levels[:, None], classes=None)
    monkeypatch.setattr(statistical, "by_step", lambda *a, **k: {})  # the statistical ones are tested elsewhere
    origins = np.arange(3000, 5980)
    steps = 5
    truth = levels[origins[:, None] + np.arange(1, steps + 1)[None, :]]
    rows = scores.by_horizon(w, truth, truth, origins, season=7, moving_average=5)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    for row in rows:
        assert row["baselines"][baselines.PERSISTENCE]["mase"] == pytest.approx(1.0, abs=0.1)
        assert row["model"]["mase"] == 0.0  # the model here is the truth
        assert set(row["baselines"]) == {"naive", "seasonal_naive", "moving_average", "linear"}


def test_statistical_by_step_matches_the_one_horizon_forecasts():
    rng = np.random.default_rng(1)
    series = 50 + np.cumsum(rng.normal(0, 1, 260))
    origins = np.arange(200, 250)
    one, _ = statistical.forecasts(series, 200, {"test": origins + 1}, 1, 1)  # fits, and keeps the fits
    steps = statistical.by_step(series, 200, origins, 3, 1)  # reuses them: no second fit
    fits = statistical._FITTED[statistical._fit_key(series, 200, 1)]
    for name in statistical.STATISTICAL:
        np.testing.assert_allclose(steps[name][:, 0], one[name]["test"], rtol=1e-6)
        three = statistical._ahead(fits[name], series, 0, origins + 3, 3)  # the one-horizon path at k = 3
        np.testing.assert_allclose(steps[name][:, 2], three, rtol=1e-6)


def test_a_trained_run_writes_the_scorecard_into_metrics_json(trained_run):
    metrics = json.loads((trained_run[0] / "metrics.json").read_text())
    assert set(metrics["interval_methods"]) == {"split", "aci", "scaled"}
    for method in metrics["interval_methods"].values():
        assert set(method) == {"80", "95"} and set(method["80"]) == {"coverage", "width", "winkler"}
    assert metrics["interval_methods"]["split"]["80"]["coverage"] == metrics["intervals"]["80"]["coverage"]
    assert metrics["direction_test"]["moves"] > 0 and 0 <= metrics["direction_test"]["p_coin"] <= 1
    assert metrics["owa"] > 0
    if len(metrics.get("test_by_step") or []) >= 2:
        assert len(metrics["by_horizon"]) == len(metrics["test_by_step"])
        assert set(metrics["by_horizon"][0]["baselines"]) >= {"naive", "ets", "arima"}


def test_damaged_scorecard_entries_in_metrics_json_are_skipped_not_shown():
    from ui import scorecard_views

    damaged = {"owa": "x", "direction_test": {"moves": "a", "hits": 1, "p_coin": 0.1},
               "interval_methods": {"split": "x", "aci": {"80": [1]}}, "interval_terciles": 3, "by_horizon": [5]}
    assert scorecard_views.verdict_notes(damaged) == ""
    assert scorecard_views.interval_table(damaged) is None
    assert scorecard_views.horizon_table(damaged) is None
