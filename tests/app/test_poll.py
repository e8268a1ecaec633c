"""How often the live view polls: quickly while the user waits for the first point and for the end."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ui.train_views import POLL, QUICK_POLL, poll_seconds


def fake_run(epoch: int, epochs: int = 20, stopping: bool = False):
    snap = SimpleNamespace(epoch=epoch, epochs=epochs)
    return SimpleNamespace(snapshot=lambda: snap, stopping=stopping)


@pytest.mark.parametrize("epoch, stopping, expected", [
    (0, False, QUICK_POLL),   # waiting for the first loss point
    (1, False, POLL),         # epochs coming in: the browser's redraws leave the CPU to the worker
    (18, False, POLL),
    (19, False, QUICK_POLL),  # the last epoch trains: the end is near, it shows within a quarter second
    (20, False, QUICK_POLL),  # fit done, the run is being saved
    (7, True, QUICK_POLL),    # Stop asked
])
def test_the_live_view_polls_quickly_at_the_start_and_the_end(epoch, stopping, expected):
    assert poll_seconds(fake_run(epoch, stopping=stopping), was_running=True) == expected


def test_an_ended_run_is_not_polled():
    assert poll_seconds(fake_run(20), was_running=False) is None
