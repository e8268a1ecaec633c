"""core/presets.py: every preset is a valid spec that trains (1 epoch on a slice of its data)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import data, presets, windows
from core.spec import SpecError
from core.training import FINISHED, TrainingJob

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_preset_smoke(name):
    preset = presets.get(name)
    spec = preset.experiment()
    assert preset.shows and preset.origin and preset.title
    small = spec.replace(data={"start": "2017-06-01"}, split={"val": 0.15, "test": 0.15},
                         train={"epochs": 1})  # the same shapes on a year of data
    w = windows.make(data.load(small.data), small)
    assert w.input_shape == (spec.window.length, len(spec.data.features))
    snap = TrainingJob(small, w).run()
    assert snap.status == FINISHED and np.isfinite(snap.history["loss"]).all()
    assert np.isfinite(snap.metrics["test"]["rmse"])


def test_stock_presets_follow_the_tutorial():
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        spec = presets.get(f"stock-{cell.lower()}-60").experiment()
        assert spec.model.cell == cell and spec.model.units == [80, 100] and spec.model.dropout == 0.2
        assert spec.data.features == ["Open"] and spec.window.length == 60 and spec.split.test == 300
        assert (spec.train.optimizer, spec.train.learning_rate, spec.train.batch_size, spec.train.epochs) == (
            "adam", 0.001, 64, 50)


def test_unknown_preset_names_the_choices():
    with pytest.raises(SpecError, match="stock-lstm-60"):
        presets.get("stock-transformer")


def test_cli_lists_presets_and_trains_one_with_overrides(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "core", "presets"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0 and [l.split()[0] for l in listed.stdout.splitlines()] == list(presets.PRESETS)
    bad = subprocess.run([sys.executable, "-m", "core", "train", "--preset", "nope", "--out", str(tmp_path / "x")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no preset 'nope'" in bad.stderr
