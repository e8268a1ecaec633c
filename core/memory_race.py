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
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CELLS = ("SimpleRNN", "LSTM", "GRU")
INITS = {"chrono": "chrono (gate biases set for memory up to k steps)", "keras": "Keras default"}
MAX_K = 200


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
    """Set an LSTM's or GRU's gate biases so that its memory spans 1 to k steps (in place)."""
    import keras

    units = layer.cell.units
    bias = layer.cell.bias.numpy()
    span = np.log(rng.uniform(1.0, max(k, 2), size=units))
    if isinstance(layer, keras.layers.LSTM):  # gate order i, f, c, o
        bias[units:2 * units] = span
        bias[:units] = -span
    elif isinstance(layer, keras.layers.GRU):  # gate order z, r, h; reset_after: row 0 is the input bias
        (bias[0] if bias.ndim == 2 else bias)[:units] = span
    layer.cell.bias.assign(bias)


def build(cell: str, k: int, spec: RaceSpec):
    """Input (k + 1, 2) -> cell(units) -> Dense(1, sigmoid), compiled for accuracy."""
    import keras

    layer = getattr(keras.layers, cell)(spec.units, name=cell.lower())
    net = keras.Sequential([keras.Input((k + 1, 2)), layer, keras.layers.Dense(1, activation="sigmoid")])
    if spec.init == "chrono" and cell != "SimpleRNN":
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
    """A copy of the race's progress. results: columns k, cell, accuracy, train_accuracy, seconds."""

    status: str = "running"  # running, finished, stopped, failed
    message: str = "starting"
    done: int = 0
    total: int = 0
    results: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["k", "cell", "accuracy", "train_accuracy", "seconds"]))

    @property
    def running(self) -> bool:
        return self.status == "running"


class MemoryRace:
    """Runs the race in a background thread (the page polls `state()`); short lags first."""

    def __init__(self, spec: RaceSpec):
        spec.check()
        self.spec = spec
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rows: list[dict] = []
        self._state = RaceState(total=len(spec.lags) * len(spec.cells))
        self._thread: threading.Thread | None = None

    def start(self) -> "MemoryRace":
        self._thread = threading.Thread(target=self.run, name="memory-race", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def state(self) -> RaceState:
        with self._lock:
            s = RaceState(self._state.status, self._state.message, self._state.done, self._state.total)
            s.results = pd.DataFrame(self._rows, columns=s.results.columns)
        return s

    def run(self) -> RaceState:
        try:
            for k in sorted(self.spec.lags):
                for cell in self.spec.cells:
                    if self._stop.is_set():
                        self._set(status="stopped", message=f"stopped after {len(self._rows)} of {self._state.total}")
                        return self.state()
                    self._set(message=f"training {cell} on k = {k}")
                    row = run_one(cell, k, self.spec, self._stop)
                    if self._stop.is_set():  # cut short: its accuracy would not be comparable
                        continue
                    with self._lock:
                        self._rows.append(row)
                        self._state.done = len(self._rows)
            if self._stop.is_set():
                self._set(status="stopped", message=f"stopped after {len(self._rows)} of {self._state.total}")
            else:
                self._set(status="finished", message=f"finished {len(self._rows)} runs")
        except Exception as exc:  # noqa: BLE001 - shown on the page; the thread must not die silently
            self._set(status="failed", message=f"the race failed ({exc.__class__.__name__}: {exc})")
        return self.state()

    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)
