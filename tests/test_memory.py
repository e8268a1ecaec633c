"""core/memory.py: the memory-race task, chrono initialisation and the background race."""
import numpy as np
import pytest

from core import memory


def test_task_label_is_the_sign_of_the_value_k_steps_back():
    X, y = memory.task(7, 50, seed=3)
    assert X.shape == (50, 8, 2) and y.shape == (50,)
    np.testing.assert_array_equal(y, (X[:, -1 - 7, 0] > 0).astype(np.float32))
    assert set(np.abs(X[:, 0, 0])) == {1.0}  # the key is exactly +1 or -1
    np.testing.assert_array_equal(X[:, :, 1].sum(axis=1), 1.0)  # one marker, on the key's step
    assert 10 < y.sum() < 40


def test_chrono_sets_lstm_forget_and_gru_update_biases():
    spec = memory.RaceSpec(units=8, init="chrono")
    lstm = memory.build("LSTM", 100, spec).get_layer("lstm").cell.bias.numpy()
    assert (lstm[8:16] >= 0).all() and lstm[8:16].max() <= np.log(100) and lstm[8:16].std() > 0
    np.testing.assert_allclose(lstm[:8], -lstm[8:16])
    gru = memory.build("GRU", 100, spec).get_layer("gru").cell.bias.numpy()
    assert (gru[0, :8] >= 0).all() and gru[0, :8].std() > 0
    default = memory.build("LSTM", 100, memory.RaceSpec(units=8, init="keras")).get_layer("lstm").cell.bias.numpy()
    np.testing.assert_allclose(default[8:16], 1.0)  # Keras's unit_forget_bias


def test_race_runs_short_lags_first_and_can_be_stopped():
    spec = memory.RaceSpec(lags=(3, 1), cells=("SimpleRNN", "LSTM"), units=4, samples=200, epochs=1)
    final = memory.MemoryRace(spec).run()
    assert final.status == "finished" and final.done == final.total == 4
    assert list(final.results["k"]) == [1, 1, 3, 3]
    assert final.results["accuracy"].between(0, 1).all()
    race = memory.MemoryRace(memory.RaceSpec(lags=(5, 10, 20), samples=200, epochs=50))
    race.start()
    race.stop()
    race.join(60)
    assert race.state().status == "stopped" and race.state().done < 9


def test_race_settings_are_checked():
    with pytest.raises(ValueError, match="lags"):
        memory.MemoryRace(memory.RaceSpec(lags=(500,)))
    with pytest.raises(ValueError, match="init"):
        memory.MemoryRace(memory.RaceSpec(init="magic"))
