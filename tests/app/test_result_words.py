"""Words for the numbers on Train: the verdict's box follows the whole verdict, and every baseline
the table names is explained next to it."""
from __future__ import annotations

from core import evaluate

from ..conftest import tiny_spec
from .helpers import button, new_app, poll, session_run


def test_the_verdict_box_is_green_only_when_the_model_beats_every_baseline():
    at = new_app(tiny_spec(train={"epochs": 1}))  # one epoch: linear AR beats it, though it may beat persistence
    at.run()
    button(at, "Train").click().run()
    poll(at, lambda a: not session_run(a).running, timeout=300)  # a loaded 2-core box: ETS and ARIMA too
    at.run()
    metrics = session_run(at).snapshot().metrics
    verdict = [m for m in [*at.success, *at.info, *at.warning] if m.value.startswith("On the test targets")]
    assert len(verdict) == 1
    kind = {"wins": "success", "ties": "info", "loses": "warning"}[evaluate.outcome(metrics["test"], metrics["baselines"])]
    assert verdict[0] in getattr(at, kind)
    notes = next(m.value for m in at.markdown if "**linear AR**:" in m.value)
    assert "**ETS**:" in notes and "**ARIMA**:" in notes
