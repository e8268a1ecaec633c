"""core/seeds.py: one spec with N seeds through the pool, and seeds.json's spread and verdict."""
from __future__ import annotations

import json

import pytest

from core import seeds
from core.errors import DataError
from tests.conftest import tiny_spec


def test_a_3_seed_run_has_spread_and_a_fixed_seed_has_none(tmp_path, trained_run):
    # One 3-seed repeat (3 tiny trainings, ~10 s: the test-time budget allows no second one). The fixed-seed
    # case pairs its seed-7 run with the session's trained run: the same spec and seed 7, trained apart.
    spec = tiny_spec(train={"epochs": 1})  # the spec of tests/conftest.py::trained_run
    result = seeds.repeat(spec, 3, tmp_path, workers=1)  # one at a time: Keras's seed is process-wide
    assert result["finished"] == 3 and len(list(tmp_path.glob("*/" + seeds.SEED_FILE))) == 3
    stored = json.loads((tmp_path / seeds.SEEDS_FILE).read_text())
    assert [s["seed"] for s in stored["seeds"]] == [7, 8, 9]
    rmse = stored["metrics"]["rmse"]
    assert set(rmse) == {"mean", "std", "min", "max"}
    assert rmse["std"] > 0 and rmse["min"] < rmse["max"]
    k = stored["beats_persistence"]
    said = {3: "in every seed (3 of 3)", 0: "in none of the 3 seeds"}.get(k, f"in {k} of 3 seeds")
    assert stored["verdict"].startswith("The model beats persistence " + said), stored["verdict"]
    seed_7 = tmp_path / stored["seeds"][0]["run"]
    fixed = seeds.summary([seed_7, trained_run[0], seed_7])
    assert fixed["metrics"]["rmse"]["std"] == 0.0 and fixed["metrics"]["mae"]["std"] == 0.0


def test_the_verdict_says_every_some_or_none():
    assert seeds.verdict(3, 3, 3) == "The model beats persistence in every seed (3 of 3)."
    assert "only in some" in seeds.verdict(1, 3, 3)
    assert seeds.verdict(0, 2, 3) == "The model beats persistence in none of the 2 seeds (1 did not finish)."


def test_too_many_seeds_are_refused_before_anything_trains(monkeypatch):
    monkeypatch.setenv("RNNLAB_MAX_SEEDS", "4")
    with pytest.raises(DataError, match="1 to 4 seeds"):
        seeds.specs(tiny_spec(), 5)
