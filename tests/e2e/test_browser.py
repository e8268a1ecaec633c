"""A new user in a real browser: open the app, Train, watch epochs arrive, Stop."""
from __future__ import annotations

import re

from .conftest import screenshot, wait_idle

LOSS_POINTS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Loss'));
  return plot ? plot.data[0].x.length : 0;
}"""


def test_train_watch_and_stop(app_url, page):
    page.goto(app_url)
    wait_idle(page)
    assert page.get_by_text("S&P 500 index, daily").first.is_visible()
    screenshot(page, "01-landing")

    page.get_by_role("button", name=re.compile("Train")).click()
    page.wait_for_function(f"({LOSS_POINTS})() >= 2", timeout=120_000)
    screenshot(page, "02-training")

    page.get_by_role("button", name=re.compile("Stop")).click()
    status = page.get_by_text(re.compile(r"Status: stopped at epoch \d+ of 20"))
    status.wait_for(timeout=30_000)
    epochs = int(re.search(r"stopped at epoch (\d+)", status.inner_text()).group(1))
    assert 2 <= epochs < 20
    # The full rerun after the job ends refreshes the sidebar too and stops the polling.
    page.locator("[data-testid='stSidebar']").get_by_text(re.compile("stopped at epoch")).wait_for(timeout=30_000)
    wait_idle(page)
    assert page.evaluate(LOSS_POINTS) == epochs
    assert page.get_by_text("persistence (tomorrow = today)").first.is_visible()
    screenshot(page, "03-stopped")
