"""Start the real app with `streamlit run` and drive it with Playwright in Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_runs(tmp_path_factory) -> Path:
    """The run store of the app that app_url serves: a test may place a finished run there and open it."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, app_runs):
    """The URL of a running `streamlit run app.py`, with its runs in a temporary folder."""
    port = _free_port()
    runs = app_runs
    env = {**os.environ, "RNNLAB_RUNS_DIR": str(runs), "RNNLAB_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
           "RNNLAB_WORKER": "process"}  # the real thing: every run in a worker process
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail(f"streamlit did not start:\n{log.read()}")
    yield url
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:  # a server busy finishing a run may ignore SIGTERM for a while
        proc.kill()
        proc.wait(10)
    kill_workers(runs)


def kill_workers(runs: Path) -> None:
    """Workers outlive their server by design (a restart re-attaches to them); a test run must not
    leave any training behind."""
    import json
    import signal

    for live in runs.glob("*/live.json"):
        try:
            pid = int(json.loads(live.read_text()).get("pid") or 0)
            if pid > 0 and pid != os.getpid():  # 0 would kill this process group; a run trained in-process names us
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, TypeError):
            pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed; .ci/run installs it when run as root")
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait as Streamlit's own browser tests do: connected, script not running, no skeletons."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
