"""A failed run on the Train page: the failure and what to do, and nothing computed from its weights.

"""
from __future__ import annotations

import math
import time

from streamlit.testing.v1 import AppTest

from core import models, runs

from ..conftest import tiny_spec
from .helpers import button, figures, new_app, param


def status(at: AppTest) -> str:
    """The status line when it is an error (a failed run's); "" otherwise."""
    return next((e.value for e in at.error if str(e.value).startswith("Status:")), "")


def chart_titles(at: AppTest) -> set[str]:
    return set(figures(at))


def train_until_it_fails(at: AppTest, timeout: float = 90.0) -> None:
    """Click Train and rerun until the page shows a failed status, then once more (the full page)."""
    button(at, "Train").click().run()
    deadline = time.time() + timeout
    while not status(at):
        assert not at.exception, at.exception
        assert time.time() < deadline, "the run did not fail"
        time.sleep(0.3)
        at.run()
    at.run()


def assert_only_the_failure(at: AppTest) -> None:
    """The failure view: no metrics, verdict, lag check, predictions, forecast, live link or downloads."""
    assert not at.exception, at.exception
    assert any("A failed run has no predictions, metrics or forecast" in c.value for c in at.caption)
    assert not at.dataframe  # the metrics table
    assert not at.success and not any("Lag and level check" in w.value or "On the" in w.value for w in at.warning)
    assert not any("metrics**" in m.value for m in at.markdown)
    assert chart_titles(at) <= {"Loss"}  # no predictions, forecast, step errors, residuals or lags
    assert not any("gates of this run" in link.proto.label for link in at.get("page_link"))
    assert not at.get("download_button")


def test_a_diverged_run_shows_its_failure_advice_and_loss_only():
    spec = tiny_spec(model={"cell": "SimpleRNN"}, train={"optimizer": "sgd", "learning_rate": 10.0, "epochs": 2})
    at = new_app(spec)
    at.run()
    train_until_it_fails(at)
    assert "loss became" in status(at) and "lower the learning rate (now 10)" in status(at)
    assert_only_the_failure(at)
    history = runs.read_history(runs.find(param(at, "run"))) or {"loss": []}
    finished = sum(math.isfinite(v) for v in history["loss"])  # epochs with a loss before it became NaN or inf
    assert ("Loss" in chart_titles(at)) == (finished > 0)  # the loss of the epochs before the failure, if any

    later = new_app(run=param(at, "run"), ws=param(at, "ws"))  # a refreshed tab
    later.run()
    assert "loss became" in status(later)
    assert_only_the_failure(later)


def test_a_run_that_fails_before_training_shows_the_error_and_what_to_do(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(models, "build", broken)
    at = new_app(tiny_spec())
    at.run()
    train_until_it_fails(at)
    # what failed, in red (train_until_it_fails waited for a red status: this checks what it says)
    assert "RuntimeError: out of memory" in status(at), status(at)
    assert_only_the_failure(at)
    assert not chart_titles(at)  # not one epoch: no loss to draw
