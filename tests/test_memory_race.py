"""core/memory_race.py: the memory-race task, chrono initialisation, and the race as a run of the
worker pool (queued, trained by a worker, written to a run directory, stopped through the pool)."""
import json
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from core import livefiles, memory_race, pool, runs

from .conftest import tiny_spec


def test_task_label_is_the_sign_of_the_value_k_steps_back():
    X, y = memory_race.task(7, 50, seed=3)
    assert X.shape == (50, 8, 2) and y.shape == (50,)
    np.testing.assert_array_equal(y, (X[:, -1 - 7, 0] > 0).astype(np.float32))
    assert set(np.abs(X[:, 0, 0])) == {1.0}  # the key is exactly +1 or -1
    np.testing.assert_array_equal(X[:, :, 1].sum(axis=1), 1.0)  # one marker, on the key's step
    assert 10 < y.sum() < 40


def test_chrono_sets_lstm_forget_and_gru_update_biases():
    spec = memory_race.RaceSpec(units=8, init="chrono")
    lstm = memory_race.build("LSTM", 100, spec).get_layer("lstm").cell.bias.numpy()
    assert (lstm[8:16] >= 0).all() and lstm[8:16].max() <= np.log(100) and lstm[8:16].std() > 0
    np.testing.assert_allclose(lstm[:8], -lstm[8:16])
    gru = memory_race.build("GRU", 100, spec).get_layer("gru").cell.bias.numpy()
    assert (gru[0, :8] >= 0).all() and gru[0, :8].std() > 0
    default = memory_race.build("LSTM", 100, memory_race.RaceSpec(units=8, init="keras")).get_layer("lstm").cell.bias.numpy()
    np.testing.assert_allclose(default[8:16], 1.0)  # Keras's unit_forget_bias


def test_a_short_lag_is_learned_and_a_long_one_stays_at_chance():
    """The race's point in miniature: with the same small budget a SimpleRNN carries the key across
    1 step (test accuracy near 100%) but not across 100 noisy steps (chance, 50%). The race runs
    the short lag first, whatever order the lags were given in."""
    spec = memory_race.RaceSpec(lags=(100, 1), cells=("SimpleRNN",), units=8, samples=400, epochs=2)
    status, message, rows = memory_race.race(spec)
    assert status == "finished" and message == "finished 2 runs" and len(rows) == spec.total == 2
    table = pd.DataFrame(rows).set_index("k")
    assert list(table.index) == [1, 100] and set(table["cell"]) == {"SimpleRNN"}
    assert table.loc[1, "accuracy"] > 0.9 and table.loc[1, "train_accuracy"] > 0.8
    assert 0.35 < table.loc[100, "accuracy"] < 0.65  # chance: 50% of 200 test sequences, within 4 sd
    assert (table["seconds"] > 0).all()


def test_a_stopped_race_keeps_no_cut_short_result():
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()  # during the first training (50 epochs take far longer)
    status, message, rows = memory_race.race(memory_race.RaceSpec(lags=(5, 10, 20), samples=200, epochs=50), stop)
    assert status == "stopped" and message == "stopped after 0 of 9" and rows == []


def test_race_settings_are_checked(run_store):
    with pytest.raises(ValueError, match="lags"):
        memory_race.MemoryRace(memory_race.RaceSpec(lags=(500,)), run_store, None, None)
    with pytest.raises(ValueError, match="init"):
        memory_race.MemoryRace(memory_race.RaceSpec(init="magic"), run_store, None, None)
    with pytest.raises(ValueError, match="units"):
        memory_race.RaceSpec.from_dict({"units": 10_000})
    with pytest.raises(ValueError, match="JSON object"):
        memory_race.RaceSpec.from_dict({"lags": [5], "rm": "-rf"})
    spec = memory_race.RaceSpec(lags=(1, 5), cells=("GRU",))
    assert memory_race.RaceSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


TINY_RACE = memory_race.RaceSpec(lags=(1, 2), cells=("SimpleRNN",), units=4, samples=100, epochs=1)


def test_the_race_goes_through_the_pool_into_a_tagged_run_directory(run_store):
    """The race is a request of the pool: it is queued, a worker runs it, and its run directory ends
    with results.csv, run.json and the memory_race.json tag; the page reads it from there."""
    runner = pool.Pool(pool.InThreads(), max_workers=1)
    race = memory_race.MemoryRace(TINY_RACE, run_store, "ws", runner).start()
    assert race.run_dir.parent == run_store.resolve() and race.state().running
    final = race.join(120)
    assert final.status == "finished" and final.message == "finished 2 runs" and final.done == final.total == 2
    assert list(final.results["k"]) == [1, 2] and set(final.results["cell"]) == {"SimpleRNN"}
    ended = json.loads((race.run_dir / "run.json").read_text())
    assert ended["status"] == "finished" and ended["kind"] == "memory_race" and ended["workspace"] == "ws"
    assert memory_race.read_tag(race.run_dir) == TINY_RACE
    assert (race.run_dir / "results.csv").is_file() and livefiles.read_live(race.run_dir)["kind"] == "memory_race"
    listed = runs.list_runs(run_store, workspace="ws")  # tagged, so History can tell it from a training
    assert [(r["kind"], r["label"]) for r in listed] == [("memory_race", f"Memory race · {race.run_id}")]


def test_a_queued_race_waits_its_turn_and_stops_at_once_and_a_running_one_after_its_batch(run_store):
    runner = pool.Pool(pool.InThreads(), max_workers=1)
    long_run = run_store / "busy"
    runner.submit(pool.Request("busy", str(long_run), tiny_spec(train={"epochs": 500}).to_dict(), "other"))
    race = memory_race.MemoryRace(memory_race.RaceSpec(lags=(5, 10), samples=200, epochs=50), run_store, "ws",
                                  runner).start()
    queued = race.state()
    assert queued.status == "queued" and queued.running
    race.stop()
    stopped = race.join(10)
    assert stopped.status == "stopped" and "before it started" in stopped.message
    runner.stop("busy", long_run)

    again = memory_race.MemoryRace(memory_race.RaceSpec(lags=(5, 10), samples=200, epochs=50), run_store, "ws",
                                   runner).start()
    deadline = time.time() + 120
    while "training" not in again.state().message and time.time() < deadline:
        time.sleep(0.1)
    again.stop()
    final = again.join(60)
    assert final.status == "stopped" and final.message == "stopped after 0 of 6" and final.results.empty
    deadline = time.time() + 10
    while runner.knows(again.run_id) and time.time() < deadline:  # the pool lets go of its worker
        time.sleep(0.1)
    assert not runner.knows(again.run_id)


def test_the_race_trains_in_a_worker_process(run_store):
    """With the real launcher the race runs in a process of its own, not in the server."""
    runner = pool.Pool(pool.LocalProcesses(warm=False), max_workers=1)
    race = memory_race.MemoryRace(TINY_RACE, run_store, "ws", runner).start()
    final = race.join(180)
    assert final.status == "finished" and len(final.results) == 2
    assert livefiles.read_live(race.run_dir)["pid"] != os.getpid()
