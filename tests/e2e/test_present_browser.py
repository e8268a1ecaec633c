"""A presenter at a projector's 1280x720: the whole show runs from the first screen of presentation mode."""
from __future__ import annotations

import re

from .conftest import screenshot, wait_idle

LOSS_CHART = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Loss'));
  if (!plot) return null;
  const box = plot.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, points: plot.data[0].x.length};
}"""
SCROLLED = """() => Math.max(window.scrollY,
  ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], section')]
     .map(e => e.scrollTop))"""


def test_present_train_a_long_preset_watch_it_on_the_first_screen_and_stop_it(app_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/?present=1&preset=stock-lstm-60")  # the root: the app switches to Presets itself
        wait_idle(page)
        assert page.get_by_role("heading", name="Stock price, 60-day window, LSTM").is_visible()
        page.get_by_role("button", name=re.compile(r"Train$")).click()  # 50 epochs: minutes on any machine
        page.wait_for_function(f"(() => {{ const c = ({LOSS_CHART})(); return c && c.points >= 1; }})()",
                               timeout=180_000)
        chart = page.evaluate(LOSS_CHART)
        assert chart["top"] < 720 and chart["bottom"] <= 720, chart  # the live chart, whole, on the first screen
        stop = page.get_by_role("button", name=re.compile(r"Stop$"))
        assert stop.is_enabled() and stop.bounding_box()["y"] + stop.bounding_box()["height"] <= 720
        screenshot(page, "08-presenting-midtraining-1280x720")
        stop.click()  # from the same screen: no Exit, no Train page
        status = page.get_by_text(re.compile(r"Status: stopped at epoch \d+ of 50"))
        status.wait_for(timeout=60_000)
        epochs = int(re.search(r"stopped at epoch (\d+)", status.inner_text()).group(1))
        assert 1 <= epochs < 50
        wait_idle(page)
        assert page.evaluate(SCROLLED) == 0  # nothing above needed a scroll
        assert page.evaluate(LOSS_CHART)["points"] == epochs
        assert not page.locator("[data-testid='stSidebar']").is_visible()
        screenshot(page, "09-presenting-stopped-1280x720")
    finally:
        context.close()
