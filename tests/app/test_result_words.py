"""Words for the numbers on Train: the verdict's box follows the whole verdict, and every baseline
the table names is explained next to it."""
from __future__ import annotations

from core import evaluate

from ..conftest import tiny_spec
from .helpers import button, new_app, poll, session_run


def test_the_verdict_box_is_green_only_when_the_model_beats_every_baseline():
    at = new_app(tiny_spec(train={"epochs": 1}))  # one epoch: linear AR beats it, though it may beat persistence
    at.run()
    button(at, "Train").click().run()
    poll(at, lambda a: not session_run(a).running, timeout=300)  # a loaded 2-core box: ETS and ARIMA too
    at.run()
    metrics = session_run(at).snapshot().metrics
    verdict = [m for m in [*at.success, *at.info, *at.warning] if m.value.startswith("On the test targets")]
    assert len(verdict) == 1
    kind = {"wins": "success", "ties": "info", "loses": "warning"}[evaluate.outcome(metrics["test"], metrics["baselines"])]
    assert verdict[0] in getattr(at, kind)
    notes = next(m.value for m in at.markdown if "**linear AR**:" in m.value)
    assert "**ETS**:" in notes and "**ARIMA**:" in notes


def test_the_metrics_table_fits_a_narrow_page_with_short_rows_and_compact_numbers():
    """Issue 22 at 800 px: four significant digits, short row names (the long ones under the table),
    MSE last so a narrow page scrolls off the column RMSE already says."""
    from ui import views

    assert [views.compact(v) for v in (26379.865, 162.419, 19.958, 0.5331, float("nan"))] == [
        "26,380", "162.4", "19.96", "0.533", "–"]
    m = {"rmse": 2.0, "mse": 4.0, "mae": 1.0}
    metrics = {"test": m, "baselines": {"naive": m, "seasonal_naive": m}, "season": 5, "season_how": "calendar"}
    table = views.metrics_frame(metrics, "test", "LSTM (epoch 3)")
    assert list(table.index) == ["LSTM (epoch 3)", "persistence", "seasonal naive (5)"]
    assert list(table.columns) == ["RMSE", "MAE", "MSE"]
    assert list(table.attrs["long_names"].values()) == ["persistence (tomorrow = today)",
                                                        "seasonal naive (5 steps, calendar)"]


def test_the_lag_and_level_box_reads_as_sentences():
    """The box said "The model its predictions sit on average ..." (error_check's sentences start with "its")."""
    from ui import views

    both = {"test": {"rmse": 10.0}, "baselines": {"naive": {"rmse": 1.0}}, "lag": 1, "lag_clear": True,
            "naive_lag": 1, "bias": -5.0, "error_spread": 1.0}
    words = views.lag_level_words(evaluate.error_check(both))
    assert "model its" not in words.lower()
    assert "(1) Its moves line up" in words and "(2) Its predictions sit on average 5 below" in words
    one = views.lag_level_words(evaluate.error_check({**both, "lag": 0}))
    assert one.startswith("Lag and level check: Its predictions sit")
