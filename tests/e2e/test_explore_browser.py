"""Inspect → Explore in a real browser, on the session's trained run (tests/conftest.py::trained_run,
LSTM(4), window 10): brush a span with the slider pair, match, edit the input, clamp units."""
from __future__ import annotations

import json
import re
import shutil

from core import runs

from .conftest import screenshot, wait_idle

TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(p => (p.layout && p.layout.title && p.layout.title.text) || '')"""


def _metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return box.get_by_test_id("stMetricValue").inner_text()


def _changed(page, label: str, old: str) -> str:
    """Wait until the metric `label` shows something other than `old`; its new value."""
    page.wait_for_function(
        """([label, old]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
             .some(m => m.innerText.includes(label)
                   && m.querySelector('[data-testid="stMetricValue"]').innerText !== old)""",
        arg=[label, old], timeout=30_000)
    return _metric(page, label)


def test_explore_brush_match_edit_and_clamp(app_url, app_runs, trained_run, page):
    target = app_runs / "explore-e2e"
    shutil.copytree(trained_run[0], target)
    info = json.loads((target / "run.json").read_text())
    info.update(run_id="explore-e2e", workspace=runs.workspace_id("explore-e2e-token"))
    (target / "run.json").write_text(json.dumps(info))

    page.goto(f"{app_url}/inspect?run=explore-e2e&ws=explore-e2e-token")
    wait_idle(page, 90_000)
    page.get_by_role("radio", name="Explore", exact=True).click()
    wait_idle(page)

    # Brush: the span's left thumb one step earlier (steps 5-10 of 10), the threshold to its floor, so every
    # unit is on over the span and the pattern is the layer's 4 units.
    span = page.get_by_test_id("stSlider").filter(has_text="Span (steps of the window)").get_by_role("slider")
    span.first.press("ArrowLeft")
    wait_idle(page)
    page.get_by_test_id("stSlider").filter(has_text="Threshold").get_by_role("slider").press("Home")
    page.wait_for_function(f"({TITLES})().some(t => t.includes('4 of 4 units on over steps 5-10'))", timeout=30_000)
    wait_idle(page)
    titles = page.evaluate(TITLES)
    assert any("Top matches" in t for t in titles), titles  # the small multiples are drawn
    summary = page.get_by_text(re.compile(r"^After the \d+ match")).first
    assert int(re.search(r"After the (\d+)", summary.inner_text()).group(1)) >= 1
    screenshot(page, "08-explore-match")

    # What-if: shift the last steps by 500 (input units), then clamp the four units at their mean.
    page.get_by_role("radio", name="What-if", exact=True).click()
    wait_idle(page)
    original = _metric(page, "Forecast, original")
    assert _metric(page, "Forecast, what-if") == original  # nothing edited yet
    page.get_by_test_id("stSelectbox").filter(has_text="Edit the input").click()
    page.get_by_role("option", name="add a value to the span").click()
    wait_idle(page)
    value = page.get_by_label("Value", exact=True)
    value.fill("500")
    value.press("Enter")
    edited = _changed(page, "Forecast, what-if", original)
    assert _metric(page, "Forecast, original") == original
    clamp = page.get_by_test_id("stMultiSelect").filter(has_text="Clamp units")
    for unit in ("u0", "u1", "u2", "u3"):
        clamp.click()
        page.get_by_role("option", name=unit, exact=True).click()
    page.keyboard.press("Escape")
    clamped = _changed(page, "Forecast, what-if", edited)
    wait_idle(page)
    assert clamped != original
    assert page.get_by_test_id("stDataFrame").count() == 1  # the ablation table
    screenshot(page, "09-explore-whatif")
