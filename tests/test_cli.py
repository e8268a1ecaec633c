"""The command line is a public interface: python -m core train --config spec.json --out DIR."""
import json
import subprocess
import sys
import zipfile
from types import SimpleNamespace
from pathlib import Path

import pandas as pd

from core.__main__ import main

from .conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


def test_train_writes_the_run_directory(tmp_path):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "val_loss" in epoch_lines[0]

    spec = json.loads((out / "spec.json").read_text())
    assert spec["window"]["length"] == 10 and spec["window"]["horizon"] == 1  # defaults filled in
    assert spec["model"]["cell"] == "LSTM" and spec["train"]["seed"] == 7
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["epoch", "loss", "val_loss"] and history["epoch"].tolist() == [1, 2]
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["date", "split", "truth", "prediction", "naive"]
    assert set(predictions["split"]) == {"val", "test"} and predictions["prediction"].notna().all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"mse", "rmse", "mae", "mape", "smape", "mase", "direction"}
    assert set(metrics["baselines"]) == {"naive", "seasonal_naive", "moving_average", "linear"}
    for baseline in metrics["baselines"].values():
        assert set(baseline) == set(metrics["test"])
    assert isinstance(metrics["lag"], int) and -5 <= metrics["lag"] <= 5
    assert (out / "model.keras").stat().st_size > 0


def test_epochs_override(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps(TINY))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 0
    assert "epoch 1/1" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "spec.json").read_text())["train"]["epochs"] == 1


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_unknown_key_exits_2_naming_it(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({"model": {"cells": "LSTM"}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "model.cells" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_bad_value_exits_2(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({"train": {"optimizer": "adagrad"}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "train.optimizer" in err


def test_window_longer_than_data_exits_2(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "window": {"length": 400}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "Shorten the window" in err and len(err.splitlines()) == 1


def test_missing_column_and_missing_config_exit_2(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "data": {"target": "Price"}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "'Price'" in err
    code, err = _error(capsys, ["train", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r")])
    assert code == 2 and "cannot read" in err
    config.write_text("{broken")
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "not valid JSON" in err


def test_diverging_run_exits_1_with_the_message(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "model": {"cell": "SimpleRNN", "units": [4]},
                                  "train": {"epochs": 5, "batch_size": 16, "optimizer": "sgd", "learning_rate": 10.0}}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r")]) == 1
    assert "loss became" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "failed"


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("x")
    code, err = _error(capsys, ["train", "--out", str(out)])
    assert code == 2 and "is a file" in err


def test_config_that_is_not_utf8_exits_2(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_bytes('{"data": {"target": "收盘"}}'.encode("gbk"))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "UTF-8" in err


def test_csv_spec_trains_from_a_semicolon_gbk_file_in_original_units(tmp_path, capsys):
    dates = pd.date_range("2020-01-01", periods=120, freq="D")[::-1]  # newest first, as many exports are
    rows = "".join(f"{d:%Y/%m/%d};{100 + i % 7},{i % 10}\n" for i, d in enumerate(dates))
    path = tmp_path / "行情.csv"
    path.write_bytes(("日期;收盘\n" + rows).encode("gbk"))
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "data": {"source": "csv", "path": str(path), "target": "收盘",
                                                  "features": ["收盘"], "transform": "diff", "scaler": "standard"}}),
                      encoding="utf-8")
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 0
    predictions = pd.read_csv(tmp_path / "r" / "predictions.csv")
    assert predictions["truth"].between(100, 107).all()  # original units, after the diff transform
    assert pd.to_datetime(predictions["date"]).is_monotonic_increasing


def test_synthetic_spec_trains(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "data": {"source": "synthetic", "name": "sine", "target": "value",
                                                  "features": ["value"], "params": {"points": 300}}}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 0


def test_bad_csv_and_offline_ticker_exit_2_with_the_reason(tmp_path, capsys, monkeypatch):
    from core import tickers

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({"data": {"source": "csv", "path": str(empty)}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "empty.csv is empty" in err

    def offline(*args, **kwargs):
        raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")

    monkeypatch.setattr(tickers, "download", offline)
    config.write_text(json.dumps({"data": {"source": "ticker", "ticker": "AAPL"}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r2")])
    assert code == 2 and "Could not reach Yahoo Finance" in err


def test_every_mode_trains_from_the_command_line(tmp_path, capsys):
    for mode, horizon in (("direct", 3), ("many_to_many", 1), ("seq2seq", 2), ("stateful", 1)):
        config = tmp_path / f"{mode}.json"
        config.write_text(json.dumps({**TINY, "model": {"units": [4], "mode": mode}, "window": {"length": 10,
                                      "horizon": horizon}, "train": {"epochs": 1, "batch_size": 16}}))
        out = tmp_path / mode
        assert main(["train", "--config", str(config), "--out", str(out)]) == 0, capsys.readouterr().err
        forecast = pd.read_csv(out / "forecast.csv")
        assert len(forecast) == (horizon if mode in ("direct", "seq2seq") else 20)
        assert json.loads((out / "metrics.json").read_text())["test_by_step"][0]["step"] == 1
    assert "forecast 2 steps past the data" in capsys.readouterr().out


def test_bad_mode_combinations_exit_2_saying_why(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "model": {"mode": "seq2seq"}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "seq2seq decodes several steps: set window.horizon to 2 or more" in err
    config.write_text(json.dumps({**TINY, "model": {"mode": "stateful"}, "train": {"batch_size": 512}}))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and "fixed batches of 512" in err


def test_runs_list_and_export_work_on_the_app_store(tmp_path, run_store, capsys):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "train": {"epochs": 1}}))

    def cli(*args):  # in-process (the run store is $RNNLAB_RUNS_DIR, set by the run_store fixture)
        code = main(list(args))
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    empty = cli("runs", "list")
    assert empty.returncode == 0 and "no runs in" in empty.stdout
    trained = cli("train", "--config", str(config))  # no --out: a new run in the store
    assert trained.returncode == 0, trained.stderr
    listed = cli("runs", "list")
    assert listed.returncode == 0
    line = listed.stdout.splitlines()[1]
    run_id = line.split()[0]
    assert "finished" in line and "LSTM" in line and "1/1" in line
    out = tmp_path / "bundle.zip"
    exported = cli("runs", "export", run_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    names = set(zipfile.ZipFile(out).namelist())
    assert {"spec.json", "model.keras", "history.csv", "predictions.csv", "metrics.json", "gates.npz"} <= names
    missing = cli("runs", "export", "no-such-run", "--out", str(out))
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr
