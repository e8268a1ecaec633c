"""A queued run: the page says it waits, and draws no empty charts (their axes meant nothing: -1..4, 0..6)."""
from __future__ import annotations

import threading

import pytest

from core import pool

from ..conftest import tiny_spec
from .helpers import button, new_app, session_run, status


class _Busy:
    """A handle that never ends: the pool's one worker slot stays taken."""
    pid = None

    def poll(self):
        return None

    def kill(self):
        pass


class _Nothing:
    """A launcher that starts nothing, so every run after the first waits in the queue."""

    def prewarm(self):
        pass

    def launch(self, request):
        return _Busy()

    def close(self):
        pass


@pytest.fixture
def full_pool(monkeypatch, run_store):
    busy = pool.Pool(_Nothing(), max_workers=1)
    monkeypatch.setattr(pool, "_POOL", busy)
    blocker = run_store / "blocker"
    blocker.mkdir(parents=True)
    busy.submit(pool.Request("blocker", str(blocker), tiny_spec().to_dict(), None, None))
    yield busy
    busy.close()


def test_a_queued_run_says_so_and_draws_no_empty_charts(full_pool):
    at = new_app(tiny_spec())
    at.run()
    button(at, "Train").click().run()
    assert not at.exception, at.exception
    assert session_run(at).snapshot().queued and status(at).startswith("Status: queued")
    assert not at.get("plotly_chart")  # no loss or prediction chart with empty axes
    assert any(c.value.startswith("Queued: the loss curve") for c in at.caption)
