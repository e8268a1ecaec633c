"""The command line is a public interface: python -m core train --config spec.json --out DIR."""
import json
import subprocess
import sys
import zipfile
from types import SimpleNamespace
from pathlib import Path

import pandas as pd
import pytest

from core import evaluate
from core.__main__ import load_spec, main

from .conftest import TINY, tiny_spec

ROOT = Path(__file__).resolve().parents[1]


def test_train_writes_the_run_directory(tmp_path):
    config = tmp_path / "spec.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow, absl or statsmodels lines on a success (issue 26, item 15)
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "val_loss" in epoch_lines[0]

    spec = json.loads((out / "spec.json").read_text())
    assert spec["window"]["length"] == 10 and spec["window"]["horizon"] == 1  # defaults filled in
    assert spec["model"]["cell"] == "LSTM" and spec["train"]["seed"] == 7
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["epoch", "loss", "val_loss"] and history["epoch"].tolist() == [1, 2]
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["date", "split", "truth", "prediction", "naive", "lower_80", "upper_80",
                                         "lower_95", "upper_95"]
    assert set(predictions["split"]) == {"val", "test"} and predictions["prediction"].notna().all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"mse", "rmse", "mae", "mape", "smape", "mase", "direction"}
    assert set(metrics["baselines"]) == set(evaluate.BASELINES)  # ETS and ARIMA included
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
    out, err = capsys.readouterr()
    assert "loss became" not in out and out.startswith("data: ")  # progress on stdout, the failure on stderr
    assert err.startswith("error: loss became") and len(err.strip().splitlines()) == 1
    assert f"the run is saved in {tmp_path / 'r'}" in err
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
    # The command line's own part (the forecast's length and its words); every mode's training is
    # covered in-process by test_modes.py. Was all four modes: two trainings fewer.
    for mode, horizon in (("many_to_many", 1), ("seq2seq", 2)):
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


# -- hostile and careless input (issue 13) ------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    (json.dumps({"train": {"seed": 2 ** 32}}), "train.seed: must be a whole number from 0 to 4294967295"),
    (json.dumps({"train": {"batch_size": 2 ** 70}}), "train.batch_size: must be a whole number from 1 to 65536"),
    (json.dumps({"train": {"epochs": 10 ** 12}}), "train.epochs: must be a whole number from 1 to 10000"),
    ('{"train": {"learning_rate": NaN}}', "train.learning_rate: must be a finite number"),
    (json.dumps({"model": {"units": [[[[[[[[[64]]]]]]]]]}}), "model.units: is nested more than 8 levels"),
    (json.dumps({"data": {"source": "csv", "path": "prices\x00.csv"}}), "data.path: contains the control character"),
    (json.dumps({"data": {"source": "ticker", "ticker": "AAPL\n"}}), "data.ticker: contains the control character"),
    ("[" * 100_000 + "]" * 100_000, "the spec is not valid JSON (nested too deeply"),
    ('{"train": {"seed": ' + "9" * 5000 + "}}", "the spec is not valid JSON (a number in it has thousands"),
])
def test_hostile_specs_exit_2_with_one_line_naming_the_field(tmp_path, capsys, text, words):
    config = tmp_path / "spec.json"
    config.write_text(text, encoding="utf-8")
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and err.startswith(f"error: {words}") and len(err.splitlines()) == 1, err
    assert len(err) < 400 and not (tmp_path / "r").exists()


def test_an_epochs_override_past_the_bound_exits_2(tmp_path, capsys):
    code, err = _error(capsys, ["train", "--epochs", str(10 ** 12), "--out", str(tmp_path / "r")])
    assert code == 2 and err.startswith("error: train.epochs: must be a whole number from 1 to 10000")


def test_json_nested_past_the_parser_exits_2_without_a_traceback(tmp_path):
    config = tmp_path / "deep.json"
    config.write_text("[" * 100_000 + "]" * 100_000)
    result = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config), "--out",
                             str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: the spec is not valid JSON (nested too deeply to read); a spec is an object of sections, e.g. "
        '{"train": {"epochs": 20}}']


def test_a_spec_saved_with_a_byte_order_mark_is_read(tmp_path, capsys):
    config = tmp_path / "spec.json"
    config.write_bytes(json.dumps({"train": {"epochs": 3}}).encode("utf-8-sig"))  # as Notepad saves it
    assert load_spec(config).train.epochs == 3
    config.write_bytes(json.dumps({"train": {"epochs": 0}}).encode("utf-8-sig"))
    code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and err.startswith("error: train.epochs")  # read, then checked: not "not valid JSON"


def test_the_csv_readers_notes_are_printed(tmp_path, capsys):
    dates = list(pd.date_range("2020-01-01", periods=150, freq="D"))
    rows = [f"{d:%Y-%m-%d},{100 + i % 9}" for i, d in enumerate(dates + dates[:2])]  # two dates twice
    path = tmp_path / "prices.csv"
    path.write_text("date,Close\n" + "\n".join(rows) + "\n", encoding="utf-8")
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({**TINY, "data": {"source": "csv", "path": str(path)}}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("data: ")
    notes = [line for line in lines if line.startswith("note: ")]
    assert any("2 duplicate dates" in note and "kept the last row" in note for note in notes), lines
    assert lines[1:1 + len(notes)] == notes  # right after the data line, before the epochs


def test_an_offline_ticker_is_one_line_without_yfinance_warnings(tmp_path, capsys, monkeypatch):
    """yfinance warns (pandas deprecations in its own code) and only logs the network error; the
    command line must show just the one error line. The download is faked: no network."""
    import logging
    import warnings

    import yfinance

    def offline_download(ticker, **kwargs):
        for line in (220, 224):  # as yfinance/multi.py triggers them, attributed to yfinance's module
            warnings.warn_explicit("The inplace keyword in DataFrame.rename is deprecated", FutureWarning,
                                   "yfinance/multi.py", line, module="yfinance.multi")
        logging.getLogger("yfinance").error(f"['{ticker}']: DNSError('Failed to perform, curl: (6) Could not "
                                            "resolve host: query2.finance.yahoo.com')")
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", offline_download)
    config = tmp_path / "spec.json"
    config.write_text(json.dumps({"data": {"source": "ticker", "ticker": "AAPL"}}))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        code, err = _error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "r")])
    assert code == 2 and err.startswith("error: Could not reach Yahoo Finance") and len(err.splitlines()) == 1
    assert not [w for w in shown if "inplace" in str(w.message)]


def test_exporting_an_interrupted_run_says_so(run_store, tmp_path, capsys):
    from core import runs as store

    store.mark_started(run_store / "20260101-000000-abcdef", "20260101-000000-abcdef", None, tiny_spec())
    assert main(["runs", "export", "20260101-000000-abcdef", "--out", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert "was interrupted before it ended" in err and "spec.json" in err and "no run" not in err
    assert not (tmp_path / "x.zip").exists()


# -- output paths and hostile files (issue 26, items 13 and 15) ---------------------------------------

def test_every_output_path_is_checked_before_any_training(tmp_path, capsys, run_store, monkeypatch):
    from .test_backtest import SPEC

    a_file = tmp_path / "hostname"
    a_file.write_text("x")
    (tmp_path / "spec.json").write_text(SPEC.to_json())
    spec = str(tmp_path / "spec.json")
    for argv, words in ((["backtest", "--config", spec, "--folds", "2", "--out", str(a_file)], "is a file"),
                        (["backtest", "--config", spec, "--folds", "2", "--out", str(a_file / "bt")], "is a file"),
                        (["train", "--config", spec, "--out", str(a_file / "run")], "is a file"),
                        (["runs", "export", "x", "--out", str(tmp_path)], None)):
        code, err = _error(capsys, argv)
        assert code == 2 and len(err.splitlines()) == 1 and (words is None or words in err), err
        assert not run_store.exists() or not list(run_store.glob("2*"))  # nothing trained
    monkeypatch.setenv("RNNLAB_RUNS_DIR", str(a_file))  # where the sweep's trials would go
    (tmp_path / "space.json").write_text(json.dumps({"model.cell": {"choices": ["LSTM"]}}))
    code, err = _error(capsys, ["sweep", "--config", spec, "--space", str(tmp_path / "space.json"), "--trials", "1"])
    assert code == 2 and err.startswith("error: the run store ($RNNLAB_RUNS_DIR) ") and "is a file" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("flag", ["--config", "--space"])
def test_a_json_file_that_never_ends_is_read_only_to_the_cap(tmp_path, capsys, monkeypatch, flag):
    """/dev/zero reports size 0: the old size check let it through and the read never ended."""
    monkeypatch.setenv("RNNLAB_MAX_JSON_BYTES", "10000")
    (tmp_path / "spec.json").write_text("{}")
    (tmp_path / "space.json").write_text(json.dumps({"model.cell": {"choices": ["LSTM"]}}))
    argv = ["sweep", "--config", str(tmp_path / "spec.json") if flag == "--space" else "/dev/zero",
            "--space", "/dev/zero" if flag == "--space" else str(tmp_path / "space.json"), "--trials", "1"]
    code, err = _error(capsys, argv)
    assert code == 2 and err == f"error: {flag}: /dev/zero is larger than 10,000 bytes, the most a JSON file here " \
                                 "may have ($RNNLAB_MAX_JSON_BYTES); is it the right file?"
