"""The explorer's engine (core/explore) on tiny models with weights set by hand, and its command line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from core import gates  # noqa: E402
from core.explore import match, states, units, whatif  # noqa: E402


def _rnn(cell, features: int, n: int, activation="tanh", head=True):
    layers = [keras.Input((None, features)), cell(n, activation=activation)]
    return keras.Sequential(layers + ([keras.layers.Dense(1)] if head else []))


def _states(model, X, starts=None) -> states.States:
    layer = gates.recurrent_layers(model)[0]
    h = gates.replay(model, X)[layer.name]["h"]
    n = len(X)
    return states.States(layer.name, layer.cell, h, np.full(n, "test"), np.arange(n),
                         np.arange(n) * 1000 if starts is None else starts, None, h.mean(axis=(0, 1)))


def test_a_planted_rise_unit_is_matched_exactly_where_the_rise_is_in_score_order():
    """Unit 0 counts consecutive rises (relu(h + 100 r - 99)): on above 2.5 only after 3 rises in a row. Unit 1
    copies a flag (x 5). Windows 0, 2, 4 hold a 3-rise (window 2 a 4-rise: two ends), window 4 with the flag on;
    windows 1, 3, 5 hold at most 2 rises in a row."""
    model = _rnn(keras.layers.SimpleRNN, 2, 2, activation="relu", head=False)
    model.layers[0].set_weights([np.array([[100.0, 0], [0, 5.0]]), np.array([[1.0, 0], [0, 0]]), np.array([-99.0, 0])])
    X = np.zeros((6, 12, 2), np.float32)
    X[0, 2:5, 0] = 1            # rise ends at step 4
    X[1, [1, 2, 5, 6, 9], 0] = 1
    X[2, 6:10, 0] = 1           # a 4-rise: on at steps 8 and 9
    X[3, 3:5, 0] = 1
    X[4, 7:10, 0] = 1           # on at step 9, with the flag (unit 1) on there too
    X[4, 9, 1] = 1
    X[5, 0:2, 0] = X[5, 10:12, 0] = 1
    found = _states(model, X)
    chosen = match.pattern(found.h[0], 4, 4, 2.5)
    assert chosen.tolist() == [True, False]
    hits = match.search(found, chosen, 1, 2.5, source=("test", 0, 4))
    assert hits[["window", "end", "score"]].values.tolist() == [[0, 4, 1], [2, 9, 1], [2, 8, 1], [4, 9, 0]]
    assert sorted(set(hits["window"])) == [0, 2, 4]


def test_a_span_longer_than_one_step_needs_the_unit_on_at_every_step():
    h = np.zeros((2, 6, 1), np.float32)
    h[0, 1:4, 0] = 1.0
    h[1, 1:4, 0] = 1.0
    h[1, 2, 0] = 0.0  # one step off breaks the span
    on = match.span_on(h, 3, 0.5)
    assert on[:, :, 0].tolist() == [[False, True, False, False], [False, False, False, False]]


@pytest.mark.parametrize("f", [0.5, 0.9, 0.99])
def test_half_life_of_a_fixed_forget_gate(f):
    """Forget gate fixed at f (zero kernel and recurrent weights, bias logit f): time constant -1/ln f."""
    model = _rnn(keras.layers.LSTM, 1, 3)
    kernel, recurrent, bias = model.layers[0].get_weights()
    kernel[:] = recurrent[:] = 0
    bias[:] = 0
    bias[3:6] = np.log(f / (1 - f))
    model.layers[0].set_weights([kernel, recurrent, bias])
    forget = gates.replay(model, np.random.default_rng(0).normal(size=(4, 7, 1)))[model.layers[0].name]["forget"]
    held = np.unique(forget)  # the gate is the same at every step, window and unit: f as float32 holds it
    assert len(held) == 1 and abs(held[0] - f) < 1e-6
    f = float(held[0])
    table = units.half_life(forget.mean(axis=(0, 1), dtype=np.float64))
    assert np.allclose(table["time_constant"], -1 / np.log(f), rtol=0, atol=1e-6)
    assert np.allclose(table["half_life"], np.log(0.5) / np.log(f), rtol=0, atol=1e-6)


def test_simple_rnn_has_no_half_life_and_says_why():
    assert units.half_life(None).empty and "no forget or update gate" in units.half_life_words(units.half_life(None), 60)


def test_the_signal_map_finds_the_unit_that_copies_the_level():
    rng = np.random.default_rng(1)
    levels = 100 + np.cumsum(rng.normal(size=300))
    index = pd.bdate_range("2020-01-01", periods=300)
    scaled = ((levels - levels.min()) / np.ptp(levels)).astype(np.float32)
    X = np.lib.stride_tricks.sliding_window_view(scaled, 20)[:, :, None]
    model = _rnn(keras.layers.SimpleRNN, 1, 4, activation="linear", head=False)
    kernel, recurrent, bias = [rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in model.layers[0].get_weights()]
    kernel[0] = [1, 0.5, -0.5, 0.2]
    recurrent[:, 0] = recurrent[0] = 0  # unit 0 = x_t, and reads nothing else
    bias[0] = 0
    model.layers[0].set_weights([kernel, recurrent, bias])
    corr = units.signal_map(_states(model, X, np.arange(len(X))), levels, index, horizon=1)
    assert corr.at[0, "level"] > 0.99 and units.strongest(corr)[0] == "+level"
    assert corr.shape == (4, len(units.SIGNALS))


def _carrier_model():
    """SimpleRNN(3) + Dense: unit 0 reads the input, unit 1 reads unit 0, unit 2 reads the input but nothing
    reads unit 2 (zero outgoing recurrent row and read-out weight)."""
    model = _rnn(keras.layers.SimpleRNN, 1, 3)
    model.layers[0].set_weights([np.array([[1.5, 0, 0.8]]), np.array([[0.5, 0.7, 0], [0, 0.3, 0], [0, 0, 0]]),
                                 np.array([0.1, -0.2, 0.05])])
    model.layers[1].set_weights([np.array([[0.9], [-0.6], [0.0]]), np.array([0.2])])
    return model


def test_clamping_a_unit_nothing_reads_changes_nothing_and_clamping_the_carrier_does():
    model = _carrier_model()
    X = np.random.default_rng(2).normal(size=(16, 8, 1)).astype(np.float32)
    weights = model.get_weights()
    y, _ = whatif.forward(model, X, weights)
    assert np.allclose(y, keras.ops.convert_to_numpy(model(X)), atol=1e-5)  # the numpy forward is the model
    name = model.layers[0].name
    same, _ = whatif.forward(model, X, whatif.clamp(model, weights, name, [2], [0.7]))
    assert np.allclose(same, y, atol=1e-6)
    cut, traces = whatif.forward(model, X, whatif.clamp(model, weights, name, [0], [0.3]))
    assert np.abs(cut - y).max() > 0.05
    assert np.ptp(cut) < 1e-5  # nothing carries the input any more: one forecast for every window
    shown = whatif.clamped_traces(traces, name, [0], [0.3])[name]["h"]
    assert np.all(shown[..., 0] == np.float32(0.3))


def test_an_edit_is_made_in_input_units():
    x = np.zeros((6, 1), np.float32)
    edited = whatif.edit(x, 0, "set", 2, 3, 10.0, (0.5, 1.0))
    assert edited[:, 0].tolist() == [0, 0, 6, 6, 0, 0]
    assert whatif.edit(edited, 0, "flatten", 3, 5, 0)[:, 0].tolist() == [0, 0, 6, 6, 6, 6]
    with pytest.raises(ValueError, match="unknown edit"):
        whatif.edit(x, 0, "melt", 0, 1, 0)


@pytest.fixture(scope="module")
def out_args(trained_run, tmp_path_factory):
    return str(trained_run[0]), tmp_path_factory.mktemp("explore")


@pytest.mark.parametrize("extra, words", [
    (["--span", "5:3"], "outside the window"), (["--span", "0:99"], "outside the window"),
    (["--span", "a:b"], "not A:B"), (["--layer", "4"], "--layer 4 does not exist"),
    (["--window", "9999", "--span", "1:2"], "--window 9999 does not exist")])
def test_the_command_line_refuses_a_bad_span_layer_or_window(out_args, capsys, extra, words):
    from core.__main__ import main

    run, out = out_args
    assert main(["explore", "--run", run, "--out", str(out / "bad"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]


def test_the_command_line_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    from core.__main__ import main

    assert main(["explore", "--run", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: --run ")


def test_the_command_line_writes_the_three_files_and_the_source_window_matches_first(out_args):
    from core.__main__ import main

    run, out = out_args
    assert main(["explore", "--run", run, "--out", str(out), "--window", "2", "--span", "6:9", "--threshold", "-1"]) == 0
    life = pd.read_csv(out / "halflife.csv")
    assert list(life.columns) == ["unit", "mean_gate", "time_constant", "half_life"] and len(life) == 4
    signals = pd.read_csv(out / "signals.csv", index_col="unit")
    assert list(signals.columns) == [*units.SIGNALS, "strongest"] and len(signals) == 4
    hits = pd.read_csv(out / "matches.csv")
    assert {"split", "window", "target_date", "start", "score", "followed_pct", "next_1"} <= set(hits.columns)
    first = hits.iloc[0]
    assert (first["split"], first["window"], first["start"], first["score"]) == ("test", 2, 6, 4)
    assert hits["score"].is_monotonic_decreasing


def test_the_change_in_h_has_its_own_scale_so_a_small_change_shows():
    """Found on a GRU(64) in the browser: a -150 shift moved h by about 0.05, drawn on h's -1..1 scale it was white."""
    from core.charts import explore as explore_charts

    before = np.zeros((5, 3), np.float32)
    after = before.copy()
    after[4, 1] = -0.05
    fig = explore_charts.whatif_figure([f"t{i}" for i in range(5)], np.zeros(5), np.zeros(5), before, after, "t")
    change = fig.data[-1]
    axis = fig.layout[change.coloraxis]
    assert change.coloraxis != fig.data[-2].coloraxis
    assert (axis.cmin, axis.cmax) == pytest.approx((-0.05, 0.05))


def test_match_panels_draw_one_unbroken_line_and_a_zero_mean_reads_plus_zero():
    from core.charts import explore as explore_charts

    fig = explore_charts.matches_figure([{"title": "m", "before": [1.0, 2.0], "span": [3.0, 4.0], "after": [5.0]}])
    grey, black, red = fig.data
    assert (grey.x[-1], grey.y[-1]) == (black.x[0], black.y[0])
    assert (black.x[-1], black.y[-1]) == (red.x[0], red.y[0])
    words = match.summary(pd.DataFrame({"followed_pct": [0.001, -0.002]}), np.array([-0.001, 0.0]), 1)
    assert "-0.00%" not in words and words.count("+0.00%") == 2
