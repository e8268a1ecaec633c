"""The worker: the one training pipeline, run in a process of its own.

    python -m core worker        imports TensorFlow, then waits for one request on stdin

A request is one line of JSON: {"run_id", "run_dir", "spec": {...}, "workspace", "csv_root", "kind"}.
For kind "train" (the default) the worker loads the data, makes the windows, trains and writes the
run directory as it goes (the live files of core/livefiles.py, then the finished run); for kind
"memory_race" it runs the memory race (core/memory_race.py) into its run directory. Then it exits,
which gives its memory back to the system. Importing TensorFlow takes 3-5 s, so the pool (core/pool.py) starts a worker before it is
needed: the warm worker waits here with TensorFlow loaded, and the first loss point comes as soon
as a plain script's would.

`python -m core train` runs the same `prepare` and `train` in its own process, printing as it goes.
Nothing here knows about Streamlit or the pool: a worker on another machine that can see the run
store needs only this module.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from .spec import ExperimentSpec


def prepare(spec: ExperimentSpec, csv_root: str | Path | None = None):
    """(frame, windows) for a spec; raises DataError or SpecError saying what is wrong."""
    from . import data, windows

    frame = data.load(spec.data, require_columns=False, csv_root=csv_root)  # windows.make checks the columns
    return frame, windows.make(frame, spec)


PARENT_ENV = "RNNLAB_WORKER_PARENT"  # set by a command-line sweep or backtest: its workers end with it


def stop_grace() -> float:
    """Seconds a run asked to stop gets to save itself before its process is ended
    ($RNNLAB_STOP_GRACE, default 10, as the pool gives a worker)."""
    try:
        return max(0.0, float(os.environ.get("RNNLAB_STOP_GRACE") or 10))
    except ValueError:
        return 10.0


def train(spec: ExperimentSpec, windowed, run_dir: str | Path | None, run_id: str | None = None,
          workspace: str | None = None, on_epoch: Callable | None = None, timeline: dict | None = None):
    """Train the spec on its windows, writing the run directory live and at the end: (job, final snapshot).

    SIGTERM or SIGINT asks the job to stop after the current batch, as the `stop` file does (the
    signal's number is kept in `job.signal`); see stop_on_signals."""
    from .training import TrainingJob

    job = TrainingJob(spec, windowed, run_dir=run_dir, on_epoch=on_epoch, run_id=run_id, workspace=workspace)
    job.timeline.update(timeline or {})
    with stop_on_signals(job, run_dir):
        return job, job.run()


@contextlib.contextmanager
def stop_on_signals(job, run_dir: str | Path | None, grace: float | None = None):
    """While the block runs, SIGTERM and SIGINT stop `job` as the app's Stop does: after its current
    batch, then the run is saved as stopped. A signal used to wait for the final save (predictions,
    baselines, forecast), which has no batches to stop at; so when the job has not ended `grace`
    seconds after the signal, or a second signal comes, the process ends at once with 128 + the
    signal's number, its run marked stopped without a model. Outside the main thread (the tests'
    in-process launcher) nothing is installed."""
    grace = stop_grace() if grace is None else grace
    done = threading.Event()

    def end_now(signum: int) -> None:
        if done.is_set():
            return
        name = signal.Signals(signum).name
        try:
            from . import runs

            if run_dir is not None and not runs.has_ended(run_dir):
                snap = job.snapshot()
                runs.mark_ended(run_dir, job.run_id, runs.STOPPED, f"stopped by {name} at epoch {snap.epoch} of "
                                f"{snap.epochs}; the process ended before the run was saved (no model file)",
                                job.workspace)
        finally:
            print(f"error: stopped by {name}; the process ended before the run was saved", file=sys.stderr,
                  flush=True)
            os._exit(128 + signum)

    def handler(signum, _frame) -> None:
        if job.signal is not None:
            end_now(signum)  # a second signal: now
        job.signal = signum
        job.stop()
        timer = threading.Timer(grace, end_now, args=(signum,))
        timer.daemon = True
        timer.start()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield job
    finally:
        done.set()
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def _on_sigterm(stop: Callable[[], None]):
    """While inside, SIGTERM calls `stop` (the memory race ends after its batch) instead of killing."""
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop())
    except ValueError:  # not the main thread (the in-process launcher of the tests)
        pass
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def watch_parent() -> None:
    """In a worker a command-line sweep or backtest started ($RNNLAB_WORKER_PARENT: its pid): when
    that process is gone (killed, even with SIGKILL), SIGTERM ourselves, so the run stops after its
    batch and is saved as stopped instead of training on as an orphan (measured before: a 7,800-epoch
    trial at 99% CPU). The app's workers do not get it: they outlive a server restart on purpose."""
    try:
        parent = int(os.environ.get(PARENT_ENV) or 0)
    except ValueError:
        parent = 0
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_request(request: dict) -> int:
    """Carry out one request; the outcome is in its run directory. Returns the exit code
    (0 trained, 1 failed while training, 2 bad spec or data)."""
    from . import memory_race

    if request.get("kind") == memory_race.KIND:
        stop = threading.Event()
        with _on_sigterm(stop.set):
            return memory_race.run_request(request, stop)
    from . import runs
    from .data import DataError
    from .spec import SpecError
    from .training import FAILED

    run_dir, run_id = Path(request["run_dir"]), request["run_id"]
    timeline = {"request": time.time()}  # live.json's timeline: where a run's wall time goes (bench/live.py)
    if request.get("worker_started"):
        timeline["worker_start"] = request["worker_started"]
    try:
        spec = ExperimentSpec.from_checked(request["spec"])  # the pool checked it before queueing it
        _, windowed = prepare(spec, request.get("csv_root"))
    except (SpecError, DataError) as exc:
        runs.mark_ended(run_dir, run_id, runs.FAILED, f"the data could not be prepared: {exc}",
                        request.get("workspace"))
        return 2
    except Exception as exc:  # noqa: BLE001 - a download error, memory: the run says what, not a silent exit
        runs.mark_ended(run_dir, run_id, runs.FAILED, f"the data could not be prepared ({exc.__class__.__name__}: "
                        f"{str(exc)[:200]})", request.get("workspace"))
        return 1
    job, final = train(spec, windowed, run_dir, run_id, request.get("workspace"), timeline=timeline)
    return 0 if job.saved and final.status != FAILED else 1


def serve(stream=None) -> int:
    """The worker's main: warm up, wait for one request, run it, exit."""
    started = time.time()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401  (the point of a warm worker: this is done before the request comes)

    from . import data, training, windows  # noqa: F401

    line = (stream or sys.stdin).readline()
    if not line.strip():
        return 0  # the server went away (or never needed us): nothing to do
    try:
        request = json.loads(line)
    except ValueError:
        print("error: the worker's request is not JSON", file=sys.stderr)
        return 2
    watch_parent()
    if isinstance(request, dict):
        request["worker_started"] = started
    code = run_request(request)
    # The run directory is complete (run.json written last, every file renamed into place). Leave now:
    # TensorFlow's orderly tear-down takes a second or more, during which the pool cannot start the
    # next warm worker, and a Train click in that second got a cold one (3-5 s) and two TensorFlow
    # processes at once (measured: 3 processes, 1.7 GB, over 20 one-epoch runs).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
