"""The pool: a bounded number of runs train at once, each in a worker; the rest wait in a queue.

The server submits a request and forgets it: from then on the run directory says everything
(core/livefiles.py). The pool's own thread starts workers as slots free up, tells queued runs
their place, stops runs on request (and kills a worker that does not answer), stops a run that
trains longer than the time limit, and writes the ending of a worker that died without one
(kill -9, out of memory).

The queue is fair between workspaces (visitors): a free slot goes to the queued run whose
workspace has the fewest runs training (among equals, the workspace served longest ago; within a
workspace, first come first served). So a workspace with a run training waits behind workspaces
with none, and one visitor's two long runs and an 8-fold backtest no longer put another visitor
9th in line: the newcomer is next. Runs are not preempted: the newcomer's wait is bounded by the
first running run to end, and so by the time limit.

Where workers run is one small seam, the launcher (core/launchers.py): LocalProcesses (a process
per run, one kept warm) or InThreads (the tests' fast path); re-exported here.

Environment:
    RNNLAB_MAX_WORKERS   runs that train at once (default: what the container fits, core/container.py:
                         its CPUs, CPU quota and memory limit, not the host's core count)
    RNNLAB_WORKER        "process" (default) or "thread"
    RNNLAB_WARM_WORKERS  1 keeps one worker warm; 0 starts each worker on demand (default: warm when
                         the memory limit has room for one more worker than run at once)
    RNNLAB_WORKER_MB, RNNLAB_SERVER_MB  the memory a worker and the server take (core/container.py)
    RNNLAB_STOP_GRACE    seconds a stopping worker gets to save before it is killed (default 10)
    RNNLAB_MAX_RUN_SECONDS  the longest a run may train, in seconds (default 10800, 3 hours; 0 for no
                         limit); a run over it is stopped as Stop stops it, and says so
    RNNLAB_WORKER_NICE   how much lower a worker's CPU priority is than the server's (default 10)
"""
from __future__ import annotations

import heapq
import json
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path

from . import container, livefiles
from .launchers import (AttachedHandle, InThreads, LocalProcesses, ProcessHandle, ThreadHandle,  # noqa: F401
                        is_worker as _is_worker, launcher_from_env, worker_nice)
from .request import MEMORY_RACE, TRAIN, Request  # noqa: F401  (callers use pool.Request)


class _RunsOnUse:
    """core.runs, imported on first use: it brings pandas (about 0.5-1 s on a busy CPU), and app.py
    makes the pool, which starts the warm worker, before anything else imports it, so the worker's
    TensorFlow import begins that much earlier on a fresh server."""

    def __getattr__(self, name: str):
        from . import runs as module

        return getattr(module, name)


runs = _RunsOnUse()

DEFAULT_MAX_RUN_SECONDS = 3 * 3600.0  # generous: the default spec trains in about 15 s, a 200-epoch one in minutes


def time_limit() -> float | None:
    """The longest a run may train: $RNNLAB_MAX_RUN_SECONDS seconds (default 3 hours), None for
    no limit (0). A value that is not a number keeps the default and says so on stderr."""
    text = os.environ.get("RNNLAB_MAX_RUN_SECONDS", "").strip()
    try:
        seconds = float(text) if text else DEFAULT_MAX_RUN_SECONDS
    except ValueError:
        print(f"RNNLAB_MAX_RUN_SECONDS={text!r} is not a number of seconds: using {DEFAULT_MAX_RUN_SECONDS:.0f}",
              file=sys.stderr)
        seconds = DEFAULT_MAX_RUN_SECONDS
    return seconds if seconds > 0 else None


class Pool:
    """At most `max_workers` runs train at once; more wait in a queue that is fair between workspaces.

    Args:
        launcher: LocalProcesses or InThreads (anything with prewarm, launch and close).
        max_workers: how many runs train at once.
        grace: seconds a run asked to stop gets before its worker is killed.
        tick: how often the pool's thread looks at its workers, in seconds.
        max_run_seconds: the longest a run may train (from its start, not its time in the queue);
            None reads $RNNLAB_MAX_RUN_SECONDS (time_limit()); 0 means no limit.
    """

    def __init__(self, launcher, max_workers: int, grace: float = 10.0, tick: float = 0.1,
                 max_run_seconds: float | None = None):
        self.launcher, self.max_workers, self.grace, self.tick = launcher, max(1, max_workers), grace, tick
        limit = time_limit() if max_run_seconds is None else max_run_seconds
        self.max_run_seconds = limit if limit and limit > 0 else None
        self._queue: deque[Request] = deque()  # in the order submitted; _served_order() says who goes next
        self._running: dict[str, tuple[Request, object]] = {}  # run_id -> (request, handle)
        self._stopping: dict[str, float] = {}  # run_id -> when Stop was asked
        self._began: dict[str, float] = {}  # run_id -> when its worker took it (monotonic), for the time limit
        self._limited: set[str] = set()  # runs stopped for training longer than max_run_seconds
        self._served: dict[str | None, int] = {}  # workspace -> the number of its latest start (round robin)
        self._starts = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="worker-pool", daemon=True)
        self._thread.start()
        self.launcher.prewarm()

    # -- what the server calls ----------------------------------------------------------------------
    def submit(self, request: Request) -> None:
        """Queue a run: its directory gets started.json and a live.json that says "queued" at once."""
        from .spec import ExperimentSpec

        run_dir = Path(request.run_dir)
        if request.kind == TRAIN:  # a spec object was checked when it was made; a dict is checked here
            spec = request.spec if isinstance(request.spec, ExperimentSpec) else ExperimentSpec.from_dict(request.spec)
            steps = spec.train.epochs
        elif request.kind == MEMORY_RACE:
            from .memory_race import RaceSpec

            race = request.spec if isinstance(request.spec, RaceSpec) else RaceSpec.from_dict(request.spec)
            spec, steps = None, race.total
        else:
            raise ValueError(f"a worker cannot do {request.kind!r}; it does {TRAIN} and {MEMORY_RACE}")
        runs.mark_started(run_dir, request.run_id, request.workspace, spec)
        livefiles.write_live(run_dir, run_id=request.run_id, status=runs.QUEUED, message="queued",
                             epoch=0, epochs=steps, batch=0, batches=0, kind=request.kind,
                             workspace=request.workspace, server_pid=os.getpid(), pid=None,
                             csv_root=request.csv_root, queue_position=0, queue_length=0)
        with self._lock:
            self._queue.append(request)
        self._wake.set()

    def stop(self, run_id: str, run_dir: str | Path) -> None:
        """Ask a run to stop: a queued run ends at once; a training one after its current batch (the
        `stop` file, which a worker anywhere reads); one that does not answer within the grace is killed."""
        with self._lock:
            queued = next((r for r in self._queue if r.run_id == run_id), None)
            if queued is not None:
                self._queue.remove(queued)
            elif run_id in self._running:
                self._stopping.setdefault(run_id, time.monotonic())
        if queued is not None:
            runs.mark_ended(run_dir, run_id, runs.STOPPED, "stopped before it started (it was queued)")
            self._wake.set()
            return
        livefiles.request_stop(run_dir)

    def knows(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._running or any(r.run_id == run_id for r in self._queue)

    def attach(self, root: str | Path) -> list[str]:
        """After a server restart: watch workers of `root` that still train, queue again the runs a
        previous server had queued; runs whose worker is gone read as interrupted. Returns the ids
        of the runs taken up."""
        from .spec import ExperimentSpec

        taken = []
        root = Path(root)
        for run_dir in sorted(root.iterdir()) if root.is_dir() else []:
            info = livefiles.read_live(run_dir) if run_dir.is_dir() else None
            if not info or runs.has_ended(run_dir) or self.knows(run_dir.name):
                continue
            if info.get("status") == runs.RUNNING and info.get("host") == livefiles.HOST and \
                    livefiles.pid_alive(info.get("pid")) and _is_worker(info.get("pid")):
                request = Request(run_dir.name, str(run_dir), {}, info.get("workspace"), info.get("csv_root"),
                                  info.get("kind", TRAIN))
                with self._lock:
                    self._running[run_dir.name] = (request, AttachedHandle(int(info["pid"])))
                    # its time so far counts against the limit
                    self._began[run_dir.name] = time.monotonic() - float(info.get("elapsed_seconds") or 0)
                taken.append(run_dir.name)
            elif info.get("status") == runs.QUEUED and not livefiles.is_live(run_dir):
                try:
                    if info.get("kind", TRAIN) == MEMORY_RACE:
                        from .memory_race import read_tag

                        spec = read_tag(run_dir).to_dict()
                    else:
                        spec = ExperimentSpec.from_json((run_dir / "spec.json").read_text()).to_dict()
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                self.submit(Request(run_dir.name, str(run_dir), spec, info.get("workspace"),
                                    info.get("csv_root"), info.get("kind", TRAIN)))
                taken.append(run_dir.name)
        self._wake.set()
        return taken

    def close(self) -> None:
        self.launcher.close()

    # -- the pool's thread --------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(self.tick)
            self._wake.clear()
            try:
                self._reap()
                self._dispatch()
                self._enforce_time_limit()
                self._enforce_stops()
            except Exception as exc:  # noqa: BLE001 - the pool must outlive any one run's trouble
                print(f"worker pool: {exc.__class__.__name__}: {exc}", file=sys.stderr)

    def _reap(self) -> None:
        """Workers that exited: one that left no ending (killed, out of memory) gets one written."""
        with self._lock:
            ended = [(rid, req, h, h.poll()) for rid, (req, h) in self._running.items() if h.poll() is not None]
        for run_id, request, _, code in ended:  # the ending is written while the run is still ours (knows())
            forced = self._stopping.pop(run_id, None) is not None
            limited = run_id in self._limited
            if limited:
                self._end_limited(request)
            elif not runs.has_ended(request.run_dir):
                if forced:
                    runs.mark_ended(request.run_dir, run_id, runs.STOPPED, _forced_message(request.run_dir))
                else:
                    runs.mark_ended(request.run_dir, run_id, runs.FAILED, _death_message(request.run_dir, code),
                                    reason=runs.WORKER_DIED)
        with self._lock:
            for run_id, *_ in ended:
                self._running.pop(run_id, None)
                self._began.pop(run_id, None)
                self._limited.discard(run_id)
        with self._lock:
            idle = not self._running
        if ended and idle:
            # A fresh warm worker for the next run, once nothing trains: its TensorFlow import (3-5
            # CPU-seconds) beside a training run slowed that run on a one-CPU container.
            self.launcher.prewarm()

    def _end_limited(self, request: Request) -> None:
        """A run stopped by the time limit: its ending names the limit (the worker wrote "stopped at
        epoch n of N"; a worker killed after the grace wrote nothing)."""
        run_dir = Path(request.run_dir)
        if not runs.has_ended(run_dir):
            runs.mark_ended(run_dir, request.run_id, runs.STOPPED, _limit_message(run_dir, self.max_run_seconds, False))
            return
        try:
            info = json.loads((run_dir / "run.json").read_text())
        except (OSError, ValueError):
            return
        if info.get("status") == runs.STOPPED:  # not one that finished in the batch the limit came in
            message = _limit_message(run_dir, self.max_run_seconds, (run_dir / "model.keras").is_file())
            try:
                runs.mark_status(run_dir, runs.STOPPED, message)
                livefiles.write_live(run_dir, message=message)
            except OSError:
                pass

    def _counts(self) -> dict[str | None, int]:
        """Runs training now per workspace (call with the lock held)."""
        counts: dict[str | None, int] = {}
        for request, _ in self._running.values():
            counts[request.workspace] = counts.get(request.workspace, 0) + 1
        return counts

    def _dispatch(self) -> None:
        started = []
        with self._lock:
            # A queued run whose folder is gone (deleted from disk, a store cleaned up) is forgotten: writing
            # its place in the queue failed on every tick, and the error skipped the time limit and the
            # stops of every other run (seen as a stream of FileNotFoundError in a clean clone's suite).
            self._queue = deque(r for r in self._queue if Path(r.run_dir).is_dir())
            while self._queue and len(self._running) < self.max_workers:
                request = _served_order(self._queue, self._counts(), self._served)[0][0]
                self._queue.remove(request)
                started.append(request)
                self._running[request.run_id] = (request, None)
                self._starts += 1
                self._served[request.workspace] = self._starts
            # a workspace with nothing running or queued is forgotten: it competes afresh when it returns
            present = {r.workspace for r in self._queue} | {r.workspace for r, _ in self._running.values()}
            self._served = {ws: n for ws, n in self._served.items() if ws in present}
        for request in started:
            try:
                handle = self.launcher.launch(request)
            except Exception as exc:  # noqa: BLE001 - no worker could start: the run says why
                with self._lock:
                    self._running.pop(request.run_id, None)
                runs.mark_ended(request.run_dir, request.run_id, runs.FAILED,
                                f"no worker could be started ({exc.__class__.__name__}: {exc})")
                continue
            with self._lock:
                self._running[request.run_id] = (request, handle)
                self._began[request.run_id] = time.monotonic()
            livefiles.write_live(request.run_dir, status=runs.RUNNING, message="starting: a worker takes the run",
                                 pid=handle.pid, host=livefiles.HOST, queue_position=0, queue_length=0)
        with self._lock:
            self._running = {k: v for k, v in self._running.items() if v[1] is not None}
            counts = self._counts()
            order = _served_order(self._queue, counts, self._served)
        for position, (request, held) in enumerate(order, 1):
            message = f"queued, position {position} of {len(order)}"
            if held:
                mine = counts.get(request.workspace, 0)
                message += (": waiting for other visitors' runs (workspaces take turns" +
                            (f"; this one has {mine} training)" if mine else ")"))
            info = livefiles.read_live(request.run_dir) or {}
            if info.get("message") != message or info.get("queue_length") != len(order):
                try:
                    livefiles.write_live(request.run_dir, queue_position=position, queue_length=len(order),
                                         message=message)
                except OSError:
                    pass  # removed meanwhile: the next tick forgets it

    def _enforce_time_limit(self) -> None:
        """Stop, as Stop does, every run that has trained longer than max_run_seconds."""
        if self.max_run_seconds is None:
            return
        now = time.monotonic()
        with self._lock:
            over = [(rid, req) for rid, (req, h) in self._running.items()
                    if h is not None and rid not in self._limited and now - self._began.get(rid, now) > self.max_run_seconds]
            for rid, _ in over:
                self._limited.add(rid)
                self._stopping.setdefault(rid, now)
        for _, request in over:
            livefiles.request_stop(request.run_dir)

    def _enforce_stops(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [(rid, self._running[rid][1]) for rid, asked in self._stopping.items()
                    if rid in self._running and now - asked > self.grace]
        for _, handle in late:
            handle.kill()  # _reap writes the run as stopped with its last completed epoch


def _served_order(queue, counts: dict[str | None, int],
                  served: dict[str | None, int] | None = None) -> list[tuple[Request, bool]]:
    """The queue in the order its runs will start if nothing else changes, each with whether
    fairness holds it back (a run submitted after it, by another workspace, goes first).

    The next run is the earliest one of the workspace with the fewest runs training; among those,
    the workspace served longest ago (`served`: workspace -> the number of its latest start) goes
    first, as if each run ahead had started. Round robin between workspaces, first come first served
    within one. O(n log w) for n queued runs of w workspaces: the pool's thread redoes it every tick.
    """
    served = served or {}
    by_workspace: dict[str | None, deque[tuple[int, Request]]] = {}
    for index, request in enumerate(queue):
        by_workspace.setdefault(request.workspace, deque()).append((index, request))
    heap = [(counts.get(ws, 0), served.get(ws, -1), waiting[0][0], ws_i, ws)
            for ws_i, (ws, waiting) in enumerate(by_workspace.items())]
    heapq.heapify(heap)
    order, latest, turn = [], -1, max(served.values(), default=0)
    while heap:
        count, _, _, ws_i, ws = heapq.heappop(heap)
        index, request = by_workspace[ws].popleft()
        order.append((request, latest > index))
        latest, turn = max(latest, index), turn + 1
        if by_workspace[ws]:
            heapq.heappush(heap, (count + 1, turn, by_workspace[ws][0][0], ws_i, ws))
    return order


def _progress(run_dir: str | Path) -> str:
    """"at epoch 3 of 200" for a training, "after 3 of 12 trainings" for a memory race (from live.json)."""
    info = livefiles.read_live(run_dir) or {}
    done, total = int(info.get("epoch") or 0), int(info.get("epochs") or 0)
    return f"after {done} of {total} trainings" if info.get("kind") == MEMORY_RACE else f"at epoch {done} of {total}"


def _duration(seconds: float) -> str:
    """10800 -> "3 h", 90 -> "1 min 30 s"."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p) or "0 s"


def _limit_message(run_dir: str | Path, limit: float | None, saved: bool) -> str:
    race = (livefiles.read_live(run_dir) or {}).get("kind") == MEMORY_RACE
    kept = ("the trainings it finished are kept" if race else
            "the model of its last epoch is saved" if saved else "the epochs it finished are kept")
    return (f"stopped {_progress(run_dir)}: it trained longer than {_duration(limit or 0)}, the longest a run "
            f"may train on this server (RNNLAB_MAX_RUN_SECONDS={limit or 0:g}); {kept}. Train fewer epochs or "
            "a smaller model, or ask the server's operator to raise the limit")


def _forced_message(run_dir: str | Path) -> str:
    return (f"stopped {_progress(run_dir)}: the worker did not answer in time and was ended; the epochs it "
            "finished are kept (no model file was saved)")


def _death_message(run_dir: str | Path, code: int | None) -> str:
    how = f"was killed (signal {-code})" if code is not None and code < 0 else f"exited with code {code}"
    hint = " - often the machine ran out of memory; try fewer units or a shorter window" if code in (-9, 137) else ""
    return (f"the worker process {how} {_progress(run_dir)}{hint}. The epochs it finished are kept; "
            "train again to get a model")


_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def from_env(max_workers: int | None = None) -> Pool:
    """A pool as the environment sets it up: the launcher of $RNNLAB_WORKER, at most `max_workers`
    (default $RNNLAB_MAX_WORKERS, else what fits in the container: core/container.py) at once,
    $RNNLAB_STOP_GRACE seconds for a Stop."""
    sized = container.plan(max_workers or None)
    grace = float(os.environ.get("RNNLAB_STOP_GRACE", "10"))
    return Pool(launcher_from_env(sized.warm), sized.max_workers, grace=grace)


def shared() -> Pool:
    """This process's pool, made on first use from the environment."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = from_env()
        return _POOL
