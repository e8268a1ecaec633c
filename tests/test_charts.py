import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core import charts


def _frame(n: int, with_predictions: bool = True) -> pd.DataFrame:
    half = n // 2
    return pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=n, freq="D"),
        "split": ["val"] * half + ["test"] * (n - half),
        "truth": np.arange(n, dtype=float), "prediction": np.arange(n) + 0.5 if with_predictions else np.nan,
        "naive": np.arange(n) - 1.0,
    })


def test_loss_figure_has_train_and_validation_per_epoch():
    fig = charts.loss_figure({"loss": [0.3, 0.2, 0.1], "val_loss": [0.4, 0.3, 0.25]})
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert list(fig.data[0].x) == [1, 2, 3] and np.allclose(fig.data[1].y, [0.4, 0.3, 0.25])
    assert fig.layout.yaxis.type == "linear"
    assert charts.loss_figure({"loss": [1.0], "val_loss": [1.0]}, log_y=True).layout.yaxis.type == "log"


def test_empty_loss_figure_says_so():
    fig = charts.loss_figure({"loss": [], "val_loss": []})
    assert fig.layout.annotations[0].text == "No completed epoch yet"


def test_prediction_figure_traces_and_baseline_label():
    fig = charts.prediction_figure(_frame(100), "Close", horizon=5)
    assert [t.name for t in fig.data] == ["truth", "model", "persistence (5 steps ahead = today)"]
    assert fig.data[2].visible is None  # drawn: the verdict is against it, so it is on the chart from the start
    assert all(isinstance(t, go.Scatter) for t in fig.data)
    assert charts.naive_label(1) == "persistence (tomorrow = today)"


def test_prediction_figure_without_predictions_has_no_model_trace():
    assert "model" not in [t.name for t in charts.prediction_figure(_frame(10, with_predictions=False)).data]


def test_long_series_are_downsampled_and_drawn_in_svg():
    fig = charts.prediction_figure(_frame(10_000))
    assert not any(isinstance(t, go.Scattergl) for t in fig.data)  # WebGL redraws cost more without a GPU
    assert all(len(t.x) <= charts.MAX_POINTS for t in fig.data)
    live = charts.prediction_figure(_frame(10_000), points=600)
    assert all(len(t.x) <= 600 for t in live.data) and live.data[0].y[-1] == 9999
    assert fig.data[0].y[-1] == 9999  # the last point is kept
    assert fig.data[0].y.dtype == np.float32


def test_downsample_indices():
    assert list(charts.downsample(5, 10)) == [0, 1, 2, 3, 4]
    idx = charts.downsample(10_001, 2000)
    assert len(idx) <= 2000 and idx[0] == 0 and idx[-1] == 10_000


def test_series_figure_shades_the_three_segments():
    series = pd.Series(np.arange(30.0), index=pd.date_range("2020-01-01", periods=30), name="Close")
    fig = charts.series_figure(series, {"val": series.index[20], "test": series.index[25]})
    assert [s.x0 for s in fig.layout.shapes] == [series.index[0], series.index[20], series.index[25]]
    assert fig.layout.yaxis.title.text == "Close"


def test_window_figure_draws_features_by_time_steps_and_the_target():
    dates = pd.date_range("2020-01-01", periods=5, freq="D")
    values = np.arange(10, dtype=np.float32).reshape(5, 2) / 10  # (time steps, features)
    fig = charts.window_figure(values, dates, ["Close", "Volume"], 0.95, pd.Timestamp("2020-01-06"), "Close")
    window, target = fig.data
    assert np.asarray(window.z).shape == (2, 5) and list(window.y) == ["Close", "Volume"]
    assert window.z[1][4] == pytest.approx(0.9) and target.z[0][0] == pytest.approx(0.95)
    assert window.zmax == target.zmax == pytest.approx(0.95)  # one colour scale for inputs and target
    assert "2020-01-06" in fig.layout.annotations[1].text


def test_each_cell_has_one_hue_on_every_chart_and_runs_of_one_cell_get_shades():
    from core.charts import CELL_COLOURS, run_colours

    race = run_colours(["SimpleRNN", "LSTM", "GRU"])  # the cell race's and the memory race's labels
    compare = run_colours(["GRU 32 · sp500 w30 · b", "BiLSTM 64 · sp500 w30 · a", "LSTM 8 · x · c", "imported 3 · d"])
    assert race == [CELL_COLOURS[c][0] for c in ("SimpleRNN", "LSTM", "GRU")]
    assert compare[:2] == [CELL_COLOURS["GRU"][0], CELL_COLOURS["LSTM"][0]]  # the same hue as in the race
    assert compare[2] == CELL_COLOURS["LSTM"][1] and compare[3] not in sum(CELL_COLOURS.values(), ())
    histories = {"LSTM": {"loss": [1.0], "val_loss": [1.0]}, "GRU 4 · a": {"loss": [1.0], "val_loss": [1.0]}}
    fig = charts.loss_overlay_figure(histories)
    assert [t.line.color for t in fig.data] == [CELL_COLOURS["LSTM"][0]] * 2 + [CELL_COLOURS["GRU"][0]] * 2


def test_legends_sit_under_the_chart_and_long_run_labels_wrap():
    fig = charts.prediction_figure(_frame(50), "Close")
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0 and fig.layout.legend.yanchor == "bottom"
    assert charts.legend_name("LSTM 64 · sp500 w30 · 20261201-040000-abcdef") == "LSTM 64 · sp500 w30<br>…abcdef"
    assert charts.legend_name("GRU 8 · x · not-a-run-id") == "GRU 8 · x<br>not-a-run-id"


def test_prediction_bands_sit_behind_the_lines_when_the_frame_has_them():
    frame = _frame(60)
    for level, q in ((80, 1.0), (95, 2.0)):
        frame[f"lower_{level}"], frame[f"upper_{level}"] = frame["prediction"] - q, frame["prediction"] + q
    fig = charts.prediction_figure(frame, "Close")
    names = [t.name for t in fig.data]
    assert names.index("95% band") < names.index("80% band") < names.index("truth")  # drawn first, underneath
    band = fig.data[names.index("80% band")]
    assert band.fill == "tonexty" and np.allclose(band.y, frame["prediction"] - 1.0)
    assert "80% band" not in [t.name for t in charts.prediction_figure(_frame(60), "Close").data]  # none without columns


def test_no_two_runs_or_folds_of_one_chart_share_a_colour():
    from core.charts import backtest_figure, loss_overlay_figure, run_colours

    trials = {f"trial {n} (complete)": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]} for n in range(8)}
    colours = [t.line.color for t in loss_overlay_figure(trials).data if t.name.endswith("(validation)")]
    assert len(set(colours)) == 8  # the sweep's chart: five colours repeated from trial 5 on
    assert tuple(loss_overlay_figure(trials).layout.xaxis.range) == (0.5, 2.5)  # epochs 1 and 2, no empty epoch 0
    lstms = run_colours([f"LSTM 4 · sp500 w10 · run{n}" for n in range(5)])
    assert len(set(lstms)) == 5  # past its three shades a cell takes other colours, not its first shade again
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=4), "truth": 1.0, "prediction": 1.0})
    folds = backtest_figure({n: frame for n in range(1, 9)}, "Close")
    fold_colours = [t.line.color for t in folds.data if t.name.startswith("fold")]
    assert len(set(fold_colours)) == 8
    from core.charts._style import luminance
    assert min(map(luminance, fold_colours)) >= 0.4  # none dark beside the near-black truth (a brown fold 2 was)


def test_a_line_that_ties_with_another_in_the_memory_race_still_shows():
    from core.charts import memory_race_figure

    results = pd.DataFrame({"k": [1, 2] * 3, "cell": ["LSTM"] * 2 + ["GRU"] * 2 + ["SimpleRNN"] * 2,
                            "accuracy": [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]})
    lstm, gru, simple = memory_race_figure(results).data
    assert lstm.line.width > gru.line.width and lstm.marker.size > gru.marker.size  # LSTM's wider line shows round GRU's
    assert len({lstm.marker.symbol, gru.marker.symbol, simple.marker.symbol}) == 3


def test_the_gate_histogram_has_a_line_per_gate_and_panel():
    from core import gates
    from core.charts import gate_histogram_figure

    values = np.random.default_rng(1).uniform(0.2, 0.8, size=(4, 5, 3))
    panels = {"LSTM": {"lstm": gates.histograms({"input": values, "forget": values})},
              "GRU": {"gru": gates.histograms({"update": values})}}
    fig = gate_histogram_figure(panels)
    assert [t.name for t in fig.data] == ["input", "forget", "update"]
    assert all(abs(float(np.sum(t.y)) - 1) < 1e-5 for t in fig.data)
    assert fig.layout.title.text == "Gate values over the test windows"


def test_charts_stay_readable_in_a_470_px_page():
    """Issue 22 at 800 px: no "count" y title against the residual chart, flat step ticks, gate titles
    in two lines with their colour bars titled sideways, legend lines a half-width chart can hold."""
    errors = charts.error_figure(_frame(40), "Close")
    assert errors.layout.yaxis2.title.text is None
    assert "Error histogram (count)" in [a.text for a in errors.layout.annotations]

    steps = charts.step_error_figure(pd.DataFrame({"step": range(1, 21), "rmse": np.linspace(1, 3, 20),
                                                   "naive_rmse": np.linspace(1, 2, 20)}), "Close")
    assert steps.layout.xaxis.tickangle == 0 and len(range(0, 21, int(steps.layout.xaxis.dtick))) <= 6

    from core.gates import GATE_TEXT

    traces = {g: np.zeros((5, 3), dtype=np.float32) for g in ("input", "forget", "candidate", "output", "cell", "h")}
    gates = charts.gate_figure(np.zeros((5, 1)), ["x"], [f"t{i}" for i in range(5)], traces, np.arange(3), "g")
    titles = [a.text for a in gates.layout.annotations]
    assert "input gate i:<br>how much of the candidate is written into the cell" in titles
    assert all(len(line) <= len(GATE_TEXT["input"]) - 12 for t in titles for line in t.split("<br>"))
    assert {gates.layout[a].colorbar.title.side for a in ("coloraxis", "coloraxis2", "coloraxis3")} == {"right"}

    label = "LSTM 64×2 · S&P 500 index, daily w60 h1 · lr 0.001 · 20261201-040000-abcdef"
    assert charts.legend_name(label) == "LSTM 64×2<br>S&P 500 index, daily w60 h1<br>lr 0.001<br>…abcdef"
    loss = charts.loss_overlay_figure({label: {"loss": [0.2, 0.1], "val_loss": [0.3, 0.2]}})
    assert list(loss.data[0].text) == [label, label] and "%{text}" in loss.data[0].hovertemplate
