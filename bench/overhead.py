"""Throughput of TrainingJob writing its live run files (the Publisher thread: live.json with the
batch count once a second, history, predictions, weights), with a poller reading the run directory
once a second as the page does, against bare `model.fit` on the same spec, in one process. This
is the cost of the worker's own machinery; bench/live.py measures the whole app in a browser.

    python bench/overhead.py [--epochs 5] [--charts]

--charts also draws the page's Plotly figures on every poll, as the Train page does: each figure
is rebuilt when its data changed (views.figure_once) and serialized on every poll.
Prints samples/second for both and the ratio (target: >= 0.95).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from statistics import median
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from core import charts, data, models, runs, windows  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402
from core.training import TrainingJob  # noqa: E402


def bare_fit(spec, w) -> float:
    t0 = time.perf_counter()  # from model build to the end, as TrainingJob.run is timed
    keras.utils.set_random_seed(spec.train.seed)
    net = models.build(spec.model, spec.train, w.input_shape, spec.window.horizon)
    net.fit(w.X["train"], w.y["train"], validation_data=(w.X["val"], w.y["val"]), epochs=spec.train.epochs,
            batch_size=spec.train.batch_size, shuffle=True, verbose=0)
    return time.perf_counter() - t0


WRAPUP: list[float] = []  # seconds after fit: final predictions, forecast, test error by step


def job_fit(spec, w, with_charts: bool) -> float:
    """Seconds from model build to the end of fit (polled), as bare_fit is timed; the work after
    fit (final predictions, forecast, error by step) is recorded in WRAPUP."""
    job = TrainingJob(spec, w, run_dir=Path(tempfile.mkdtemp()) / "run")
    done = threading.Event()
    polls = [0]
    figures: dict[str, tuple] = {}

    def figure_once(key, build):  # what ui.views.figure_once does, without Streamlit
        if key[0] not in figures or figures[key[0]][0] != key:
            figures[key[0]] = (key, build())
        return figures[key[0]][1]

    def poll() -> None:
        while not done.wait(1.0):
            try:
                _, snap, frame = runs.read_run(job.run_dir)  # what the page reads, from disk
            except (OSError, ValueError, KeyError):
                continue
            polls[0] += 1
            if with_charts:
                figure_once(("loss", snap.epoch), lambda: charts.loss_figure(snap.history)).to_json()
                figure_once(("pred", snap.predictions_epoch),
                            lambda: charts.prediction_figure(frame)).to_json()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    t0 = time.perf_counter()
    job.run()
    elapsed = time.perf_counter() - t0
    done.set()
    poller.join()
    WRAPUP.append(elapsed - job.fit_seconds)
    print(f"  job: {polls[0]} polls, final status {job.snapshot().message}")
    return job.fit_seconds


def stop_latency(spec, w) -> tuple[float, str]:
    """Seconds from the stop file (during epoch 3, as the app's Stop writes it) until the job is no
    longer running: the Publisher's look, the current batch, one validation pass and the save."""
    job = TrainingJob(spec.replace(train={"epochs": 100}), w, run_dir=Path(tempfile.mkdtemp()) / "run").start()
    while job.snapshot().epoch < 2:
        time.sleep(0.05)
    time.sleep(0.5)  # somewhere inside epoch 3
    t0 = time.perf_counter()
    (job.run_dir / "stop").touch()
    while job.running:
        time.sleep(0.01)
    latency = time.perf_counter() - t0
    job.join()
    return latency, job.snapshot().message


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--charts", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = ExperimentSpec().replace(train={"epochs": args.epochs})
    w = windows.make(data.load(spec.data), spec)
    samples = len(w.y["train"]) * args.epochs
    warm = spec.replace(train={"epochs": 1})
    bare_fit(warm, w)  # first-call tracing and thread-pool start-up, for neither side
    bare, job = [], []
    for i in range(args.repeat):  # alternate the order (ABBA) so drift in machine speed cancels out
        first, second = (bare_fit, job_fit) if i % 2 == 0 else (job_fit, bare_fit)
        for fn in (first, second):
            (bare if fn is bare_fit else job).append(fn(spec, w) if fn is bare_fit else fn(spec, w, args.charts))
    b, j = samples / min(bare), samples / min(job)
    print(f"default spec, {args.epochs} epochs x {len(w.y['train'])} samples, {args.repeat} runs each")
    print(f"bare model.fit      : {b:8.0f} samples/s best  (times {', '.join(f'{t:.2f}s' for t in bare)})")
    print(f"job + live files    : {j:8.0f} samples/s best  (times {', '.join(f'{t:.2f}s' for t in job)})"
          + (" [with charts]" if args.charts else ""))
    print(f"throughput ratio (job / bare), best of each:   {j / b:.3f}  (target >= 0.95)")
    print(f"throughput ratio (job / bare), median of each: {median(bare) / median(job):.3f}")
    print(f"after training (final predictions, forecast, error by step, the save): {median(WRAPUP):.2f}s median")
    latency, message = stop_latency(spec, w)
    print(f"stop latency: {latency:.2f}s ({message}; target: about 2 s)")


if __name__ == "__main__":
    main()
