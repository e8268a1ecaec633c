"""core/memory_race.py: the memory-race task, chrono initialisation and the background race."""
import numpy as np
import pytest

from core import memory_race


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
    final = memory_race.MemoryRace(spec).run()
    assert final.status == "finished" and final.message == "finished 2 runs"
    assert final.done == final.total == 2
    table = final.results.set_index("k")
    assert list(table.index) == [1, 100] and set(table["cell"]) == {"SimpleRNN"}
    assert table.loc[1, "accuracy"] > 0.9 and table.loc[1, "train_accuracy"] > 0.8
    assert 0.35 < table.loc[100, "accuracy"] < 0.65  # chance: 50% of 200 test sequences, within 4 sd
    assert (table["seconds"] > 0).all()


def test_a_stopped_race_keeps_no_cut_short_result():
    race = memory_race.MemoryRace(memory_race.RaceSpec(lags=(5, 10, 20), samples=200, epochs=50))
    race.start()
    race.stop()
    race.join(60)
    state = race.state()
    # whether the Stop came before the first run or during it, that run is not counted
    assert state.status == "stopped" and state.message == "stopped after 0 of 9"
    assert state.done == 0 and state.total == 9 and state.results.empty


def test_race_settings_are_checked():
    with pytest.raises(ValueError, match="lags"):
        memory_race.MemoryRace(memory_race.RaceSpec(lags=(500,)))
    with pytest.raises(ValueError, match="init"):
        memory_race.MemoryRace(memory_race.RaceSpec(init="magic"))
