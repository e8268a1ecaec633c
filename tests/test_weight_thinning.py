"""WeightHistory: per-epoch weight copies thinned to a byte budget (core/training.py)."""
import numpy as np

from core import training
from core.training import WeightHistory

COPY = [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)]  # one copy: 80 bytes
ONE = sum(a.nbytes for a in COPY)


def _weights(epoch: int) -> list[np.ndarray]:
    return [np.full_like(a, epoch) for a in COPY]


def _kept_after_each(budget: int, epochs: int) -> list[list[int]]:
    history = WeightHistory(budget)
    kept = []
    for epoch in range(epochs):
        history.keep(epoch, _weights(epoch))
        kept.append(list(history.history()))
    return kept


def test_every_epoch_is_kept_while_under_the_budget():
    history = WeightHistory(budget=ONE * 100)
    for epoch in range(10):
        history.keep(epoch, _weights(epoch))
    kept = history.history()
    assert list(kept) == list(range(10)) and len(history) == 10 and history.every == 1
    for epoch, weights in kept.items():
        assert weights[0][0, 0] == epoch  # the arrays stored for that epoch, unchanged


def test_reaching_the_budget_keeps_every_2nd_then_4th_epoch():
    kept = _kept_after_each(budget=ONE * 4, epochs=10)
    assert kept[3] == [0, 1, 2, 3]  # 4 copies fill the budget exactly
    assert kept[4] == [0, 2, 4]  # the 5th passes it: every other epoch goes
    assert kept[5] == [0, 2, 4, 5]  # 5 stays as the latest ...
    assert kept[6] == [0, 2, 4, 6]  # ... until 6 comes
    assert kept[7] == [0, 4, 7]  # past the budget again: every 4th
    assert kept[8] == [0, 4, 8]
    assert kept[9] == [0, 4, 8, 9]


def test_the_latest_and_the_first_epoch_are_always_kept_and_the_budget_holds():
    for budget_copies in (3, 4, 5, 7):
        history = WeightHistory(budget=ONE * budget_copies)
        for epoch in range(60):
            history.keep(epoch, _weights(epoch))
            kept = list(history.history())
            assert kept[0] == 0 and kept[-1] == epoch
            assert len(kept) * ONE <= history.budget
            assert all(e % history.every == 0 for e in kept[:-1])  # all but the latest are on the grid


def test_a_copy_larger_than_the_budget_still_leaves_the_first_and_the_latest():
    history = WeightHistory(budget=ONE // 2)
    for epoch in range(5):
        history.keep(epoch, _weights(epoch))
        assert list(history.history()) == ([0] if epoch == 0 else [0, epoch])


def test_keeping_the_latest_epoch_again_replaces_it():
    history = WeightHistory(budget=ONE * 100)
    for epoch in range(3):
        history.keep(epoch, _weights(epoch))
    history.keep(2, _weights(7))  # e.g. EarlyStopping restored another epoch's weights
    kept = history.history()
    assert list(kept) == [0, 1, 2] and kept[2][0][0, 0] == 7


def test_history_is_a_copy_and_the_default_budget_is_read_when_made(monkeypatch):
    monkeypatch.setattr(training, "WEIGHT_BUDGET", 123)
    history = WeightHistory()
    assert history.budget == 123
    history.keep(0, _weights(0))
    snapshot = history.history()
    history.keep(1, _weights(1))
    assert list(snapshot) == [0] and list(history.history()) == [0, 1]
