"""Memory under load: 4 visitors click Train at once on a server sized for a 2.7 GB container.

    .venv/bin/python bench/visitors.py [--epochs 20] [--visitors 4] [--memory-bytes 2700000000]
        [--cpu-quota CPUS] [--target-gb 2.2] [--app-dir DIR]

Not part of the test suite (issue 21, item 3). The pool is sized by core/container.py from a fake
cgroup v2 tree in a temporary folder (RNNLAB_CONTAINER_ROOT): `proc/self/cgroup` = "0::/" (a
container that sees its own cgroup at the mount point), `sys/fs/cgroup/memory.max` = --memory-bytes,
`sys/fs/cgroup/cpu.max` = "max 100000" (no quota, as on Community Cloud) or --cpu-quota CPUs. The
CPUs are this machine's (the affinity is not faked). RNNLAB_MAX_WORKERS, RNNLAB_WARM_WORKERS and
RNNLAB_WORKER are removed from the environment so the container decides; RNNLAB_WORKER_MB and
RNNLAB_SERVER_MB are kept when set (to try other figures) and printed.

Then one `streamlit run app.py` (bench/live.py's Server: fresh RNNLAB_RUNS_DIR and
RNNLAB_CACHE_DIR, its own process group, killed at the end) gets --visitors browser contexts in one
headless Chromium, each its own session and workspace, each on the Train page with the default spec
at --epochs epochs. Train is clicked in all of them at one moment (a timer in each page set to the
same Unix time: the clicks land within milliseconds; the spread is printed). The PSS and RSS of the server and every process below it (/proc/PID/smaps_rollup, and
/proc/PID/status) are sampled every 0.25 s from before the first page opens until every page shows
a final status. Chromium is not part of the sum: the browser runs on the visitor's machine.

Printed: the pool's size and whether a warm spare is kept (as container.plan decides it, as it
would on a host that shows 16 CPUs, and as seen in the process tree before the clicks), the peak total PSS and RSS and who held what at that
peak (the server, each worker), whether anything was killed (every run's run.json says finished,
the server is alive), and per visitor: click -> first non-queued status (the queue wait), click ->
first loss point, click -> finished, and when its worker process lived (its start from /proc, its
end the last sample that saw it), so the order in which the runs started, and for each queued one
how long after a worker exited, can be read; then the PSS over time. Verdict: peak PSS <=
--target-gb (decimal GB, as the container's 2.7 GB is), nothing killed, and the queue handed over:
the k-th queued run's worker started within HANDOVER_S of the k-th worker's exit, with never more
workers alive than the pool allows. The raw figures go to artifacts/bench/visitors.json.

Memory figures are what they are on any Linux box; times are noisy on a small shared machine (the
same bench took 3.9 to 16 minutes at 20 epochs on the shared 2-core box).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live  # noqa: E402  (bench/live.py: Server, Chromium, the page's recorder, /proc readers)

ROOT = Path(__file__).resolve().parents[1]
GB = 1e9  # decimal: the container's "2.7 GB" is 2,700,000,000 bytes
MB = 1 << 20  # what /proc's kB / 1024 gives, and what core/container.py calls a MB
# A queued run starts when the pool's thread (0.1 s tick) reaps an ended worker and launches the next
# one; a cold worker process appears at once. More than this between a worker's end and the next
# start means the queue waited on something else.
HANDOVER_S = 5.0

# Beside live.RECORDER (click, first loss point, final status): when the page first shows a status
# that is not "queued" after the click (the run got a worker), and whether it showed a queue position.
TRACKER = r"""() => {
  window.__visitor = {queuedText: null, running: null, runningText: null};
  if (window.__visitorInstalled) return;
  window.__visitorInstalled = true;
  setInterval(() => {
    const v = window.__visitor, b = window.__bench;
    if (!b || b.click === null || v.running !== null) return;
    const root = document.querySelector('[data-testid="stMain"]') || document.body;
    const el = [...root.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .find(e => e.textContent.trim().startsWith('Status:'));
    if (!el || el.closest('[data-stale="true"]')) return;
    const text = el.textContent.trim();
    if (/queued/i.test(text)) { if (/position/i.test(text)) v.queuedText = text; return; }
    v.running = performance.now(); v.runningText = text;
  }, 50);
}"""
TRACKED = "() => window.__visitor"

# Clicks the page's Train button at Unix time `at` (ms), from a timer inside the page, so no round
# trip to Playwright lies between one visitor's click and the next.
CLICK_AT = r"""(arm) => {
  const re = new RegExp(arm.button);
  setTimeout(() => {
    const button = [...document.querySelectorAll('button')]
      .find(b => re.test(b.innerText.replace(/\s+/g, ' ').trim()) && !b.disabled);
    if (button) button.click();
  }, Math.max(0, arm.at - Date.now()));
}"""

# What core/container.py decides here, and what the memory alone allows (the pool as a host showing
# many cores sizes it: Community Cloud's containers show the host's 16).
SIZING = """
import json, os
from core import container
l = container.read_limits(os.environ["RNNLAB_CONTAINER_ROOT"])
p = container.plan()
container._affinity = lambda: 16  # as tests/test_container.py's host16 does
m = container.plan()
print(json.dumps({"cpus": l.cpus, "quota": l.quota, "memory": l.memory, "max_workers": p.max_workers,
                  "warm": p.warm, "reason": p.reason, "host16": [m.max_workers, m.warm, m.reason]}))
"""


def fake_container(root: Path, memory_bytes: int, cpu_quota: float | None) -> Path:
    """A cgroup v2 tree as a container with its own cgroup namespace sees it (limits at the mount point)."""
    cpu = "max 100000" if cpu_quota is None else f"{int(cpu_quota * 100000)} 100000"
    for name, text in {"proc/self/cgroup": "0::/", "sys/fs/cgroup/memory.max": str(memory_bytes),
                       "sys/fs/cgroup/cpu.max": cpu}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


def container_env(root: Path) -> None:
    """This process's environment (which Server copies) set for the fake container."""
    for name in ("RNNLAB_MAX_WORKERS", "RNNLAB_WARM_WORKERS", "RNNLAB_WORKER"):
        os.environ.pop(name, None)
    os.environ["RNNLAB_CONTAINER_ROOT"] = str(root)


def sizing(app_dir: Path) -> dict:
    """What core/container.py decides under this environment, asked of the app's own Python."""
    venv = app_dir / ".venv" / "bin" / "python"
    out = subprocess.run([str(venv) if venv.exists() else sys.executable, "-c", SIZING], cwd=app_dir,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"container.plan failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def started_at(pid: int) -> float | None:
    """The Unix time `pid` started, to 10 ms: its starttime (/proc/PID/stat, clock ticks after boot)
    against the uptime now (/proc/uptime), not /proc/stat's btime, which is whole seconds (it put
    workers up to 0.9 s before the click that started them). The sampler's first sight of a process
    lags by a tick, more on a loaded machine."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


def role(pid: int, server_pid: int) -> str:
    if pid == server_pid:
        return "server"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    if b"core\x00worker" in cmdline:
        return "worker"
    return Path(cmdline.split(b"\x00")[0].decode(errors="replace")).name  # "" while a process exits


class TreeSampler(live.PeakSampler):
    """live.PeakSampler that also keeps who held what at the PSS peak, when each worker process was
    first and last seen (Unix time), and the most workers alive at once."""

    def reset(self) -> None:
        super().reset()
        self.at_peak: list[tuple[str, int, float]] = []  # (role, pid, PSS MB) at the PSS peak
        self.workers: dict[int, list[float]] = {}  # pid -> [first seen, last seen]
        self.most_workers = 0
        self.series: list[tuple[float, float, int]] = []  # (Unix time, PSS MB, workers alive)
        self.roles: dict[int, str] = {}  # a worker that is exiting has an empty cmdline: keep its first role

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.sample()

    def sample(self) -> None:
        now = time.time()
        pids = [self.pid, *live.descendants(self.pid)]
        pss = {p: live.proc_kb(p, "Pss", "smaps_rollup") / 1024 for p in pids}
        rss = sum(live.proc_kb(p, "VmRSS") for p in pids) / 1024
        roles = {p: self.roles.get(p) or role(p, self.pid) for p in pids}
        self.roles.update((p, r) for p, r in roles.items() if r)
        workers = [p for p in pids if roles[p] == "worker" and pss[p] > 0]
        for p in workers:
            if p not in self.workers:
                self.workers[p] = [started_at(p) or now, now]
            self.workers[p][1] = now
        total = sum(pss.values())
        self.series.append((now, total, len(workers)))
        self.most_workers = max(self.most_workers, len(workers))
        self.peak_rss, self.peak_procs = max(self.peak_rss, rss), max(self.peak_procs, len(pids))
        if total > self.peak_pss:
            self.peak_pss = total
            self.at_peak = [(roles[p], p, pss[p]) for p in pids if pss[p] > 0]


def run_of(page) -> str | None:
    """The run id in the page's address (?run=), which the app sets once Train started a run."""
    from urllib.parse import parse_qs, urlparse

    return (parse_qs(urlparse(page.url).query).get("run") or [None])[0]


def run_files(runs_dir: Path, run_id: str | None) -> tuple[dict, dict]:
    """(run.json, live.json) of a run, {} for either that is missing."""
    found = next((d for d in runs_dir.rglob(run_id or "-") if d.is_dir()), None) if run_id else None
    out = []
    for name in ("run.json", "live.json"):
        try:
            out.append(json.loads((found / name).read_text()) if found else {})
        except (OSError, ValueError):
            out.append({})
    return out[0], out[1]


def click_together(pages, lead_s: float = 2.0) -> None:
    """Click Train in every page at one moment: each page is handed the same Unix time and clicks its
    own button then (a DOM click, which Streamlit's handler and the recorder see as a visitor's), so the
    clicks land within milliseconds; Playwright's clicks one after another spread over seconds on a
    loaded machine (4.7 s measured for 4 pages). A page whose click did not register is clicked by
    Playwright."""
    at = (time.time() + lead_s) * 1000
    for page in pages:
        page.evaluate(CLICK_AT, {"button": live.TRAIN.pattern, "at": at})
    time.sleep(lead_s + 1)
    for page in pages:
        if page.evaluate("() => window.__bench.click") is None:
            live.log("a scheduled click did not register: Playwright clicks instead")
            page.get_by_role("button", name=live.TRAIN).click(no_wait_after=True)


def wait_all(pages, server, timeout_s: float) -> None:
    """Until every page shows a final status; fails early when the server dies."""
    deadline, done = time.perf_counter() + timeout_s, set()
    while len(done) < len(pages):
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server died (exit {server.proc.returncode}):\n{server.log_tail()}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(done)} of {len(pages)} visitors finished in {timeout_s:.0f} s")
        for i, page in enumerate(pages):
            if i not in done and page.evaluate("() => window.__bench.end !== null"):
                done.add(i)
                live.log(f"visitor {i + 1} ended: {page.evaluate('() => window.__bench.endText')}")
        time.sleep(0.5)


def measure(args) -> dict:
    """Start the server in the fake container, open the visitors, click Train in all, sample."""
    from playwright.sync_api import sync_playwright

    server = live.Server(args.app_dir, live.free_port())
    sampler = TreeSampler(server.pid, every=args.every)
    out: dict = {}
    try:
        out["health"] = server.wait_healthy()
        sampler.start()
        with sync_playwright() as pw:
            browser = live.launch_browser(pw)
            try:
                opened = [live.open_page(browser, server, args.epochs) for _ in range(args.visitors)]
                live.log(f"{args.visitors} visitors on the Train page")
                time.sleep(3)  # a warm spare, if the pool keeps one, has started by now
                out["idle"] = live.tree_mb(server.pid)
                out["idle_workers"] = [p for p in live.descendants(server.pid) if role(p, server.pid) == "worker"]
                pages = [page for _, page in opened]
                for page in pages:
                    page.evaluate(live.RECORDER, {"button": live.TRAIN.pattern, "fresh": True})
                    page.evaluate(TRACKER)
                click_together(pages)
                live.log("Train clicked in every page")
                wait_all(pages, server, timeout_s=max(900.0, 60.0 * args.epochs * args.visitors))
                out["pages"] = []
                for i, page in enumerate(pages):
                    rec = live.seconds_after_click(page.evaluate(live.RECORDED))
                    tracked = page.evaluate(TRACKED)
                    raw_click = page.evaluate("() => window.__bench.click")
                    rec["running"] = None if tracked["running"] is None else (tracked["running"] - raw_click) / 1000
                    rec.update(queuedText=tracked["queuedText"], runningText=tracked["runningText"],
                               run_id=run_of(page))
                    out["pages"].append(rec)
                    live.screenshot(page, f"visitors-{i + 1}")
            finally:
                browser.close()  # and every context in it
        time.sleep(1)
        out["after"] = live.tree_mb(server.pid)
        out["alive"] = server.proc.poll() is None
        for rec in out.get("pages", []):
            rec["run"], rec["live"] = run_files(server.tmp / "runs", rec["run_id"])
    finally:
        if sampler.is_alive():
            sampler.stop()
        server.close()
    out["sampler"] = sampler
    return out


def report(args, sized: dict, out: dict) -> bool:
    """The tables and the verdict; True when every target holds."""
    s: TreeSampler = out["sampler"]
    pages = out["pages"]
    t0 = min(p["clickWall"] for p in pages)
    n, warm = sized["max_workers"], sized["warm"]
    mem = sized["memory"]
    live.report(f"container (fake cgroup tree): memory.max {mem / GB:.2f} GB ({mem / MB:.0f} MB), CPU quota "
                f"{sized['quota'] if sized['quota'] is not None else 'none'}, {sized['cpus']} CPUs (this machine's "
                f"affinity); RNNLAB_WORKER_MB {os.environ.get('RNNLAB_WORKER_MB', 'default')}, RNNLAB_SERVER_MB "
                f"{os.environ.get('RNNLAB_SERVER_MB', 'default')}")
    live.report(f"pool: {n} run{'s' if n != 1 else ''} at once (limited by {sized['reason']}), warm spare: "
                f"{'yes' if warm else 'no'}; in the process tree before the clicks: "
                f"{len(out['idle_workers'])} worker(s) waiting")
    h16 = sized["host16"]
    live.report(f"  the same container on a host that shows 16 CPUs: {h16[0]} at once (limited by {h16[2]}), "
                f"warm spare: {'yes' if h16[1] else 'no'}")
    live.report(f"default spec, {args.epochs} epochs, {len(pages)} visitors; clicks spread over "
                f"{max(p['clickWall'] for p in pages) - t0:.2f} s; server up in {out['health']:.1f} s")
    live.report()

    # Who ran when. The page: a run started when it first showed a status other than "queued" (the
    # page polls once a second, and reruns on a busy server take longer). The server: its worker
    # (live.json's pid) started and was last seen alive. The pool has one queue, first come first
    # served, so the k-th queued run must start when the k-th worker ends: a worker of its own
    # without a warm spare, the spare otherwise (then the page's time is the start).
    for p in pages:
        seen = s.workers.get(p["live"].get("pid"))
        p["worker"] = (seen[0] - t0, seen[1] - t0) if seen else None
        p["start"] = None if p["running"] is None else p["clickWall"] + p["running"] - t0
        p["begun"] = p["start"] if warm or not p["worker"] else p["worker"][0]
    order = sorted(range(len(pages)), key=lambda i: pages[i]["begun"] if pages[i]["begun"] is not None else 1e9)
    ends = sorted(w[1] for p in pages if (w := p["worker"]))
    queued = [i for i in order if pages[i]["queuedText"]]
    handover_ok, gaps = len(ends) >= len(queued), {}
    for k, i in enumerate(queued):
        if k < len(ends) and pages[i]["begun"] is not None:
            gaps[i] = pages[i]["begun"] - ends[k]
            handover_ok &= -s.every <= gaps[i] <= HANDOVER_S
        else:
            handover_ok = False
    fmt = lambda v: "-" if v is None else f"{v:.1f} s"  # noqa: E731
    live.report("| visitor | clicked | queued | click -> running (page) | click -> first point | click -> finished | "
                "its worker lived (s after the first click) | started |")
    live.report("|---|---|---|---|---|---|---|---|")
    for rank, i in enumerate(order, 1):
        p, w = pages[i], pages[i]["worker"]
        after = f", {gaps[i]:.1f} s after worker exit #{queued.index(i) + 1}" if i in gaps else ""
        said = (p["queuedText"] or "").removeprefix("Status: ").split(":")[0] or "no"
        live.report(f"| {i + 1} | +{p['clickWall'] - t0:.2f} s | {said} | {fmt(p['running'])} | {fmt(p['first'])} | "
                    f"{fmt(p['end'])} ({p['run'].get('status', 'no run.json')}) | "
                    f"{f'{w[0]:.1f} -> {w[1]:.1f}' if w else '?'} | #{rank}{after} |")
    live.report()

    peak_bytes = s.peak_pss * MB
    target = args.target_gb * GB
    live.report(f"peak total PSS (server + all workers, every {s.every:g} s): **{s.peak_pss:.0f} MB = "
                f"{peak_bytes / GB:.2f} GB** (target <= {args.target_gb:g} GB = {target / MB:.0f} MB: "
                f"{live.verdict(peak_bytes <= target)}); peak summed RSS {s.peak_rss:.0f} MB; at most "
                f"{s.most_workers} worker(s) alive at once, {s.peak_procs} process(es)")
    held = ", ".join(f"{r} {pid} {mb:.0f} MB" for r, pid, mb in sorted(s.at_peak, key=lambda x: x[0] != "server"))
    live.report(f"  at the peak: {held}")
    live.report(f"  before the clicks ({len(pages)} pages open): PSS {out['idle'][1]:.0f} MB, RSS {out['idle'][0]:.0f} MB; "
                f"after all finished: PSS {out['after'][1]:.0f} MB, RSS {out['after'][0]:.0f} MB")
    # A coarse profile: the highest PSS in each of about 20 slices after the first click, with the
    # workers alive then.
    span = max(t for t, _, _ in s.series) - t0
    step = max(5, 5 * round(span / 20 / 5))
    profile: dict[int, tuple[float, int]] = {}
    for t, pss, workers in s.series:
        if t >= t0:
            k = int((t - t0) // step)
            profile[k] = max(profile.get(k, (0.0, 0)), (pss, workers))
    live.report(f"  PSS per {step} s after the click (max MB / workers alive): " +
                ", ".join(f"{k * step}s {v[0]:.0f}/{v[1]}" for k, v in sorted(profile.items())))

    finished = all(p["run"].get("status") == "finished" for p in pages)
    killed = [f"visitor {i + 1}: {p['run'].get('status', 'no run.json')} ({p['run'].get('message', '')})"
              for i, p in enumerate(pages) if p["run"].get("status") != "finished"]
    live.report(f"nothing killed: {live.verdict(finished and out['alive'])} (server alive: "
                f"{'yes' if out['alive'] else 'NO'}; runs finished: "
                f"{sum(p['run'].get('status') == 'finished' for p in pages)} of {len(pages)}"
                f"{'; ' + '; '.join(killed) if killed else ''})")
    concurrency_ok = s.most_workers <= n + (1 if warm else 0)
    live.report(f"queued visitors start as others finish: {live.verdict(handover_ok and concurrency_ok)} "
                f"(the k-th queued run started within {HANDOVER_S:g} s after the k-th worker exited; at most "
                f"{s.most_workers} workers alive, the pool allows {n}{' + a spare' if warm else ''})")
    return peak_bytes <= target and finished and out["alive"] and handover_ok and concurrency_ok


def dump(args, sized: dict, out: dict) -> None:
    """The raw figures, to artifacts/bench/visitors.json, for a second look without a second run."""
    s: TreeSampler = out["sampler"]
    raw = {"args": {k: str(v) for k, v in vars(args).items()}, "sizing": sized, "health": out["health"],
           "idle": out["idle"], "after": out["after"], "alive": out["alive"], "pages": out["pages"],
           "peak_pss": s.peak_pss, "peak_rss": s.peak_rss, "at_peak": s.at_peak, "workers": s.workers,
           "series": s.series}
    live.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (live.ARTIFACTS / "visitors.json").write_text(json.dumps(raw, default=str, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each default-spec run (default 20)")
    parser.add_argument("--visitors", type=int, default=4, help="visitors who click Train at once (default 4)")
    parser.add_argument("--memory-bytes", type=int, default=2_700_000_000,
                        help="the fake container's memory.max (default 2700000000, Community Cloud's largest)")
    parser.add_argument("--cpu-quota", type=float, default=None,
                        help="the fake container's CPU quota in CPUs (default: none, as on Community Cloud)")
    parser.add_argument("--target-gb", type=float, default=2.2, help="peak PSS target in decimal GB (default 2.2)")
    parser.add_argument("--every", type=float, default=0.25, help="sampling interval in seconds (default 0.25)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the app to measure (default: this repository)")
    args = parser.parse_args()
    args.app_dir = args.app_dir.resolve()
    if not Path(live.CHROMIUM).exists():
        sys.exit(f"{live.CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="rnnlab-container-") as tmp:
        container_env(fake_container(Path(tmp), args.memory_bytes, args.cpu_quota))
        sized = sizing(args.app_dir)
        live.log(f"pool sized for the fake container: {sized}")
        live.report(f"bench/visitors.py: {live.describe_app(args.app_dir)}")
        live.report(f"  {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, load average "
                    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        began = time.perf_counter()
        out = measure(args)
        ok = report(args, sized, out)
        dump(args, sized, out)
    live.report(f"total {(time.perf_counter() - began) / 60:.1f} min; verdict: {'all targets met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
