"""The run store on disk: one directory per run.

Layout of a run directory (a public interface; files are only ever added):

    spec.json         the full spec, defaults filled in
    history.csv       epoch, loss, val_loss (one row per completed epoch; losses in scaled units)
    predictions.csv   date, split, truth, prediction, naive (one row per val/test target, original units)
    metrics.json      {"test": {"rmse", "mae", "mape"}, "baselines": {"naive": {...}},
                       "val": {...}, "val_baselines": {"naive": {...}}}  (mape in percent)
    run.json          run_id, status, message, epoch, epochs, elapsed_seconds, saved_at (written
                      last: a directory with run.json is complete)
    model.keras       the trained Keras model (the last good weights)
    forecast.csv      date, forecast: values past the end of the data (when the mode can forecast)
    metrics.json also holds "test_by_step": [{"step", "rmse", "mae", "naive_rmse", "windows"}, ...]
    gates.npz         "<layer name>/<gate>" -> (time steps, units) float32: every gate and state of
                      every recurrent layer over the first test window, final weights (core/gates.py)
    weights.npz       "epoch_<n>/<i>" -> model.get_weights()[i] after epoch n (0: before training),
                      for the epochs the job kept (see TrainingJob.weight_history)
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .spec import ExperimentSpec
from .training import Snapshot
from .windows import Windowed

PREDICTION_COLUMNS = ["date", "split", "truth", "prediction", "naive"]


def default_root() -> Path:
    """Where the app keeps runs: $RNNLAB_RUNS_DIR, or ./runs."""
    return Path(os.environ.get("RNNLAB_RUNS_DIR", "runs"))


def predictions_frame(windowed: Windowed, predictions: dict[str, np.ndarray] | None) -> pd.DataFrame:
    """One row per val/test target: date, split, truth, prediction (NaN before any), naive."""
    parts = []
    for split in ("val", "test"):
        n = len(windowed.truth[split])
        pred = predictions[split] if predictions else np.full(n, np.nan)
        parts.append(pd.DataFrame({
            "date": windowed.dates[split], "split": split, "truth": windowed.truth[split],
            "prediction": pred, "naive": windowed.naive[split],
        }))
    return pd.concat(parts, ignore_index=True)


def history_frame(history: dict[str, list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(history, columns=["loss", "val_loss"])
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def save(run_dir: str | Path, spec: ExperimentSpec, windowed: Windowed, snap: Snapshot, model,
         weight_history: dict[int, list[np.ndarray]] | None = None) -> Path:
    """Write a finished, stopped or failed run into run_dir (created if needed)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(spec.to_json() + "\n")
    history_frame(snap.history).to_csv(run_dir / "history.csv", index=False)
    # pandas writes dates without a time when every time is midnight, with one otherwise
    predictions_frame(windowed, snap.predictions).to_csv(run_dir / "predictions.csv", index=False)
    metrics_path = run_dir / "metrics.json"
    if snap.metrics is not None:
        metrics = dict(snap.metrics)
        if snap.by_step is not None:
            metrics["test_by_step"] = snap.by_step.to_dict(orient="records")
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    else:
        metrics_path.unlink(missing_ok=True)
    if snap.forecast is not None:
        snap.forecast.to_csv(run_dir / "forecast.csv", index=False)
    model.save(run_dir / "model.keras")
    save_gates(run_dir, model, windowed)
    if weight_history:
        np.savez_compressed(run_dir / "weights.npz", **{f"epoch_{e}/{i}": a for e, ws in weight_history.items()
                                                         for i, a in enumerate(ws)})
    info = {"run_id": snap.run_id, "status": snap.status, "message": snap.message, "epoch": snap.epoch,
            "epochs": snap.epochs, "elapsed_seconds": round(snap.elapsed, 3),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")  # last: it marks the run complete
    return run_dir


def save_gates(run_dir: Path, model, windowed: Windowed) -> None:
    """gates.npz: the replayed gates of the first test window (nothing when there is none)."""
    from . import gates

    if len(windowed.X["test"]):
        np.savez(run_dir / "gates.npz", **gates.flat(gates.replay(model, windowed.X["test"][:1])))


def weight_history(run_dir: str | Path) -> dict[int, list[np.ndarray]]:
    """weights.npz read back: epoch -> model.get_weights() list; {} when the run has none."""
    path = Path(run_dir) / "weights.npz"
    if not path.is_file():
        return {}
    out: dict[int, dict[int, np.ndarray]] = {}
    with np.load(path) as archive:
        for key in archive.files:
            epoch, i = key.removeprefix("epoch_").split("/")
            out.setdefault(int(epoch), {})[int(i)] = archive[key]
    return {e: [ws[i] for i in sorted(ws)] for e, ws in sorted(out.items())}


def load(run_dir: str | Path) -> tuple[ExperimentSpec, Snapshot, pd.DataFrame]:
    """Read a run directory back: (spec, final snapshot, predictions frame)."""
    run_dir = Path(run_dir)
    spec = ExperimentSpec.from_json((run_dir / "spec.json").read_text())
    info = json.loads((run_dir / "run.json").read_text())
    history = pd.read_csv(run_dir / "history.csv")
    metrics_path = run_dir / "metrics.json"
    snap = Snapshot(
        run_id=info["run_id"], status=info["status"], message=info["message"], epoch=info["epoch"],
        epochs=info["epochs"], history={k: history[k].tolist() for k in ("loss", "val_loss")},
        metrics=json.loads(metrics_path.read_text()) if metrics_path.exists() else None,
        elapsed=info.get("elapsed_seconds", 0.0),
    )
    if snap.metrics and "test_by_step" in snap.metrics:
        snap.by_step = pd.DataFrame(snap.metrics["test_by_step"])
    if (run_dir / "forecast.csv").is_file():
        snap.forecast = pd.read_csv(run_dir / "forecast.csv", parse_dates=["date"])
    frame = pd.read_csv(run_dir / "predictions.csv", parse_dates=["date"])
    return spec, snap, frame


def find(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a saved run, or None. Run ids are plain names, never paths."""
    if not run_id or not all(c.isalnum() or c == "-" for c in run_id):
        return None
    path = Path(root or default_root()) / run_id
    return path if (path / "run.json").is_file() else None
