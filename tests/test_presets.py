"""core/presets.py: every preset is a valid spec that trains (1 epoch on a slice of its data)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import data, models, presets, windows
from core.spec import SpecError
from core.training import FINISHED, TrainingJob

ROOT = Path(__file__).resolve().parents[1]


def small(spec):
    """The same shapes on less data: a year of prices, a few hundred generated steps, 90 digits."""
    d = spec.data
    if d.source == "synthetic":
        return spec.replace(data={"params": {**d.params, "points": 400}}, train={"epochs": 1})
    if d.name in ("digits", "mnist"):
        return spec.replace(data={"end": "2001-12-31"}, train={"epochs": 1})
    return spec.replace(data={"start": "2017-06-01"}, split={"val": 0.15, "test": 0.15}, train={"epochs": 1})


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_preset_smoke(name):
    preset = presets.get(name)
    spec = preset.experiment()
    assert preset.shows and preset.origin and preset.title
    spec = small(spec)
    w = windows.make(data.load(spec.data), spec)
    assert w.input_shape == (spec.window.length, len(spec.data.features))
    snap = TrainingJob(spec, w).run()
    assert snap.status == FINISHED and np.isfinite(snap.history["loss"]).all()
    outputs = models.output_steps(spec.model, spec.window.length, spec.window.horizon)
    assert w.y["train"].reshape(len(w.y["train"]), -1).shape[1] == outputs
    for metric in preset.report:
        assert np.isfinite(snap.metrics["test"][metric]), metric
    if spec.model.task == "classification":
        assert len(snap.history["accuracy"]) == 1 and 0 <= snap.history["val_accuracy"][0] <= 1
        assert snap.probabilities["test"].shape == (len(w.y["test"]), len(w.classes))
        assert np.allclose(snap.probabilities["test"].sum(axis=1), 1, atol=1e-4)
        assert np.sum(snap.metrics["confusion"]) == len(w.y["test"])


def test_stock_presets_follow_the_tutorial():
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        spec = presets.get(f"stock-{cell.lower()}-60").experiment()
        assert spec.model.cell == cell and spec.model.units == [80, 100] and spec.model.dropout == 0.2
        assert spec.data.features == ["Open"] and spec.window.length == 60 and spec.split.test == 300
        assert (spec.train.optimizer, spec.train.learning_rate, spec.train.batch_size, spec.train.epochs) == (
            "adam", 0.001, 64, 50)


def test_next_letter_presets_read_the_cycle():
    spec = small(presets.get("next-letter-4").experiment())
    w = windows.make(data.load(spec.data), spec)
    assert w.classes == list("abcde") and w.input_shape == (4, 5)
    # window a b c d (one-hot rows) -> the next letter, e
    first = w.X["train"][0].argmax(axis=1)
    assert list(first) == [0, 1, 2, 3] and w.y["train"][0, 0] == 4
    embedded = small(presets.get("next-letter-embedding").experiment())
    we = windows.make(data.load(embedded.data), embedded)
    assert we.input_shape == (4, 1) and we.vocab == 5
    net = models.build(embedded.model, embedded.train, we.input_shape, 1, len(we.classes), we.vocab)
    assert net.get_layer("embedding").get_weights()[0].shape == (5, 2)
    assert net.output_shape == (None, 5)


def test_image_rows_windows_are_whole_images():
    spec = presets.get("image-rows").experiment()
    frame = data.load(spec.data)
    w = windows.make(frame, spec)
    height = spec.window.length
    assert sum(w.counts().values()) == len(frame) // height  # one window per image
    assert (w.starts["test"] % height == 0).all()
    # each window's label is its image's digit, and the window holds that image's rows
    from sklearn.datasets import load_digits

    digits = load_digits()
    i = int(w.starts["test"][3]) // height
    assert w.truth["test"][3] == digits.target[i]
    assert np.allclose(w.X["test"][3], digits.images[i])  # scaler none: the pixels as they are
    # a trimmed start still cuts whole images
    late = spec.replace(data={"start": "2000-01-05"})
    lw = windows.make(data.load(late.data), late)
    assert ((lw.starts["train"] + 4) % height == 0).all()


def test_sine_to_cosine_toggle_feeds_unscaled_x_from_3000():
    spec = presets.unscaled(presets.get("sine-to-cosine").experiment())
    assert spec.data.features == ["x", "sin"] and spec.data.scaler == "none"
    frame = data.load(spec.data)
    assert frame["x"].iloc[0] == 3000 and np.isclose(frame["sin"].iloc[0], np.sin(3000))


def test_stock_preset_runs_on_a_csv_with_lower_case_columns(tmp_path):
    dates = pd.bdate_range("2020-01-01", periods=400)
    price = 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, 400))
    frame = pd.DataFrame({"date": dates, "open": price, "close": price + 1, "high": price + 2, "low": price - 2,
                          "volume": 1000.0, "code": "600000"})
    path = tmp_path / "prices.csv"
    frame.to_csv(path)  # with the unnamed index column
    spec, note = presets.on_csv(presets.get("stock-lstm-60").experiment(), str(path),
                                list(data.load_csv(path).columns))
    assert (spec.data.source, spec.data.target, spec.data.features) == ("csv", "open", ["open"])
    w = windows.make(data.load(spec.data), spec)
    assert w.input_shape == (60, 1) and len(w.y["test"]) == 300
    multi, note = presets.on_csv(presets.get("stock-multifeature").experiment(), str(path),
                                 list(data.load_csv(path).columns))
    assert multi.data.features == ["open", "close", "low", "high", "volume"] and multi.data.target == "high"
    frame["money"], frame["change"], frame["label"] = 5.0, 0.1, frame["high"].shift(-1)
    frame.dropna().to_csv(path)
    full, note = presets.on_csv(presets.get("stock-multifeature").experiment(), str(path),
                                list(data.load_csv(path).columns))
    assert full.data.target == "label" and full.window.horizon == 0 and len(full.data.features) == 7
    with pytest.raises(SpecError, match="no 'Close' column"):
        presets.on_csv(presets.get("stock-stacked-lstm").experiment(), str(path), ["date", "x"])


def test_unknown_preset_names_the_choices():
    with pytest.raises(SpecError, match="stock-lstm-60"):
        presets.get("stock-transformer")


def test_cli_lists_presets_and_trains_one_with_overrides(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "core", "presets"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0 and [l.split()[0] for l in listed.stdout.splitlines()] == list(presets.PRESETS)
    bad = subprocess.run([sys.executable, "-m", "core", "train", "--preset", "nope", "--out", str(tmp_path / "x")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no preset 'nope'" in bad.stderr


def test_cli_trains_a_classifier_preset_and_writes_accuracy(tmp_path, capsys):
    from core.__main__ import main

    out = tmp_path / "letters"
    assert main(["train", "--preset", "next-letter-1", "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "val_accuracy" in printed and "test   accuracy" in printed and (out / "run.json").is_file()
    predictions = pd.read_csv(out / "predictions.csv")
    assert {"p_a", "p_e"} <= set(predictions.columns)
    assert "accuracy" in pd.read_csv(out / "history.csv").columns


def test_the_lookahead_toggle_scales_the_test_period_by_its_own_mean_and_std_and_the_default_does_not():
    """stock-multifeature's toggle reproduces the tutorial's leak; its default trains on percent changes."""
    honest = presets.get("stock-multifeature").experiment()
    leak = presets.lookahead(honest)
    w = windows.make(data.load(leak.data), leak)
    test = w.y["test"][:, -1, 0]
    assert abs(test.mean()) < 0.2 and 0.8 < test.std() < 1.2  # the test period's own statistics
    np.testing.assert_allclose(w.inverse_y(w.y["test"], "test"), w.truth["test"], rtol=1e-5)
    raw = windows.make(data.load(honest.data), honest.replace(data={"transform": "raw"}))
    assert raw.y["test"][:, -1, 0].mean() > 3  # honest scaling of raw prices: far above anything trained on
    assert honest.data.transform == "pct"  # what the preset trains by default: changes, which stay in range
