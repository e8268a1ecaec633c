"""core/backtest.py and `python -m core backtest`: folds later than each other, each trained on the
data before its origin only, through the pool, scored against every baseline."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import backtest, data, pool, windows
from core.__main__ import main
from core.errors import DataError
from core.training import TrainingJob

from .conftest import tiny_spec

SPEC = tiny_spec(split={"val": 20, "test": 20})


def test_the_folds_walk_forward_without_overlapping_test_blocks():
    frame = data.load(SPEC.data)
    folds = backtest.plan(SPEC, frame, 3)
    whole = windows.make(frame, SPEC)
    assert folds[-1].end == whole.dates["test"][-1].strftime("%Y-%m-%d")  # the last fold tests the newest targets
    assert folds[0].train_targets == len(whole.dates["train"]) + 2  # the first trains on what the split trains on
    for before, after in zip(folds, folds[1:]):
        assert before.origin < after.origin and before.end < after.test_start  # later, and no test target twice
        assert after.train_targets == before.train_targets + 6  # a test block more: 20 test targets // 3 folds
    for fold in folds:
        w = windows.make(data.load(fold.spec.data), fold.spec)
        assert (len(w.dates["val"]), len(w.dates["test"])) == (20, 6)
        assert w.dates["val"][0].strftime("%Y-%m-%d") == fold.origin and w.dates["test"][-1].strftime("%Y-%m-%d") == fold.end
        assert len(w.dates["train"]) == fold.train_targets and w.index[-1].strftime("%Y-%m-%d") == fold.end


@pytest.mark.parametrize("folds, words", [(1, "2 to 20 folds"), (5, "too few for 5 folds of at least 5")])
def test_a_backtest_that_cannot_fit_is_refused_before_training(folds, words, capsys, tmp_path):
    with pytest.raises(DataError, match=words):
        backtest.plan(SPEC, data.load(SPEC.data), folds)
    (tmp_path / "spec.json").write_text(SPEC.to_json())
    assert main(["backtest", "--config", str(tmp_path / "spec.json"), "--folds", str(folds)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_the_command_line_writes_a_row_per_fold_and_a_verdict_that_counts_them(tmp_path, capsys, run_store):
    (tmp_path / "spec.json").write_text(SPEC.to_json())
    assert main(["backtest", "--config", str(tmp_path / "spec.json"), "--folds", "3", "--out", str(tmp_path / "bt"),
                 "--workers", "2"]) == 0
    table = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    summary = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert list(table["fold"]) == [1, 2, 3] and set(table["status"]) == {"finished"}
    assert summary["seconds"] > 0  # the wall time, as docs/cli.md lists it
    for name in ("naive", "seasonal_naive", "linear", "ets", "arima"):  # every baseline, on the same targets
        assert f"{name}_rmse" in table and table[f"{name}_rmse"].notna().all()
    for row in table.to_dict("records"):  # each fold is an ordinary run, tagged with its backtest and fold
        tag = json.loads((run_store / row["run"] / "fold.json").read_text())
        saved = json.loads((run_store / row["run"] / "metrics.json").read_text())
        assert tag["fold"] == row["fold"] and tag["origin"] == row["origin"]
        assert row["rmse"] == pytest.approx(saved["test"]["rmse"])
    wins = int((table["rmse"] < table["naive_rmse"]).sum())
    best_stat = int((table["rmse"] < table[["ets_rmse", "arima_rmse"]].min(axis=1)).sum())
    assert summary["verdict"] == (f"The model beat persistence in {wins} of 3 folds and the best statistical baseline "
                                  f"of each fold (ETS or ARIMA) in {best_stat} of 3.")
    pooled = np.sqrt(np.sum(table["test_targets"] * table["rmse"] ** 2) / table["test_targets"].sum())
    assert summary["model"]["rmse"] == pytest.approx(pooled)
    out = capsys.readouterr().out
    assert "verdict: " + summary["verdict"] in out and out.count("finished (run ") == 3


def test_changing_the_data_after_a_folds_origin_leaves_its_training_identical(tmp_path):
    frame = data.load(SPEC.data)
    first = backtest.plan(SPEC, frame, 3)[0]
    origin = pd.Timestamp(first.origin)
    later = frame.copy()
    later.loc[later.index >= origin, "Close"] *= 3  # every value from the origin on, validation and test included
    runs_ = []
    for i, version in enumerate((frame, later)):
        path = tmp_path / f"v{i}.csv"
        version.to_csv(path, index_label="date")
        spec = first.spec.replace(data={"source": "csv", "path": str(path), "name": None, "start": None})
        w = windows.make(data.load(spec.data), spec)
        runs_.append((w, TrainingJob(spec, w).run()))
    (w0, a), (w1, b) = runs_
    np.testing.assert_array_equal(w0.X["train"], w1.X["train"])  # the same training windows, scaled the same way
    assert a.history["loss"] == b.history["loss"]  # the training history does not see past the origin
    assert a.history["val_loss"] != b.history["val_loss"]  # the validation block is read (it is after the origin)


def test_folds_train_in_parallel_through_the_pool(run_store):
    folds = backtest.plan(SPEC, data.load(SPEC.data), 2)
    runner = pool.Pool(pool.InThreads(), 2)
    seen = []
    backtest.run(folds, runner, run_store, "bt-test", on_fold=lambda f, status: seen.append((f.number, status)))
    assert sorted(seen) == [(1, "finished"), (2, "finished")]


@pytest.mark.parametrize("change, words", [
    ({"model": {"task": "classification"}, "train": {"loss": "crossentropy"}}, "this setup classifies"),
])
def test_a_backtest_that_would_not_mean_anything_is_refused(change, words):
    spec = SPEC.replace(**change)
    with pytest.raises(DataError, match=words):
        backtest.plan(spec, data.load(SPEC.data), 3)


def test_backtest_json_is_strict_json(tmp_path):
    table = pd.DataFrame({"fold": [1], "status": ["finished"], "test_targets": [5], "rmse": [float("nan")],
                          "mae": [1.0], "mase": [1.0], "direction": [float("nan")], "naive_rmse": [1.0]})
    _, path = backtest.write(tmp_path, table, backtest.summary(table))
    json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no NaN tokens


@pytest.mark.parametrize("args, words", [(["--folds", "0"], "2 to 20 folds"), (["--folds", "21"], "2 to 20 folds"),
                                         (["--workers", "0"], "--workers")])
def test_backtest_settings_out_of_range_are_refused(tmp_path, capsys, args, words):
    (tmp_path / "spec.json").write_text(SPEC.to_json())
    assert main(["backtest", "--config", str(tmp_path / "spec.json"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err


def test_a_ticker_backtest_downloads_once_and_cuts_every_fold_from_that_frame(monkeypatch):
    from core import tickers

    bars = data.load(SPEC.data)  # the built-in series stands in for Yahoo's bars
    calls = []

    def download(ticker, start, end, interval="1d", period=None):
        calls.append(ticker)
        return bars.copy()

    monkeypatch.setattr(tickers, "download", download)
    spec = SPEC.replace(data={"source": "ticker", "ticker": "AAPL", "name": None, "start": None, "end": None})
    folds = backtest.plan(spec, data.load(spec.data), 3)
    for fold in folds:  # what each fold's worker loads
        w = windows.make(data.load(fold.spec.data), fold.spec)
        assert w.index[-1].strftime("%Y-%m-%d") == fold.end and len(w.dates["test"]) == fold.test_targets
    assert calls == ["AAPL"]


def test_backtest_seeds_repeat_every_fold_and_the_verdict_counts_seeds():
    folds = backtest.with_seeds(backtest.plan(SPEC, data.load(SPEC.data), 2), 3)
    assert [(f.number, f.seed) for f in folds] == [(1, 7), (2, 7), (1, 8), (2, 8), (1, 9), (2, 9)]
    assert {f.spec.train.seed for f in folds} == {7, 8, 9}
    table = pd.DataFrame({"fold": [1, 2] * 3, "seed": [7, 7, 8, 8, 9, 9], "status": ["finished"] * 6,
                          "test_targets": [5] * 6, "rmse": [1.0, 1.0, 3.0, 3.0, 1.0, 3.0],
                          "mae": [1.0] * 6, "mase": [1.0] * 6, "direction": [50.0] * 6, "naive_rmse": [2.0] * 6})
    found = backtest.summary(table)
    assert found["folds"] == 2 and found["seeds"]["7"]["beats_persistence"] and not found["seeds"]["8"]["beats_persistence"]
    assert found["verdict"].startswith("Over 3 seeds the model beat persistence (pooled over the 2 folds) in 1 of 3 seeds")
    assert found["seeds"]["9"]["folds_won"] == 1  # one fold won, but pooled RMSE sqrt(5) > 2 loses
    assert "seeds" not in backtest.summary(table.drop(columns="seed"))  # a plain backtest's file is unchanged
