"""The memory race: can a recurrent cell carry one value across k noisy steps?

Each sample is a sequence of k + 1 steps with two features: a value channel of Gaussian noise,
whose first step holds the key (+1 or -1), and a marker channel that is 1 on that first step. The
label is whether the key was positive, so the answer lies exactly k steps before the prediction
and chance is 50%. SimpleRNN, LSTM and GRU get the same budget (units, samples, epochs, optimizer)
and we chart test accuracy against k.

The gradient that teaches a cell to keep the key has to cross k steps. With Keras's default
initialisation it fades on the way for all three cells (LSTM's forget gate starts near
sigmoid(1) = 0.73 per step, GRU's update gate near 0.5), so within a small budget none of them
learns k = 50. "Chrono" initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks
warp time?") starts the gates' biases so that memory lasts between 1 and k steps: LSTM forget
bias log(u), input bias -log(u), GRU update bias log(u), u ~ Uniform(1, k). SimpleRNN has no
gate to set, which is the point of the race.

The race is a run like any other: the server submits it to the worker pool (core/pool.py) as a
request of kind "memory_race", so it waits its turn, counts against the workspace's share, has a
Stop and a time limit, and trains in a worker process; the server never imports TensorFlow for it
(measured before: two visitors' races in the server took 156% of its CPU and kept running after
their tabs closed). The worker writes the run directory as it goes:

    memory_race.json  the tag: {"kind": "memory_race", "spec": RaceSpec}, written before it is queued
    live.json         status, message, epoch (trainings done), epochs (trainings in all), pid, ...
    results.csv       one row per finished training: k, cell, accuracy, train_accuracy, seconds
    run.json          how it ended (finished, stopped, failed), written last

and the page reads it back with `read_state`.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from . import cells, livefiles, runs
from .request import MEMORY_RACE

CELLS = cells.NAMES  # every registered cell, in the registry's order
INITS = {"chrono": "chrono (gate biases set for memory up to k steps)", "keras": "Keras default"}
MAX_K = 200
KIND = MEMORY_RACE  # the request kind a worker runs a race for (core/worker.py)
TAG_FILE, RESULTS_FILE = runs.RACE_FILE, runs.RACE_RESULTS  # core/runs.py owns the run directory's names
COLUMNS = ["k", "cell", "accuracy", "train_accuracy", "seconds"]


@dataclass(frozen=True)
class RaceSpec:
    """The race's settings; every cell gets the same budget.

    Attributes:
        lags: the k values to test (1..MAX_K).
        units: units of the single recurrent layer.
        samples: training sequences per k (the test set has a quarter as many, at least 200).
        epochs, batch_size, learning_rate: Adam with gradient clipping at norm 1.
        init: "chrono" or "keras" (see the module docstring).
        noise: standard deviation of the distractor values.
    """

    lags: tuple[int, ...] = (5, 20, 50, 100)
    cells: tuple[str, ...] = CELLS
    units: int = 16
    samples: int = 2000
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 0.01
    init: str = "chrono"
    noise: float = 1.0
    seed: int = 0

    def check(self) -> None:
        """Raise ValueError naming the setting that is out of range."""
        if not self.lags or any(not 1 <= int(k) <= MAX_K for k in self.lags):
            raise ValueError(f"pick lags k between 1 and {MAX_K}")
        if not self.cells or any(c not in CELLS for c in self.cells):
            raise ValueError(f"cells must be among {', '.join(CELLS)}")
        if not 1 <= self.units <= 256 or not 100 <= self.samples <= 50_000 or not 1 <= self.epochs <= 100:
            raise ValueError("units 1-256, samples 100-50000 and epochs 1-100")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}")

    @property
    def total(self) -> int:
        """Trainings in the race: one per lag and cell."""
        return len(self.lags) * len(self.cells)

    def to_dict(self) -> dict:
        return {**asdict(self), "lags": list(self.lags), "cells": list(self.cells)}

    @classmethod
    def from_dict(cls, raw) -> "RaceSpec":
        """A RaceSpec from its JSON form, checked; ValueError names what is wrong."""
        known = {f.name for f in fields(cls)}
        if not isinstance(raw, dict) or set(raw) - known:
            raise ValueError(f"a race's settings are a JSON object of {', '.join(sorted(known))}")
        try:
            spec = cls(**{k: tuple(v) if k in ("lags", "cells") else v for k, v in raw.items()})
            spec.check()
        except TypeError as exc:
            raise ValueError(f"a race setting has the wrong type ({exc})") from None
        return spec


def task(k: int, samples: int, seed: int, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose label is the sign of the value k steps before the end.

    Returns:
        X (samples, k + 1, 2) float32: [value, marker]; y (samples,) float32 in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=noise, size=(samples, k + 1)).astype(np.float32)
    key = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=samples)
    values[:, 0] = key
    marker = np.zeros_like(values)
    marker[:, 0] = 1.0
    return np.stack([values, marker], axis=-1), (key > 0).astype(np.float32)


def chrono(layer, k: int, rng: np.random.Generator) -> None:
    """Set a gated cell's biases so that its memory spans 1 to k steps (in place): each cell knows
    which of its biases do it (core/cells/, `Cell.chrono`)."""
    span = np.log(rng.uniform(1.0, max(k, 2), size=layer.cell.units))
    cells.of_layer(layer).chrono(layer, span)


def build(cell: str, k: int, spec: RaceSpec):
    """Input (k + 1, 2) -> cell(units) -> Dense(1, sigmoid), compiled for accuracy."""
    import keras

    layer = cells.cell(cell).layer()(spec.units, name=cell.lower())
    net = keras.Sequential([keras.Input((k + 1, 2)), layer, keras.layers.Dense(1, activation="sigmoid")])
    if spec.init == "chrono" and cells.cell(cell).chrono is not None:
        chrono(layer, k, np.random.default_rng(spec.seed))
    net.compile(keras.optimizers.Adam(spec.learning_rate, clipnorm=1.0), "binary_crossentropy",
                metrics=["accuracy"])
    return net


def run_one(cell: str, k: int, spec: RaceSpec, stop: threading.Event | None = None) -> dict:
    """Train one cell on one lag; returns {"k", "cell", "accuracy", "train_accuracy", "seconds"}."""
    import keras

    keras.utils.set_random_seed(spec.seed)
    X, y = task(k, spec.samples, spec.seed + 1, spec.noise)
    X_test, y_test = task(k, max(200, spec.samples // 4), spec.seed + 2, spec.noise)
    net = build(cell, k, spec)
    t0 = time.perf_counter()
    callbacks = [_StopOn(stop)] if stop is not None else []
    history = net.fit(X, y, epochs=spec.epochs, batch_size=spec.batch_size, verbose=0, callbacks=callbacks)
    accuracy = float(np.mean((np.asarray(net(X_test, training=False))[:, 0] > 0.5) == (y_test > 0.5)))
    return {"k": k, "cell": cell, "accuracy": accuracy,
            "train_accuracy": float(history.history["accuracy"][-1]), "seconds": time.perf_counter() - t0}


class _StopOn:  # a Keras callback without importing keras at module load
    def __new__(cls, event: threading.Event):
        import keras

        class StopOn(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if event.is_set():
                    self.model.stop_training = True

        return StopOn()


@dataclass
class RaceState:
    """The race as its run directory tells it. results: columns k, cell, accuracy, train_accuracy, seconds."""

    status: str = "queued"  # queued, running, finished, stopped, failed
    message: str = "queued"
    done: int = 0
    total: int = 0
    results: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    queue_position: int = 0
    queue_length: int = 0

    @property
    def running(self) -> bool:
        """Not ended yet: waiting in the pool's queue or training."""
        return self.status in ("queued", "running")


def race(spec: RaceSpec, stop: threading.Event | None = None, report=None) -> tuple[str, str, list[dict]]:
    """Train every cell on every lag, short lags first, in this process: (status, message, rows).

    `report(message, row)` is called before each training (row None) and after it (with its row);
    a training cut short by `stop` is left out, since its accuracy would not be comparable.
    """
    stop = stop or threading.Event()
    report = report or (lambda message, row=None: None)
    rows: list[dict] = []
    try:
        for k in sorted(spec.lags):
            for cell in spec.cells:
                if stop.is_set():
                    return "stopped", f"stopped after {len(rows)} of {spec.total}", rows
                report(f"training {cell} on k = {k}")
                row = run_one(cell, k, spec, stop)
                if stop.is_set():  # cut short: its accuracy would not be comparable
                    continue
                rows.append(row)
                report(f"trained {cell} on k = {k}", row)
        if stop.is_set():
            return "stopped", f"stopped after {len(rows)} of {spec.total}", rows
        return "finished", f"finished {len(rows)} runs", rows
    except Exception as exc:  # noqa: BLE001 - shown on the page; the worker must not die silently
        return "failed", f"the race failed ({exc.__class__.__name__}: {str(exc)[:200]})", rows


class _Watch:
    """The worker's eye on its run directory while the race trains: a Stop (the `stop` file) sets
    the event, and live.json is rewritten every few seconds so a reader elsewhere sees it alive."""

    def __init__(self, run_dir: Path, stop: threading.Event, tick: float = 0.2, beat: float = 5.0):
        self.run_dir, self.stop, self.tick, self.beat = run_dir, stop, tick, beat
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-race-watch", daemon=True)

    def start(self) -> "_Watch":
        self._thread.start()
        return self

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._done.wait(self.tick):
            if livefiles.stop_requested(self.run_dir):
                self.stop.set()
            if time.monotonic() - last >= self.beat:
                try:
                    livefiles.write_live(self.run_dir)  # updated_at
                except OSError:
                    pass
                last = time.monotonic()

    def close(self) -> None:
        self._done.set()
        self._thread.join()


def run_request(request: dict, stop: threading.Event | None = None) -> int:
    """The worker's job for a request of kind "memory_race": run the race, writing its run
    directory as it goes. Returns the exit code (0 ended, 1 the race failed, 2 bad settings)."""
    run_dir, run_id, workspace = Path(request["run_dir"]), request["run_id"], request.get("workspace")
    started = time.perf_counter()
    try:
        spec = RaceSpec.from_dict(request.get("spec"))
    except ValueError as exc:
        _end(run_dir, run_id, workspace, "failed", f"the race cannot run: {exc}", 0, 0, 0.0)
        return 2
    stop = stop or threading.Event()
    livefiles.write_live(run_dir, run_id=run_id, status="running", message="starting", epoch=0, epochs=spec.total,
                         batch=0, batches=0, pid=os.getpid(), host=livefiles.HOST, workspace=workspace, kind=KIND,
                         queue_position=0, queue_length=0)
    rows: list[dict] = []

    def report(message: str, row: dict | None = None) -> None:
        if row is not None:
            rows.append(row)
            _write_results(run_dir, rows)
        livefiles.write_live(run_dir, message=message, epoch=len(rows),
                             elapsed_seconds=round(time.perf_counter() - started, 3))

    watch = _Watch(run_dir, stop).start()
    try:
        status, message, _ = race(spec, stop, report)
    finally:
        watch.close()
    _end(run_dir, run_id, workspace, status, message, len(rows), spec.total, time.perf_counter() - started)
    return 1 if status == "failed" else 0


def _write_results(run_dir: Path, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    livefiles.write_with(run_dir / RESULTS_FILE, lambda p: frame.to_csv(p, index=False))


def _end(run_dir: Path, run_id: str, workspace: str | None, status: str, message: str, done: int, total: int,
         elapsed: float) -> None:
    """run.json (written last: whoever sees it can read results.csv) and live.json's final word."""
    info = {"run_id": run_id, "status": status, "message": message, "epoch": done, "epochs": total,
            "elapsed_seconds": round(elapsed, 3), "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "workspace": workspace, "kind": KIND}
    try:
        livefiles.write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")
        livefiles.write_live(run_dir, status=status, message=message, epoch=done, batch=0, eta_seconds=None,
                             elapsed_seconds=round(elapsed, 3))
        (run_dir / livefiles.STOP).unlink(missing_ok=True)
    except OSError:
        pass  # the directory was deleted meanwhile


def read_tag(run_dir: str | Path) -> RaceSpec:
    """The race's settings from its tag (memory_race.json); ValueError or OSError when there is none."""
    raw = json.loads((Path(run_dir) / TAG_FILE).read_text())
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise ValueError(f"{run_dir} is not a memory race")
    return RaceSpec.from_dict(raw.get("spec"))


def read_results(run_dir: str | Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(Path(run_dir) / RESULTS_FILE)
    except (OSError, ValueError):
        return pd.DataFrame(columns=COLUMNS)
    return frame if list(frame.columns) == COLUMNS else pd.DataFrame(columns=COLUMNS)


def read_state(run_dir: str | Path, total: int = 0, in_pool: bool = False) -> RaceState:
    """The race as its run directory tells it, live or ended. A race whose worker is gone without
    a word reads as failed, unless `in_pool` (the pool is writing its ending at this moment)."""
    run_dir = Path(run_dir)
    results = read_results(run_dir)
    state = RaceState(done=len(results), total=total, results=results)
    try:
        ended = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        ended = None
    live = livefiles.read_live(run_dir) or {}
    state.total = int(live.get("epochs") or total)
    if isinstance(ended, dict):
        state.status, state.message = str(ended.get("status", "failed")), str(ended.get("message", ""))
    elif not live:
        state.status, state.message = "queued", "queued"
    elif livefiles.is_live(run_dir) or in_pool:
        state.status, state.message = str(live.get("status", "queued")), str(live.get("message", ""))
        state.queue_position, state.queue_length = int(live.get("queue_position") or 0), int(live.get("queue_length") or 0)
    else:
        state.status, state.message = "failed", "the worker stopped before the race ended; run it again"
    return state


class MemoryRace:
    """A race submitted to the worker pool; the page polls `state()`, which reads its run directory.

    Args:
        spec: the race's settings (checked here: ValueError names what is wrong).
        root: the run store; the race is root/<run id>, tagged by memory_race.json.
        workspace: the workspace id it belongs to (the queue's fairness counts it there).
        pool: where it trains (core.pool.Pool; the app's is pool.shared()).
    """

    def __init__(self, spec: RaceSpec, root: str | Path, workspace: str | None, pool):
        spec.check()
        self.spec, self.workspace, self.pool = spec, workspace, pool
        root = Path(root)
        self.run_id = runs.new_run_id()
        while (root / self.run_id).exists():
            self.run_id = runs.new_run_id()
        self.run_dir = (root / self.run_id).resolve()

    def start(self) -> "MemoryRace":
        """Tag the run directory and queue the race in the pool; returns at once."""
        runs.submit(self.pool, self.spec, run_dir=self.run_dir, workspace=self.workspace, kind=MEMORY_RACE,
                    tag=(TAG_FILE, {"kind": KIND, "spec": self.spec.to_dict()}))
        return self

    def stop(self) -> None:
        """A queued race ends at once; a training one after its current batch."""
        self.pool.stop(self.run_id, self.run_dir)

    def state(self) -> RaceState:
        return read_state(self.run_dir, self.spec.total, in_pool=self.pool.knows(self.run_id))

    def join(self, timeout: float | None = None) -> RaceState:
        """Wait until the race has ended (or `timeout` seconds); its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state().running and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
        return self.state()
