import math

import numpy as np
import pandas as pd
import pytest

from core import data, evaluate, windows

from .conftest import ramp_frame, tiny_spec


def test_metrics_known_values():
    m = evaluate.metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]), last=np.array([90.0, 210.0]), scale=5.0)
    assert math.isclose(m["rmse"], math.sqrt((100 + 400) / 2))
    assert math.isclose(m["mae"], 15.0)
    assert math.isclose(m["mape"], 10.0)  # percent
    assert math.isclose(m["smape"], 100 * (20 / 210 + 40 / 380) / 2)
    assert math.isclose(m["mase"], 3.0)
    assert m["direction"] == 100.0  # up from 90 and predicted up; down from 210 and predicted down


def test_direction_counts_only_predicted_moves_and_persistence_has_none():
    m = evaluate.metrics(np.array([2.0, 0.0, 5.0]), np.array([3.0, 2.0, 5.0]), last=np.array([1.0, 1.0, 5.0]))
    assert math.isclose(m["direction"], 50.0)  # right (up, up), wrong (predicted up, went down); no move: left out
    assert math.isnan(m["mase"])
    assert math.isnan(evaluate.metrics(np.array([1.0]), np.array([1.0]))["direction"])
    persistence = evaluate.metrics(np.array([2.0, 0.0]), np.array([1.0, 1.0]), last=np.array([1.0, 1.0]))
    assert math.isnan(persistence["direction"])


def test_mape_and_smape_are_safe_at_zero():
    m = evaluate.metrics(np.array([0.0, 100.0]), np.array([5.0, 90.0]))
    assert math.isclose(m["mape"], 10.0)
    assert math.isnan(evaluate.metrics(np.zeros(3), np.ones(3))["mape"])
    assert math.isnan(evaluate.metrics(np.zeros(3), np.zeros(3))["smape"])
    assert evaluate.metrics(np.zeros(3), np.ones(3))["smape"] == 200.0


def test_mape_is_left_out_where_percentages_of_the_targets_mean_nothing():
    """A sine wave's targets cross zero: a good forecast gets a huge MAPE. It is NaN there (the table
    shows a dash and says why), and kept for targets that stay away from zero."""
    t = np.linspace(0, 6 * np.pi, 300)
    truth = np.sin(t)
    good = truth + 0.01
    assert evaluate.metrics(truth, good)["rmse"] < 0.02
    assert math.isnan(evaluate.metrics(truth, good)["mape"])  # crosses zero
    near = np.abs(truth) + 1e-3  # one sign, but it comes near zero
    assert math.isnan(evaluate.metrics(near, near + 0.01)["mape"])
    prices = 100 + 10 * np.sin(t)  # far from zero: MAPE is meaningful
    assert math.isclose(evaluate.metrics(prices, prices * 1.02)["mape"], 2.0)
    assert math.isclose(evaluate.metrics(-prices, -prices * 1.02)["mape"], 2.0)  # all negative is fine too


def test_report_shape_for_bare_arrays():
    r = evaluate.report(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    assert r["test"]["rmse"] == 0 and set(r["baselines"]) == {"naive"}
    assert set(r["baselines"]["naive"]) == set(evaluate.METRICS) and r["baselines"]["naive"]["mae"] == 1


def _ramp_windowed(rows=60, **window):
    frame = ramp_frame(rows)
    spec = tiny_spec(data={"target": "Close", "features": ["Close"], "scaler": "none"},
                     window={"length": 5, **window}, split={"val": 10, "test": 10})
    return windows.make(frame, spec)


def test_baselines_on_a_ramp_are_exact_by_hand():
    w = _ramp_windowed()  # Close = row number: the target of a window ending at row r is r + 1
    b = evaluate.baselines(w, "test", season=3, moving_average=4)
    last = w.starts["test"] + 4
    np.testing.assert_allclose(b["naive"], last)
    np.testing.assert_allclose(b["seasonal_naive"], last + 1 - 3)
    np.testing.assert_allclose(b["moving_average"], last - 1.5)  # mean of the last 4 values
    np.testing.assert_allclose(b["linear"], w.truth["test"], atol=1e-6)  # a ramp is linear in its window
    two = _ramp_windowed(horizon=4)
    b = evaluate.baselines(two, "test", season=3, moving_average=50)  # season < horizon: whole seasons back
    last = two.starts["test"] + 4
    np.testing.assert_allclose(b["seasonal_naive"], last + 4 - 6)
    np.testing.assert_allclose(b["moving_average"], last - 2)  # capped at the window's 5 values


def test_linear_baseline_is_fitted_on_training_windows_only():
    w = _ramp_windowed()
    spoiled = windows.Windowed(**{**w.__dict__, "y": {**w.y, "test": w.y["test"] * 0 + 1e6}})
    np.testing.assert_allclose(evaluate.fit_linear(spoiled), evaluate.fit_linear(w))


def test_season_is_detected_from_a_seasonal_series_and_falls_back_to_the_calendar():
    t = np.arange(600)
    levels = 10 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.5, 600)
    assert evaluate.detect_season(levels) == (24, "detected")
    walk = np.cumsum(np.random.default_rng(1).normal(size=600))
    days = pd.bdate_range("2020-01-01", periods=620).delete([5, 30, 77, 200])[:600]  # with holidays, as markets
    assert evaluate.detect_season(walk, days)[0] == 5
    assert evaluate.detect_season(walk, pd.date_range("2020-01-01", periods=600, freq="D"))[0] == 7
    assert evaluate.detect_season(walk, pd.date_range("2020-01-01", periods=600, freq="h"))[0] == 24
    assert evaluate.detect_season(walk, pd.date_range("1700-01-01", periods=600, freq="YS")) == (1, "none found")


def test_lag_scan_finds_plus_one_for_a_model_that_repeats_the_last_value():
    truth = np.cumsum(np.random.default_rng(2).normal(size=300))
    lagged = np.concatenate([[truth[0]], truth[:-1]])  # persistence
    assert evaluate.best_lag(evaluate.lag_scan(truth, lagged)) == 1
    assert evaluate.best_lag(evaluate.lag_scan(truth, truth + 0.01)) == 0
    assert set(evaluate.lag_scan(truth, lagged)) == set(range(-5, 6))
    noise = np.random.default_rng(3).normal(size=300)
    scan = evaluate.lag_scan(truth, noise)
    assert not evaluate.lag_is_clear(scan, evaluate.best_lag(scan))  # unrelated: no lag lines up clearly


@pytest.mark.parametrize("rmse,expected", [
    (0.88, "LSTM beats persistence by 12% RMSE"),
    (1.2, "LSTM does not beat persistence (its RMSE is 20% higher)"),
    (1.001, "LSTM ties with persistence (RMSE within 0.5%)"),
    (32.0, "LSTM does not beat persistence (its RMSE is 32.0× persistence's)"),
])
def test_verdict_in_plain_words(rmse, expected):
    assert evaluate.verdict("LSTM", {"rmse": rmse}, {"rmse": 1.0}) == expected


def test_evaluator_report_has_every_baseline_and_the_lag():
    spec = tiny_spec()
    w = windows.make(data.load(spec.data), spec)
    ev = evaluate.Evaluator(w)
    report = ev.report({"val": w.naive["val"], "test": w.naive["test"]})  # a "model" that is persistence
    assert set(report["baselines"]) == set(evaluate.BASELINES) == set(report["val_baselines"])
    assert report["test"] == report["baselines"]["naive"]
    assert report["lag"] == 1 and report["lag_clear"] and set(report["lag_correlations"]) == {str(k) for k in range(-5, 6)}
    assert 0 < report["up_share"] < 100
    assert report["season"] >= 1 and report["season_how"]
    assert 0 < report["baselines"]["naive"]["mase"] < 5


def test_horizon_0_has_no_direction_or_rise_share_and_names_its_baseline():
    from core import data, windows
    from core.spec import ExperimentSpec

    spec = ExperimentSpec.from_dict({"data": {"source": "synthetic", "name": "waves", "params": {"points": 300},
                                              "target": "cos", "features": ["sin"], "scaler": "none"},
                                     "window": {"length": 10, "horizon": 0}})
    w = windows.make(data.load(spec.data), spec)
    assert w.naive_name == "training mean" and np.allclose(w.naive["test"], w.naive["test"][0])
    report = evaluate.Evaluator(w).report({"val": w.truth["val"] * 0.9, "test": w.truth["test"] * 0.9})
    assert np.isnan(report["test"]["direction"]) and report["up_share"] is None and report["naive_lag"] is None
    assert set(report["baselines"]) == {"naive", "linear"} and report["naive_name"] == "training mean"


def test_the_full_verdict_names_the_best_baseline_and_survives_an_exact_one():
    model = {"rmse": 2.0}
    base = {"naive": {"rmse": 2.5}, "arima": {"rmse": 1.6}, "linear": {"rmse": 3.0}}
    assert evaluate.full_verdict("LSTM", model, base) == (
        "LSTM beats persistence by 20% RMSE; the best baseline, ARIMA, beats it by 20% RMSE")
    assert evaluate.full_verdict("LSTM", model, {**base, "arima": {"rmse": 2.5}}).endswith(
        "beats persistence by 20% RMSE")  # persistence (first) is the best: said once
    assert "predicts these targets exactly" in evaluate.full_verdict("LSTM", model, {**base, "linear": {"rmse": 0.0}})


def test_the_lag_scan_of_a_short_test_split_does_not_fail_the_run():
    """Five test targets (four changes): lags of 4 or 5 have no pairs; before, they crashed every such run."""
    truth = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    scan = evaluate.lag_scan(truth, truth)
    assert scan[0] == pytest.approx(1.0)
    assert all(math.isnan(scan[k]) for k in (-5, -4, 4, 5))


def test_every_baseline_is_explained_in_one_place_and_the_lists_name_ets_and_arima():
    assert set(evaluate.BASELINE_HELP) == set(evaluate.BASELINES)
    notes = evaluate.baseline_notes()
    assert "**ETS**: exponential smoothing" in notes and "**ARIMA**: an autoregressive" in notes
    assert evaluate.baseline_notes({"naive": {}, "ets": {}}).count("\n- ") == 1  # only the ones in the table
    assert "training mean" in evaluate.baseline_notes({"naive": {}}, "training mean")


def _checked(truth, prediction):
    """The lag-and-level sentences for bare arrays, persistence as the naive forecast."""
    naive = np.concatenate([[truth[0]], truth[:-1]])
    numbers = {"test": evaluate.metrics(truth, prediction), "baselines": {"naive": evaluate.metrics(truth, naive)},
               **evaluate.diagnosis(truth, prediction, naive)}
    return evaluate.error_check(numbers)


def test_the_lag_check_tells_a_lag_from_a_level_offset():
    rng = np.random.default_rng(0)
    truth = 100 + np.cumsum(rng.normal(0, 1, 300))
    late = np.concatenate([[truth[0]], truth[:-1]])  # persistence: a lag of +1, no offset
    lag_only = _checked(truth, late)
    assert len(lag_only) == 1 and "one step **earlier**" in lag_only[0] and "mostly repeats" in lag_only[0]
    low = truth - 5 + rng.normal(0, 0.5, 300)  # an offset, no lag
    offset_only = _checked(truth, low)
    assert len(offset_only) == 1 and "on average 5" in offset_only[0] and "below the truth" in offset_only[0]
    both = _checked(truth, late - 5)  # the default run's picture: a lag and a prediction below the truth
    assert len(both) == 2 and "mostly repeats" not in both[0]  # its RMSE is far from persistence's: not persistence
    assert "below the truth" in both[1] and "× persistence's" in both[1]
    noisy = _checked(truth, late + rng.normal(0, 1.0, 300))  # late and scattered: lags, but is not persistence
    assert len(noisy) == 1 and "it is not persistence, though" in noisy[0] and "mostly repeats" not in noisy[0]
    assert _checked(truth, truth + rng.normal(0, 0.05, 300)) == []  # a good forecast: neither


def test_the_verdict_box_follows_the_best_baseline_not_only_persistence():
    sine_to_cosine = {"naive": {"rmse": 0.3}, "linear": {"rmse": 0.0}}  # beats persistence, loses to linear AR
    assert evaluate.outcome({"rmse": 0.1}, sine_to_cosine) == "loses"
    assert evaluate.outcome({"rmse": 0.1}, {"naive": {"rmse": 0.3}, "ets": {"rmse": 0.2}}) == "wins"
    assert evaluate.outcome({"rmse": 0.2005}, {"naive": {"rmse": 0.3}, "ets": {"rmse": 0.2}}) == "ties"
