"""The README's two screenshots, made from the real app: `make screenshots`.

Starts `streamlit run app.py` on a free port (8570-8579) with a throwaway run store, opens it in
headless Chromium (Playwright driving Debian's `chromium`) at 1400 px, clicks Train on the built-in
default dataset (S&P 500, offline), and saves:

- docs/images/train-live.png: the Train page mid-training, with the live loss and prediction charts;
- docs/images/gates.png: the Inspect page's gate heatmaps of that run once it has ended.

Not a test: it took 1-2 minutes on a shared 2-core machine (a default run of 20 epochs trains in the
middle). Usage: `.venv/bin/python bench/screenshots.py [--out docs/images]`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PORTS = range(8570, 8580)
WIDTH = 1400

# Points on the live loss chart, and heatmap traces on the page (as tests/e2e/test_browser.py counts them).
LOSS_POINTS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => p.layout && p.layout.title && p.layout.title.text.includes('Loss'));
  return plot ? plot.data[0].x.length : 0;
}"""
HEATMAPS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(p => (p.data || []).filter(t => t.type === 'heatmap').length).reduce((a, b) => a + b, 0)"""


def free_port() -> int:
    """The first port of 8570-8579 nobody listens on (a fixed range, so a firewall rule can name it)."""
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("error: ports 8570-8579 are all taken; stop one of the servers on them and try again")


def start_app(port: int, store: Path) -> subprocess.Popen:
    """`streamlit run app.py` with its runs and caches in `store`; returns once /_stcore/health says ok."""
    env = {**os.environ, "RNNLAB_RUNS_DIR": str(store / "runs"), "RNNLAB_CACHE_DIR": str(store / "cache"),
           "RNNLAB_WORKER": "process"}
    log = open(store / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"error: streamlit did not start within 60 s; its log: {store / 'streamlit.log'}")


def stop_app(proc: subprocess.Popen, store: Path) -> None:
    """End the server, then any worker it left (workers outlive their server by design)."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    for live in (store / "runs").glob("*/live.json"):
        try:
            os.kill(int(json.loads(live.read_text()).get("pid") or 0), signal.SIGKILL)
        except (OSError, ValueError, TypeError):
            pass


def wait_idle(page, timeout: float = 60_000) -> None:
    """Connected, script not running, no skeletons: as Streamlit's own browser tests wait."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout)


def shoot(page, path: Path, top: float, bottom: float, left: float = 0.0, right: float = WIDTH) -> None:
    """Save the viewport's box from `top` to `bottom` and `left` to `right` (px) as `path`. Streamlit
    scrolls inside its main column, not the document, so what is shot must fit the viewport: the
    caller sizes it."""
    top, left = max(0.0, top), max(0.0, left)
    page.screenshot(path=str(path), clip={"x": left, "y": top, "width": min(right, WIDTH) - left, "height": bottom - top})
    print(f"wrote {path}")


def top_of(locator) -> float:
    """A locator's top edge in the viewport, px."""
    return locator.bounding_box()["y"]


def bottom_of(locator) -> float:
    """A locator's bottom edge in the viewport, px."""
    box = locator.bounding_box()
    return box["y"] + box["height"]


def capture(url: str, out: Path, epochs_mid: int, full: Path | None = None) -> None:
    """Train, shoot the live charts at `epochs_mid` epochs, wait for the end, shoot the gates; with
    `full`, the whole viewports too (to check a crop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_context(viewport={"width": WIDTH, "height": 1000}).new_page()
        page.goto(url)
        wait_idle(page)
        page.get_by_role("button", name=re.compile("Train")).click()
        page.mouse.move(WIDTH - 5, 995)  # away from the button, or its tooltip is in the picture
        page.wait_for_function(f"({LOSS_POINTS})() >= {epochs_mid}", timeout=300_000)
        page.get_by_text(re.compile(r"Predictions from epoch \d+")).first.wait_for(timeout=60_000)
        time.sleep(0.5)  # Plotly's last draw
        if full:
            page.screenshot(path=str(full / "train-full.png"))
        title = page.get_by_role("heading", name="Train").first
        caption = page.get_by_text(re.compile(r"Predictions from epoch \d+")).first
        shoot(page, out / "train-live.png", top_of(title) - 24, bottom_of(caption) + 12)

        page.get_by_text(re.compile(r"Status: finished \d+ epochs")).wait_for(timeout=600_000)
        wait_idle(page)
        page.set_viewport_size({"width": WIDTH, "height": 3200})  # the whole gate figure in view (see shoot)
        page.locator("[data-testid='stSidebarNav']").get_by_text("Inspect").click()
        page.wait_for_function(f"({HEATMAPS})() >= 6", timeout=120_000)
        wait_idle(page)
        time.sleep(1.0)  # Plotly's last draw
        if full:
            page.screenshot(path=str(full / "inspect-full.png"))
        figure = page.locator(".js-plotly-plot").filter(has=page.locator(".heatmaplayer")).first
        heading = page.get_by_text(re.compile(r"lstm_1 · test window 1 of \d+")).first
        box = figure.bounding_box()
        sidebar = page.locator("[data-testid='stSidebar']").bounding_box()
        shoot(page, out / "gates.png", top_of(heading) - 12, bottom_of(figure) + 12,
              left=max(box["x"] - 16, sidebar["x"] + sidebar["width"] + 1), right=box["x"] + box["width"] + 16)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    parser.add_argument("--epochs-mid", type=int, default=6, help="epochs on the loss chart at the live shot")
    parser.add_argument("--full", type=Path, help="also save the whole viewports here, to check the crops")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("error: Debian's chromium is not installed: apt-get install -y chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    store = Path(tempfile.mkdtemp(prefix="rnnlab-screens-"))
    port = free_port()
    proc = start_app(port, store)
    try:
        capture(f"http://127.0.0.1:{port}", args.out, args.epochs_mid, args.full)
    finally:
        stop_app(proc, store)
        shutil.rmtree(store, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
