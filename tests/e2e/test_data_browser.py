"""A new user on the Data page in a real browser: upload a real-world CSV, then a broken one."""
from __future__ import annotations

import re

import pandas as pd

from .conftest import screenshot, wait_idle


def gbk_export(path) -> None:
    dates = pd.date_range("2015-01-05", periods=300, freq="B")[::-1]  # newest first
    rows = "".join(f"{i},{d:%Y/%m/%d},{10 + (i % 17) / 10:.2f},{1000 + i}\n" for i, d in enumerate(dates))
    path.write_bytes((",日期,收盘,成交量\n" + rows).encode("gbk"))


def test_upload_a_chinese_export_then_a_broken_file(app_url, page, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Data").click()
    wait_idle(page)
    page.get_by_text("Upload CSV").click()
    wait_idle(page)

    good = tmp_path / "行情.csv"
    gbk_export(good)
    page.locator("input[type='file']").set_input_files(str(good))
    page.get_by_text(re.compile(r"行情\.csv · 300 rows")).wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_text("Read as GB18030 text.").is_visible()
    assert page.get_by_text(re.compile("Rows were newest first")).is_visible()
    page.locator("[data-testid='stSidebar']").get_by_text(re.compile("predicting 收盘")).wait_for(timeout=10_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # the split chart and the window heatmap
    screenshot(page, "10-data-csv-loaded")

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    page.locator("input[type='file']").set_input_files(str(broken))
    page.get_by_text(re.compile("^broken.csv is a binary file.*previous data is kept")).wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"行情\.csv · 300 rows")).is_visible()
    screenshot(page, "11-data-csv-broken")
