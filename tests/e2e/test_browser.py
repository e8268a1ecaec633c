"""A new user in a real browser: open the app, Train, watch epochs arrive, Stop."""
from __future__ import annotations

import re

from .conftest import screenshot, wait_idle

LOSS_POINTS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Loss'));
  return plot ? plot.data[0].x.length : 0;
}"""


HEATMAPS = """(() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(p => (p.data || []).filter(t => t.type === 'heatmap').length).reduce((a, b) => a + b, 0))()"""


def test_train_watch_and_stop(app_url, page):
    outside = []  # the app must work offline: nothing may be fetched from another host (a font server, say)
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((app_url, "data:", "blob:")) else None)
    page.goto(app_url)
    wait_idle(page)
    assert page.get_by_text("S&P 500 index, daily").first.is_visible()
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    assert icons and all(href.startswith(app_url) for href in icons), icons  # the page icon ships with the app
    screenshot(page, "01-landing")

    page.get_by_role("button", name=re.compile("Train")).click()
    page.wait_for_function(f"({LOSS_POINTS})() >= 2", timeout=120_000)
    screenshot(page, "02-training")

    page.get_by_role("button", name=re.compile("Stop")).click()
    status = page.get_by_text(re.compile(r"Status: stopped at epoch \d+ of 20"))
    status.wait_for(timeout=30_000)
    epochs = int(re.search(r"stopped at epoch (\d+)", status.inner_text()).group(1))
    assert 2 <= epochs < 20
    # The full rerun after the job ends stops the polling and offers the run's files.
    page.get_by_role("button", name=re.compile("predictions.csv")).wait_for(timeout=30_000)
    wait_idle(page)
    assert page.evaluate(LOSS_POINTS) == epochs
    assert page.get_by_text("persistence (tomorrow = today)").first.is_visible()
    screenshot(page, "03-stopped")

    # Switch pages, then refresh: the URL still names the run, so nothing is lost.
    page.locator("[data-testid='stSidebarNav']").get_by_text("Data").click()
    wait_idle(page)
    page.wait_for_url(re.compile(r"run="), timeout=30_000)  # the page puts it back after the switch's rerun
    page.reload()
    wait_idle(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    try:  # a fresh session after the reload; the new warm worker imports TensorFlow on the same two cores
        sidebar.get_by_text(re.compile(f"stopped at epoch {epochs} of 20")).wait_for(timeout=60_000)
    except Exception:
        screenshot(page, "04-after-refresh-FAILED")  # what the page showed instead, for the next reader
        raise
    sidebar.locator("[data-testid='stSidebarNav']").get_by_text("Train").click()
    page.get_by_text(f"Status: stopped at epoch {epochs} of 20").wait_for(timeout=30_000)
    screenshot(page, "04-after-refresh")

    # Inspect: the run's gates as heatmaps, one per gate, under the input window.
    page.locator("[data-testid='stSidebarNav']").get_by_text("Inspect").click()
    page.wait_for_function(HEATMAPS + " >= 6", timeout=60_000)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"lstm_1 · test window 1 of \d+")).first.is_visible()
    screenshot(page, "05-inspect")
    assert outside == [], outside


def test_present_a_preset_and_ask_it_for_the_next_letter(app_url, page):
    page.goto(f"{app_url}/presets?present=1&preset=next-letter-1")
    wait_idle(page)
    assert page.get_by_role("heading", name="Next letter from one letter").is_visible()
    assert not page.locator("[data-testid='stSidebar']").is_visible()  # presentation mode: no sidebar
    page.get_by_role("button", name=re.compile(r"Train$")).click()  # presentation mode: one row, short labels
    page.get_by_text(re.compile(r"Status: finished \d+ epochs")).wait_for(timeout=120_000)
    box = page.get_by_label("Letters", exact=True).and_(page.get_by_test_id("stTextInputField"))
    box.wait_for(timeout=30_000)
    box.fill("abcd")
    box.press("Enter")
    page.get_by_text("next is “e”").first.wait_for(timeout=30_000)
    wait_idle(page)
    screenshot(page, "06-presenting-next-letter")
    page.get_by_role("button", name=re.compile(r"Next$")).click()
    page.get_by_role("heading", name="Next letter from four letters").wait_for(timeout=30_000)
    page.get_by_role("button", name=re.compile("Exit")).click()
    page.locator("[data-testid='stSidebar']").wait_for(timeout=30_000)
    screenshot(page, "07-after-presenting")
