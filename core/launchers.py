"""Where workers run: the launcher seam of the pool (core/pool.py).

    LocalProcesses  one process per run on this machine (`python -m core worker`), one kept warm
                    (TensorFlow imported), each at a lower CPU priority than the server
    InThreads       a thread of this process (the tests' fast path; Keras state is shared)

A launcher has prewarm(), launch(request) -> a handle with pid, poll() and kill(), and close().
A launcher for another machine needs only to start `python -m core worker` there with the request
on its stdin and a run store both can see; pages read the same files either way.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from . import container, livefiles
from .request import Request

ROOT = Path(__file__).resolve().parents[1]


class ProcessHandle:
    """A worker process started by LocalProcesses."""

    def __init__(self, popen: subprocess.Popen):
        self.popen, self.pid = popen, popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        try:
            self.popen.kill()
        except OSError:
            pass
        self.popen.wait()


class AttachedHandle:
    """A worker this server did not start (a restart re-attached to it): watched by its pid."""

    def __init__(self, pid: int):
        self.pid = pid

    def poll(self) -> int | None:
        return None if livefiles.pid_alive(self.pid) else 1  # not our child: its real exit status is unknown

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass


class LocalProcesses:
    """Starts each worker as a process of this machine (`python -m core worker`), keeping one warm.

    A warm worker has imported TensorFlow and waits for its request on stdin; when the server
    ends, its stdin closes and it exits. Training workers run in a session of their own, so they
    outlive a server restart (which re-attaches to them) and a Ctrl-C meant for the server.
    """

    def __init__(self, warm: bool = True, log: str | Path | None = None):
        self.warm = warm
        self.log = Path(log) if log else None
        self._spare: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
               # glibc gives each thread that allocates an arena of its own, and TensorFlow runs many:
               # two arenas took a default run's peak from 860 to 823 MB, at the same speed (measured)
               "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
               **container.worker_threads()}  # under a CPU quota: as many threads as the quota allows
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        command = [sys.executable, "-m", "core", "worker"]
        if worker_nice() > 0 and shutil.which("nice"):
            command = ["nice", "-n", str(worker_nice()), *command]  # nice execs: the pid is the worker's
        try:
            return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out,
                                    stderr=out, cwd=os.getcwd(), env=env,  # the server's folder: relative paths agree
                                    start_new_session=True)
        finally:
            if self.log:
                out.close()

    def prewarm(self) -> None:
        """Have a worker waiting (TensorFlow imported) unless one already is."""
        if not self.warm:
            return
        with self._lock:
            if self._spare is None or self._spare.poll() is not None:
                self._spare = self._start()

    def launch(self, request: Request) -> ProcessHandle:
        with self._lock:
            popen, self._spare = self._spare, None
        if popen is None or popen.poll() is not None:
            popen = self._start()
        try:
            popen.stdin.write(request.line())
            popen.stdin.close()
        except OSError:  # the warm worker died meanwhile: start a cold one
            popen = self._start()
            popen.stdin.write(request.line())
            popen.stdin.close()
        return ProcessHandle(popen)

    def close(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            spare.kill()
            spare.wait()


class ThreadHandle:
    def __init__(self, thread: threading.Thread):
        self.thread, self.pid = thread, os.getpid()

    def poll(self) -> int | None:
        return None if self.thread.is_alive() else 0

    def kill(self) -> None:
        pass  # a thread cannot be killed; the stop file reaches its job


class InThreads:
    """Runs each request in a thread of this process: the tests' fast path (no TensorFlow start-up).
    The job writes the same run directory, so pages cannot tell the difference."""

    def prewarm(self) -> None:
        pass

    def launch(self, request: Request) -> ThreadHandle:
        from .worker import run_request

        thread = threading.Thread(target=run_request, args=(request.payload(),), name=f"worker-{request.run_id}",
                                  daemon=True)
        thread.start()
        return ThreadHandle(thread)

    def close(self) -> None:
        pass


def worker_nice() -> int:
    """How much lower than the server's a worker's CPU priority is ($RNNLAB_WORKER_NICE, default 10;
    0 keeps them equal). On a one-CPU container the server draws every visitor's page while workers
    train and warm up: a fresh server's first page and a Train click are served first, and training
    takes all the CPU the server leaves (measured with bench/live.py --only cloud)."""
    try:
        return max(0, min(19, int(os.environ.get("RNNLAB_WORKER_NICE", "10"))))
    except ValueError:
        return 10


def launcher_from_env(warm: bool | None = None):
    """The launcher $RNNLAB_WORKER names: "process" (default, LocalProcesses, with a warm spare when
    `warm`, else as core/container.py decides from $RNNLAB_WARM_WORKERS and the memory limit) or
    "thread" (InThreads: the tests' in-process training)."""
    if os.environ.get("RNNLAB_WORKER", "process") == "thread":
        return InThreads()
    return LocalProcesses(warm=container.plan().warm if warm is None else warm, log=os.environ.get("RNNLAB_WORKER_LOG"))


def is_worker(pid) -> bool:
    """Whether the process is an RNN Lab worker (and not some other process that got its pid)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return b"core\x00worker" in f.read()
    except (OSError, ValueError, TypeError):
        return True  # no /proc: trust the pid
