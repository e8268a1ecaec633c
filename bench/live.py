"""What the user feels: the real app (`streamlit run app.py`) driven in headless Chromium.

    .venv/bin/python bench/live.py [--only throughput,first,cold,stop,rss,pinned,cloud] [--epochs 10]
        [--pairs 2] [--runs 20] [--stop-epochs 100] [--port 0] [--app-dir DIR]

Not part of the test suite: it prints figures and ratios (medians when repeated) to stdout and its
progress to stderr (`2>/dev/null` leaves the report). Every server start gets fresh temporary
RNNLAB_RUNS_DIR and RNNLAB_CACHE_DIR, runs in its own process group, and that group (and any
process it left behind) is killed at the end of its section. Screenshots go to artifacts/bench/.

Sections (the default spec everywhere: S&P 500, LSTM(64), window 60, with --epochs):

throughput  Train click -> the page shows "Status: finished ...", against a plain Keras script
            (a subprocess, as a notebook user would write it: `core.data.load` + `core.windows.make`,
            then `core.models.build` and `model.fit(X, y, validation_data=..., epochs, batch_size)`),
            timed from model build to the end of fit. App and script alternate (A B A B, --pairs
            pairs) so drift in machine speed hits both; medians are quoted.
            Ratio script / app, target >= 0.95.
first       From the same runs: Train click -> first loss point on the page (the status shows
            epoch >= 1, or the loss chart has a point), against the script's build -> end of epoch 1.
            Target: app <= script + 0.5 s.
cold        Launching `streamlit run` -> /_stcore/health answers "ok", and -> a usable Train button
            (visible and enabled) in the browser, which is opened once the health check answers.
            Ratio button / health, target <= 2. Repeated --pairs times.
stop        A long training (--stop-epochs), Stop clicked once the page shows a loss point ->
            the page shows "stopped". Repeated --pairs times. No target is set here;
            bench/overhead.py aims at about 2 s in-process, without the page.
rss         The server's resident memory (VmRSS of the `streamlit run` process) after the first and
            after the last of --runs one-epoch trainings done one after another in one page
            (click Train, wait for "finished", repeat). Target: delta <= 50 MB. Before those, one
            default run (--epochs) on the fresh server, during which the RSS of the server plus
            all its child processes (training may move to worker processes) is sampled every
            0.25 s. Target: peak < 1 GB. PSS (shared pages counted once) is printed next to it,
            since summed RSS counts pages shared between processes more than once.
pinned      throughput again with the server pinned to CPU 0 (`taskset -c 0 streamlit run ...`),
            as on a 1-CPU host. For fairness the script is pinned to CPU 0 as well, and Chromium
            to CPU 1 (the browser runs on the user's machine, not on the server's CPU); on a
            1-CPU machine Chromium is left unpinned.
cloud       The deployed shape (issue 21): the server, its workers and the plain script pinned to
            CPU 0, Chromium and this driver (with Playwright's node process) on CPU 1. Per pair: a
            cold start (launch -> health, -> usable Train), Train clicked at once on that first
            screen, a second click in a new session, then the script. Prints the issue's table
            (ratio, first point, cold start, idle CPU-seconds on CPU 0 per run), the CPU-seconds per
            process (server, the run's worker, the next spare), and where one run's wall time goes
            (click -> the worker has the request -> first batch -> end of fit -> run.json -> the
            page shows finished), from the `timeline` the worker writes into live.json.

Timing: the click and the status changes are timestamped inside the page (a capture click
listener and a 50 ms status check, both on performance.now()), so the figures do not include
Playwright's round trips. The page polls the server once a second, so the app's figures include
up to ~1 s of poll delay: that is part of what the user sees. "finished" is published after the
run is saved (final predictions, forecast, files), which the script does not do: also felt.
Each app run opens a new browser session (a first visit: ?train.epochs=N on the URL, the app's
share-link format), except the --runs loop, which trains again and again in one page, as a
user iterating on a model does.

Memory is read from /proc (Linux only; psutil is not a dependency of the app).
Figures are noisy on a small shared machine: compare medians, and rerun before concluding.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "bench"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; `playwright install` cannot download a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECTIONS = ("throughput", "first", "cold", "stop", "rss", "pinned", "cloud")

# Button names as Playwright sees them include the Material icon's ligature ("play_arrow Train"):
# anchor on the label at the end so "Train this preset" or a future "Retrain" do not match.
TRAIN = re.compile(r"(^|\W)Train\s*$")
STOP = re.compile(r"(^|\W)Stop\s*$")

# Installs (once per page) a recorder in the page and arms it for the next click on a button whose
# text matches `button`. It timestamps, on the page's clock:
#   click  the click on that button (capture listener, so before Streamlit's handler);
#   first  the first status at epoch >= 1 (or a loss-chart point, or a final status);
#   end    the first final status: finished, stopped or failed.
# With `fresh`, statuses count only once the page has shown a non-final status after the click:
# when one page trains again, the previous run's "finished" is still on screen for a moment.
RECORDER = r"""(arm) => {
  window.__bench = {button: new RegExp(arm.button), needFresh: arm.fresh, fresh: false,
                    click: null, first: null, firstText: null, end: null, endText: null, last: null};
  if (window.__benchInstalled) return;
  window.__benchInstalled = true;
  const FINAL = /\b(finished|stopped|failed)\b/i;
  const EPOCH = /epoch (\d+) of (\d+)/i;
  const status = () => {
    const root = document.querySelector('[data-testid="stMain"]') || document.body;
    for (const el of root.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
      const text = el.textContent.trim();
      if (text.startsWith('Status:')) return {text, stale: !!el.closest('[data-stale="true"]')};
    }
    return null;
  };
  const lossPoints = () => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')]
      .find(p => p.layout && p.layout.title && String(p.layout.title.text || '').includes('Loss'));
    return plot && plot.data && plot.data[0] && plot.data[0].x ? plot.data[0].x.length : 0;
  };
  document.addEventListener('click', (e) => {
    const b = window.__bench;
    const button = e.target && e.target.closest ? e.target.closest('button') : null;
    if (b && b.click === null && button && b.button.test(button.innerText.replace(/\s+/g, ' ').trim())) {
      b.click = performance.now();
      b.clickWall = Date.now() / 1000;  // Unix time, to line up with the worker's timeline
    }
  }, true);
  setInterval(() => {
    const b = window.__bench;
    if (!b || b.click === null || b.end !== null) return;
    const s = status();
    if (!s || s.stale) return;
    b.last = s.text;
    const final = FINAL.test(s.text);
    if (b.needFresh && !b.fresh) {
      if (final) return;
      b.fresh = true;
    }
    const now = performance.now();
    const m = EPOCH.exec(s.text);
    if (b.first === null && (final || (m && +m[1] >= 1) || lossPoints() >= 1)) {
      b.first = now;
      b.firstText = s.text;
    }
    if (final) { b.end = now; b.endText = s.text; b.endWall = Date.now() / 1000; }
  }, 50);
}"""
RECORDED = "() => { const b = window.__bench; return {click: b.click, first: b.first, firstText: b.firstText, " \
           "end: b.end, endText: b.endText, last: b.last, clickWall: b.clickWall, endWall: b.endWall}; }"

# The plain Keras script, as a notebook user writes it. Run in the app's directory (its `core`).
# Data loading and imports come first and are not timed (a notebook has them done already); the
# clock starts at model build, as TrainingJob.fit_seconds and bench/overhead.py do. The seed is set
# as the app sets it. `core.data` is imported before Keras, as app.py does (see core/tickers.py).
SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
started = time.perf_counter()
sys.path.insert(0, os.getcwd())
from core import data, windows
from core.spec import ExperimentSpec
import keras
from core import models

spec = ExperimentSpec().replace(train={"epochs": int(sys.argv[1])})
w = windows.make(data.load(spec.data), spec)
keras.utils.set_random_seed(spec.train.seed)
ends = []
def cpu0_idle():  # seconds CPU 0 has been idle since boot (see cpu_idle_seconds)
    f = next(l for l in open("/proc/stat") if l.startswith("cpu0 ")).split()
    return (int(f[4]) + int(f[5])) / os.sysconf("SC_CLK_TCK")
t0 = time.perf_counter()
cpu0 = time.process_time()
idle0 = cpu0_idle()
model = models.build(spec.model, spec.train, w.input_shape, spec.window.horizon)
model.fit(w.X["train"], w.y["train"], validation_data=(w.X["val"], w.y["val"]), epochs=spec.train.epochs,
          batch_size=spec.train.batch_size, verbose=0,
          callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(time.perf_counter() - t0))])
fit = time.perf_counter() - t0
print(json.dumps({"fit": fit, "fit_cpu": time.process_time() - cpu0, "fit_cpu0_idle": cpu0_idle() - idle0, "epoch1": ends[0], "epochs": len(ends),
                  "process": time.perf_counter() - started}))
"""


def log(message: str) -> None:
    """Progress, on stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def report(line: str = "") -> None:
    print(line, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median_text(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """'12.30 s' for one value, '12.30 s median (12.10, 12.50)' for several."""
    med = f"{statistics.median(values):.{digits}f} {unit}"
    if len(values) == 1:
        return med
    return f"{med} median ({', '.join(f'{v:.{digits}f}' for v in values)})"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- processes and memory (/proc) ---------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """All processes below `pid` (children, grandchildren, ...), from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def proc_kb(pid: int, field: str, name: str = "status") -> int:
    """A 'Field:  123 kB' line of /proc/<pid>/status (or smaps_rollup); 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def rss_mb(pid: int) -> float:
    return proc_kb(pid, "VmRSS") / 1024


def tree_mb(pid: int) -> tuple[float, float, int]:
    """(summed RSS, summed PSS, process count) of `pid` and all its descendants, in MB."""
    pids = [pid, *descendants(pid)]
    rss = sum(proc_kb(p, "VmRSS") for p in pids) / 1024
    pss = sum(proc_kb(p, "Pss", "smaps_rollup") for p in pids) / 1024
    return rss, pss, len(pids)


class PeakSampler(threading.Thread):
    """Samples the server's process tree every `every` seconds; `reset()` starts a new window."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self._done = threading.Event()
        self.reset()

    def reset(self) -> None:
        self.peak_rss = self.peak_pss = 0.0
        self.peak_procs = 0

    def run(self) -> None:
        while not self._done.wait(self.every):
            rss, pss, procs = tree_mb(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, procs)

    def stop(self) -> None:
        self._done.set()
        self.join()


# -- the server ---------------------------------------------------------------------------------
class Server:
    """`streamlit run app.py` as the e2e tests start it, in its own process group."""

    def __init__(self, app_dir: Path, port: int, cpus: str | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="rnnlab-live-"))
        env = dict(os.environ)
        env.pop("RNNLAB_DEFAULT_SPEC", None)  # the built-in default spec, whatever the caller's shell has
        env["RNNLAB_RUNS_DIR"] = str(self.tmp / "runs")
        env["RNNLAB_CACHE_DIR"] = str(self.tmp / "cache")
        venv_python = app_dir / ".venv" / "bin" / "python"
        python = str(venv_python) if venv_python.exists() else sys.executable
        cmd = [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        if cpus is not None:
            cmd = ["taskset", "-c", cpus, *cmd]  # taskset execs, so the pid stays the server's
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.tmp / "streamlit.log", "w+")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # its own group: killed as a whole at the end

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_healthy(self, timeout: float = 180) -> float:
        """Seconds from launch until /_stcore/health answers 'ok' (polled every 50 ms)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"streamlit did not answer its health check in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join((self.tmp / "streamlit.log").read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """SIGTERM the process group, SIGKILL what is left (the group, and any descendant that left it)."""
        left = descendants(self.pid)
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:  # a server busy finishing a run may ignore SIGTERM for a while
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in left:  # a worker that started its own session is outside the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- the browser ----------------------------------------------------------------------------------
def wait_idle(page, timeout: float = 120_000) -> None:
    """As Streamlit's own browser tests do: connected, script not running, no skeletons."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout)


def screenshot(page, name: str) -> None:
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception as exc:  # noqa: BLE001 - a screenshot is a nicety, never the failure
        log(f"screenshot {name} failed: {exc}")


def open_page(browser, server: Server, epochs: int):
    """A new browser session on the Train page with the default spec at `epochs` epochs, idle."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/?train.epochs={epochs}")
    page.get_by_role("button", name=TRAIN).wait_for(timeout=120_000)
    wait_idle(page)
    return context, page


def click_and_wait(page, button: re.Pattern, timeout_s: float, fresh: bool = True) -> dict:
    """Click `button`, wait for a final status; the recorder's timestamps, in seconds after the click."""
    page.evaluate(RECORDER, {"button": button.pattern, "fresh": fresh})
    page.get_by_role("button", name=button).click()
    page.wait_for_function("() => window.__bench.end !== null", timeout=timeout_s * 1000, polling=200)
    return seconds_after_click(page.evaluate(RECORDED))


def seconds_after_click(rec: dict) -> dict:
    if rec["click"] is None:
        raise RuntimeError("the click was not seen by the page's recorder")
    for key in ("first", "end"):
        rec[key] = None if rec[key] is None else (rec[key] - rec["click"]) / 1000
    return rec


def app_training(browser, server: Server, epochs: int, name: str) -> dict:
    """One default-spec training in a new session: Train click -> first point, -> finished."""
    context, page = open_page(browser, server, epochs)
    try:
        rec = click_and_wait(page, TRAIN, timeout_s=max(600, 60 * epochs))
        if "finished" not in rec["endText"]:
            screenshot(page, f"{name}-unexpected")
            raise RuntimeError(f"the run ended with {rec['endText']!r}")
        screenshot(page, name)  # after the clock stopped
        return rec
    finally:
        context.close()


def launch_browser(pw, executable: str = CHROMIUM):
    return pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def pinned_chromium(cpu: int) -> Path:
    """A wrapper that starts Chromium pinned to `cpu` (its renderers inherit the affinity)."""
    wrapper = Path(tempfile.mkdtemp(prefix="rnnlab-chromium-")) / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec taskset -c {cpu} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


# -- the plain script -----------------------------------------------------------------------------
def script_training(app_dir: Path, epochs: int, cpus: str | None = None) -> dict:
    """The plain Keras script in a subprocess: {'fit': build -> end of fit, 'epoch1': build -> end
    of epoch 1, 'process': the whole process including imports and data}."""
    cmd = [sys.executable, "-c", SCRIPT, str(epochs)]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]
    out = subprocess.run(cmd, cwd=app_dir, capture_output=True, text=True, timeout=max(600, 60 * epochs))
    if out.returncode != 0:
        raise RuntimeError(f"the script failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- sections -----------------------------------------------------------------------------------
def ab_pairs(args, browser, cpus: str | None, tag: str) -> tuple[list[dict], list[dict]]:
    """--pairs rounds of (app, script), in that order, on one server; returns (app runs, script runs).

    Run 1 of the app is the server's first training (one-time start-up inside the server process);
    every script run is a fresh process, so it pays its own start-up each time, as a notebook's
    first fit does."""
    server = Server(args.app_dir, args.port or free_port(), cpus)
    app, script = [], []
    try:
        log(f"{tag}: server up in {server.wait_healthy():.1f} s")
        for i in range(args.pairs):
            app.append(app_training(browser, server, args.epochs, f"{tag}-app-{i + 1}"))
            log(f"{tag} {i + 1}/{args.pairs}: app {app[-1]['end']:.2f} s (first point {app[-1]['first']:.2f} s)")
            script.append(script_training(args.app_dir, args.epochs, cpus))
            log(f"{tag} {i + 1}/{args.pairs}: script {script[-1]['fit']:.2f} s (epoch 1 {script[-1]['epoch1']:.2f} s)")
    finally:
        server.close()
    return app, script


def report_throughput(name: str, app: list[dict], script: list[dict], epochs: int, note: str = "") -> None:
    a = [r["end"] for r in app]
    s = [r["fit"] for r in script]
    ratio = statistics.median(s) / statistics.median(a)
    report(f"{name}: ratio script/app {ratio:.3f} (target >= 0.95: {verdict(ratio >= 0.95)}); "
           f"app {statistics.median(a):.2f} s, script {statistics.median(s):.2f} s{note}")
    report(f"  app    Train click -> 'finished' ({epochs} epochs): {median_text(a)}")
    report(f"  script model build -> end of fit:          {median_text(s)}")
    report(f"  script whole process (imports, data, fit): {median_text([r['process'] for r in script])}")
    report(f"  per-pair ratios: {', '.join(f'{x / y:.3f}' for x, y in zip(s, a))}")


def report_first(app: list[dict], script: list[dict]) -> None:
    a = [r["first"] for r in app]
    s = [r["epoch1"] for r in script]
    gap = statistics.median(a) - statistics.median(s)
    report(f"first: click -> first loss point {statistics.median(a):.2f} s, script build -> end of epoch 1 "
           f"{statistics.median(s):.2f} s; app - script {gap:+.2f} s (target <= +0.50 s: {verdict(gap <= 0.5)})")
    report(f"  app    click -> first point: {median_text(a)} (status then: "
           f"{', '.join(repr(r['firstText']) for r in app)})")
    report(f"  script build -> epoch 1 end: {median_text(s)}")


def section_cold(args, browser) -> None:
    """Launch -> health 'ok', and -> a visible, enabled Train button (page opened after health)."""
    from playwright.sync_api import expect

    health, button, idle = [], [], []
    for i in range(args.pairs):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})  # before the clock starts
        page = context.new_page()
        server = Server(args.app_dir, args.port or free_port())
        try:
            health.append(server.wait_healthy())
            page.goto(server.url, wait_until="commit")
            train = page.get_by_role("button", name=TRAIN)
            train.wait_for(state="visible", timeout=180_000)
            expect(train).to_be_enabled(timeout=180_000)
            button.append(time.perf_counter() - server.started)
            wait_idle(page, timeout=180_000)
            idle.append(time.perf_counter() - server.started)
            log(f"cold {i + 1}/{args.pairs}: health {health[-1]:.2f} s, button {button[-1]:.2f} s, idle {idle[-1]:.2f} s")
            if i == 0:
                screenshot(page, "cold-landing")
        finally:
            context.close()
            server.close()
    ratio = statistics.median(button) / statistics.median(health)
    report(f"cold: ratio button/health {ratio:.2f} (target <= 2: {verdict(ratio <= 2)}); "
           f"health {statistics.median(health):.2f} s, button {statistics.median(button):.2f} s")
    report(f"  launch -> health 'ok':            {median_text(health)}")
    report(f"  launch -> Train visible, enabled: {median_text(button)}")
    report(f"  launch -> page idle (not running): {median_text(idle)}")


def section_stop(args, browser) -> None:
    """Stop clicked after the first loss point of a long run -> the page says 'stopped'."""
    server = Server(args.app_dir, args.port or free_port())
    latencies, saved, texts = [], [], []
    try:
        log(f"stop: server up in {server.wait_healthy():.1f} s")
        for i in range(args.pairs):
            context, page = open_page(browser, server, args.stop_epochs)
            try:
                page.evaluate(RECORDER, {"button": TRAIN.pattern, "fresh": True})
                page.get_by_role("button", name=STOP).wait_for()
                page.get_by_role("button", name=TRAIN).click()
                page.wait_for_function("() => window.__bench.first !== null", timeout=600_000, polling=200)
                first = page.evaluate(RECORDED)
                if re.search(r"finished|stopped|failed", first["firstText"] or ""):
                    raise RuntimeError(f"the long run ended before Stop: {first['firstText']!r}")
                clicked = time.time()
                rec = click_and_wait(page, STOP, timeout_s=300, fresh=False)
                screenshot(page, f"stop-{i + 1}")
                # The worker's side: run.json is the last file it writes, after the fit loop halted,
                # the final predictions and the save (its mtime against the click, on one clock).
                newest = max((server.tmp / "runs").rglob("run.json"), key=lambda f: f.stat().st_mtime)
                saved.append(newest.stat().st_mtime - clicked)
                if "stopped" not in rec["endText"]:
                    raise RuntimeError(f"after Stop the page says {rec['endText']!r}")
                latencies.append(rec["end"])
                texts.append(rec["endText"])
                log(f"stop {i + 1}/{args.pairs}: {rec['end']:.2f} s ({rec['endText']}); worker saved after "
                    f"{saved[-1]:.2f} s")
            finally:
                context.close()
    finally:
        server.close()
    report(f"stop: Stop click -> 'stopped' {median_text(latencies)} "
           f"(runs of {args.stop_epochs} epochs, Stop once a loss point showed; no fixed target, in-process aim ~2 s)")
    report(f"  Stop click -> the worker halted and saved the run (run.json written) {median_text(saved)} "
           f"(target: halted within 1 s)")
    report(f"  pages said: {'; '.join(texts)}")


def section_rss(args, browser) -> None:
    """Peak memory of the server tree during one default run, then RSS growth over --runs runs."""
    server = Server(args.app_dir, args.port or free_port())
    sampler = None
    try:
        log(f"rss: server up in {server.wait_healthy():.1f} s; RSS {rss_mb(server.pid):.0f} MB")
        sampler = PeakSampler(server.pid)
        sampler.start()
        idle_rss = tree_mb(server.pid)[0]
        # One default run on the fresh server, sampled from just before the click to "finished".
        context, page = open_page(browser, server, args.epochs)
        try:
            page_rss = tree_mb(server.pid)[0]
            sampler.reset()
            default_run = click_and_wait(page, TRAIN, timeout_s=max(600, 60 * args.epochs))["end"]
            peak = (sampler.peak_rss, sampler.peak_pss, sampler.peak_procs)
            log(f"rss: default run {default_run:.2f} s, peak tree RSS {peak[0]:.0f} MB")
        finally:
            context.close()
        sampler.reset()
        # --runs one-epoch trainings, one after another in one page.
        context, page = open_page(browser, server, 1)
        times, after_first = [], None
        try:
            for i in range(args.runs):
                rec = click_and_wait(page, TRAIN, timeout_s=600)
                if "finished" not in rec["endText"]:
                    raise RuntimeError(f"run {i + 1} ended with {rec['endText']!r}")
                times.append(rec["end"])
                time.sleep(0.5)  # the page reruns in full once a run ends: let that start, then wait for it
                wait_idle(page)
                if i == 0:
                    after_first = rss_mb(server.pid)
                    log(f"rss: after run 1 the server has {after_first:.0f} MB")
                elif (i + 1) % 5 == 0:
                    log(f"rss: after run {i + 1} the server has {rss_mb(server.pid):.0f} MB")
            after_last = rss_mb(server.pid)
            last_tree = tree_mb(server.pid)
            screenshot(page, "rss-last-run")
        finally:
            context.close()
        loop_peak = sampler.peak_rss
    finally:
        if sampler is not None:
            sampler.stop()
        server.close()
    delta = after_last - after_first
    report(f"rss: server RSS after run 1 {after_first:.0f} MB, after run {args.runs} {after_last:.0f} MB, "
           f"delta {delta:+.0f} MB (target <= 50 MB: {verdict(delta <= 50)})")
    report(f"  {args.runs} one-epoch runs in one page, Train click -> 'finished': {median_text(times)}")
    report(f"  server tree after the last run: RSS {last_tree[0]:.0f} MB, PSS {last_tree[1]:.0f} MB, "
           f"{last_tree[2]} process(es); peak tree RSS during the runs {loop_peak:.0f} MB")
    report(f"peak: server + children RSS during one default run ({args.epochs} epochs, {default_run:.1f} s) "
           f"{peak[0]:.0f} MB (target < 1024 MB: {verdict(peak[0] < 1024)}); PSS {peak[1]:.0f} MB; "
           f"{peak[2]} process(es)")
    report(f"  tree RSS before it: idle server {idle_rss:.0f} MB, with the page open {page_rss:.0f} MB")


# -- cloud: the deployed shape ------------------------------------------------------------------
def own_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (its own threads, not its children), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuLedger(threading.Thread):
    """CPU-seconds spent by the server and every process below it during one window, sampled every
    0.1 s: a process's share is its last reading minus its first (0 for one born in the window)."""

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid, self._done = server_pid, threading.Event()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        for pid in [self.server_pid, *descendants(self.server_pid)]:
            value = own_cpu_seconds(pid)
            if value == 0.0 and pid in self.last:
                continue  # it ended: keep its last reading
            self.first.setdefault(pid, value if initial else 0.0)
            self.last[pid] = value

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.sample()

    def stop(self) -> dict[int, float]:
        """CPU-seconds per pid over the window."""
        self.sample()
        self._done.set()
        self.join()
        return {pid: self.last[pid] - self.first[pid] for pid in self.last}


def cpu_idle_seconds(cpu: int = 0) -> float:
    """Seconds CPU `cpu` has spent idle (idle + iowait in /proc/stat) since boot: the time no process
    at all ran there. On a shared machine the server's tree can be off CPU 0 while another
    process (not ours) runs there; that time is not idle."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            fields = line.split()
            return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def pin_tree(pid: int, cpu: int) -> None:
    """Pin `pid` and all its descendants, every thread (taskset -a), to `cpu`."""
    for p in [pid, *descendants(pid)]:
        subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(p)], capture_output=True)


def worker_timeline(server: Server) -> dict:
    """The newest run's timeline (Unix times the worker wrote into live.json: request, first_batch,
    fit_end, saved), with run.json's and started.json's mtimes; only those when the app writes none."""
    run_jsons = sorted((server.tmp / "runs").rglob("run.json"), key=lambda f: f.stat().st_mtime)
    if not run_jsons:
        return {}
    run_dir = run_jsons[-1].parent
    try:
        live = json.loads((run_dir / "live.json").read_text())
    except (OSError, ValueError):
        live = {}
    timeline = dict(live.get("timeline") or {})
    timeline["run_json"] = run_jsons[-1].stat().st_mtime
    if (run_dir / "started.json").exists():
        timeline["queued"] = (run_dir / "started.json").stat().st_mtime
    timeline["worker_pid"] = live.get("pid")
    return timeline


def cloud_run(browser, server: Server, epochs: int, name: str, page_and_context=None) -> dict:
    """One Train click on the pinned server: the page's times, the worker's timeline and the
    CPU-seconds of every process of the server's tree between the click and 'finished'."""
    context, page = page_and_context or open_page(browser, server, epochs)
    ledger = CpuLedger(server.pid)
    ledger.start()
    idle0 = cpu_idle_seconds(0)
    wall0 = time.perf_counter()
    try:
        rec = click_and_wait(page, TRAIN, timeout_s=max(600, 60 * epochs))
        wall = time.perf_counter() - wall0
        idle = cpu_idle_seconds(0) - idle0
        if "finished" not in rec["endText"]:
            raise RuntimeError(f"the run ended with {rec['endText']!r}")
    finally:
        cpu = ledger.stop()
    screenshot(page, name)
    context.close()
    timeline = worker_timeline(server)
    worker = timeline.get("worker_pid")
    rec.update(wall=wall, cpu0_idle=idle, timeline=timeline, cpu_tree=sum(cpu.values()), cpu_server=cpu.get(server.pid, 0.0),
               cpu_worker=cpu.get(worker, 0.0),
               cpu_others=sum(v for p, v in cpu.items() if p not in (server.pid, worker)))
    return rec


def breakdown(rec: dict) -> dict:
    """Seconds per stage of one run, from the page's wall clock and the worker's timeline."""
    t, click, end = rec["timeline"], rec.get("clickWall"), rec.get("endWall")
    out = {}
    if click and t.get("request"):
        out["click -> worker has the request"] = t["request"] - click
    if t.get("request") and t.get("first_batch"):
        out["worker has request -> first batch"] = t["first_batch"] - t["request"]
    if t.get("first_batch") and t.get("fit_end"):
        out["fit (first batch -> end of fit)"] = t["fit_end"] - t["first_batch"]
    if t.get("fit_end"):
        out["end of fit -> run.json"] = t["run_json"] - t["fit_end"]
    if end:
        out["run.json -> page shows finished"] = end - t["run_json"]
    if click and not t.get("request") and t.get("queued"):
        out["click -> queued (started.json)"] = t["queued"] - click
    return out


def section_cloud(args, pw) -> None:
    """The deployed shape (issue 21): server, workers and the plain script on CPU 0; Chromium and this
    driver on CPU 1. Cold start -> usable Train, the first click at once, then --pairs A/B pairs."""
    from playwright.sync_api import expect

    if not {0, 1} <= os.sched_getaffinity(0):
        raise RuntimeError("the cloud section needs CPUs 0 and 1")
    os.sched_setaffinity(0, {1})
    pin_tree(os.getpid(), 1)  # this driver and Playwright's node process
    wrapper = pinned_chromium(1)
    browser = launch_browser(pw, str(wrapper))
    app, script, colds = [], [], []
    try:
        for i in range(args.pairs):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            server = Server(args.app_dir, args.port or free_port(), cpus="0")
            try:
                health = server.wait_healthy()
                page.goto(f"{server.url}/?train.epochs={args.epochs}", wait_until="commit")
                train = page.get_by_role("button", name=TRAIN)
                train.wait_for(state="visible", timeout=180_000)
                expect(train).to_be_enabled(timeout=180_000)
                button = time.perf_counter() - server.started
                colds.append((health, button))
                log(f"cloud {i + 1}/{args.pairs}: health {health:.2f} s, Train usable {button:.2f} s; clicking at once")
                first_click = cloud_run(browser, server, args.epochs, f"cloud-first-{i + 1}", (context, page))
                app.append(first_click)
                log(f"cloud {i + 1}/{args.pairs}: first click -> finished {first_click['end']:.2f} s "
                    f"(first point {first_click['first']:.2f} s); {breakdown(first_click)}")
                time.sleep(3)  # as a visitor reads the result; the spare worker warms meanwhile
                second = cloud_run(browser, server, args.epochs, f"cloud-app-{i + 1}")
                app.append(second)
                log(f"cloud {i + 1}/{args.pairs}: second run {second['end']:.2f} s; {breakdown(second)}")
            finally:
                server.close()
            script.append(script_training(args.app_dir, args.epochs, cpus="0"))
            log(f"cloud {i + 1}/{args.pairs}: script {script[-1]['fit']:.2f} s (epoch 1 {script[-1]['epoch1']:.2f} s)")
    finally:
        browser.close()
        shutil.rmtree(wrapper.parent, ignore_errors=True)
        os.sched_setaffinity(0, {0, 1})
    firsts, seconds = app[0::2], app[1::2]
    s_fit = statistics.median([r["fit"] for r in script])
    s_epoch1 = statistics.median([r["epoch1"] for r in script])
    report("cloud: server, workers and script pinned to CPU 0; Chromium and the driver on CPU 1; "
           f"default spec, {args.epochs} epochs")
    report("| what | measured | target |")
    report("|---|---|---|")
    for label, runs in (("first click after cold start", firsts), ("a later click", seconds)):
        a = statistics.median([r["end"] for r in runs])
        report(f"| script fit / app click -> finished ({label}) | **{s_fit / a:.2f}** (app {median_text([r['end'] for r in runs])}, "
               f"script {s_fit:.2f} s) | >= 0.90 |")
    for label, runs in (("first click", firsts), ("a later click", seconds)):
        f = statistics.median([r["first"] for r in runs])
        report(f"| click -> first loss point ({label}) | {f:.2f} s (script's build -> epoch 1: {s_epoch1:.2f} s) | "
               f"<= script + 0.5 s: {verdict(f <= s_epoch1 + 0.5)} |")
    health = statistics.median([c[0] for c in colds])
    button = statistics.median([c[1] for c in colds])
    report(f"| cold start -> usable Train button | {button:.2f} s (health {health:.2f} s) | <= 2x health: "
           f"{verdict(button <= 2 * health)} |")
    for label, runs in (("first click", firsts), ("a later click", seconds)):
        cpu = statistics.median([r["cpu_tree"] for r in runs])
        wall = statistics.median([r["wall"] for r in runs])
        idle = statistics.median([r["cpu0_idle"] for r in runs])
        report(f"| one run's CPU on CPU 0, {label} | {cpu:.1f} CPU-s in {wall:.1f} s of wall time; CPU 0 idle "
               f"(nothing ran) {idle:.1f} s, other processes of the machine {max(0.0, wall - cpu - idle):.1f} s | "
               f"idle <= 1 s: {verdict(idle <= 1)} |")
    if all("fit_cpu" in r for r in script):
        s_cpu = statistics.median([r["fit_cpu"] for r in script])
        s_idle = statistics.median([r.get("fit_cpu0_idle", 0.0) for r in script])
        report(f"| the plain script, for comparison | {s_cpu:.1f} CPU-s in its {s_fit:.1f} s fit; CPU 0 idle {s_idle:.1f} s, "
               f"other processes {max(0.0, s_fit - s_cpu - s_idle):.1f} s | |")
    for label, runs in (("first click", firsts), ("a later click", seconds)):
        report(f"  CPU-s per process ({label}): server {median_text([r['cpu_server'] for r in runs])}, "
               f"the run's worker {median_text([r['cpu_worker'] for r in runs])}, "
               f"others (the next spare) {median_text([r['cpu_others'] for r in runs])}")
    report("where one run's wall time goes (medians, seconds):")
    stages: dict[str, list[float]] = {}
    for r in app:
        for k, v in breakdown(r).items():
            stages.setdefault(k, []).append(v)
    for k, v in stages.items():
        report(f"  {k}: {median_text(v)}")


# -- main ----------------------------------------------------------------------------------------
def describe_app(app_dir: Path) -> str:
    def git(*cmd: str) -> str:
        out = subprocess.run(["git", "-C", str(app_dir), *cmd], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else "?"

    changed = [line for line in git("status", "--porcelain").splitlines() if line and not line.endswith(".venv")]
    return f"{app_dir} at {git('rev-parse', '--short', 'HEAD')}" + (
        f" + {len(changed)} uncommitted change(s)" if changed else " (clean)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of: {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the default-spec runs (default 10)")
    parser.add_argument("--pairs", type=int, default=2,
                        help="A/B pairs for throughput/first/pinned; repeats of cold and stop (default 2)")
    parser.add_argument("--runs", type=int, default=20, help="one-epoch runs in the rss section (default 20)")
    parser.add_argument("--stop-epochs", type=int, default=100, help="epochs of the run Stop interrupts (default 100)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one per server start)")
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="the app to measure (a checkout with app.py; default: this script's repository)")
    args = parser.parse_args()
    args.app_dir = args.app_dir.resolve()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if not (args.app_dir / "app.py").exists():
        parser.error(f"{args.app_dir} has no app.py")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    began = time.perf_counter()
    report(f"bench/live.py: {describe_app(args.app_dir)}")
    report(f"  {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, load average "
           f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; --epochs {args.epochs} --pairs {args.pairs} "
           f"--runs {args.runs} --stop-epochs {args.stop_epochs}; sections: {','.join(only)}")
    failed = []

    def run_section(name: str, fn) -> None:
        log(f"== {name}")
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - report it and go on with the other sections
            failed.append(name)
            report(f"{name}: FAILED: {exc.__class__.__name__}: {exc}")
        log(f"== {name} took {time.perf_counter() - t0:.0f} s")

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            if "throughput" in only or "first" in only:
                def throughput() -> None:
                    app, script = ab_pairs(args, browser, None, "throughput")
                    if "throughput" in only:
                        report_throughput("throughput", app, script, args.epochs)
                    if "first" in only:
                        report_first(app, script)
                run_section("+".join(s for s in ("throughput", "first") if s in only), throughput)
            if "cold" in only:
                run_section("cold", lambda: section_cold(args, browser))
            if "stop" in only:
                run_section("stop", lambda: section_stop(args, browser))
            if "rss" in only:
                run_section("rss", lambda: section_rss(args, browser))
        finally:
            browser.close()
        if "pinned" in only:
            def pinned() -> None:
                two = {0, 1} <= os.sched_getaffinity(0)
                wrapper = pinned_chromium(1) if two else None
                pinned_browser = launch_browser(pw, str(wrapper) if wrapper else CHROMIUM)
                try:
                    app, script = ab_pairs(args, pinned_browser, "0", "pinned")
                finally:
                    pinned_browser.close()
                    if wrapper is not None:
                        shutil.rmtree(wrapper.parent, ignore_errors=True)
                report_throughput("pinned", app, script, args.epochs,
                                  note=f" (server and script on CPU 0, Chromium {'on CPU 1' if two else 'unpinned'})")
            run_section("pinned", pinned)
        if "cloud" in only:
            run_section("cloud", lambda: section_cloud(args, pw))

    total = time.perf_counter() - began
    report(f"total {total / 60:.1f} min" + (f"; failed sections: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
