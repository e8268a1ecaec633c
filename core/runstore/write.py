"""Writing a run directory: the moment it is queued (started.json, spec.json), the final save (every
file replaced atomically, run.json last) and the ending of a run whose worker could not save it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import livefiles
from ..livefiles import write_atomic, write_with
from ..snapshot import FAILED, Snapshot
from ..spec import ExperimentSpec
from ..windows import Windowed
from .files import HISTORY_COLUMNS, discard, has_ended, owner



def predictions_frame(windowed: Windowed, predictions: dict[str, np.ndarray] | None,
                      probabilities: dict[str, np.ndarray] | None = None,
                      window_error: dict[str, np.ndarray] | None = None,
                      intervals: dict[str, dict[str, np.ndarray]] | None = None) -> pd.DataFrame:
    """One row per val/test target: date, split, truth, prediction (NaN before any), naive.

    Classification adds "p_<class>" (each class's probability; truth, prediction and naive are
    label indices); the autoencoder adds "window_error" (RMSE of the rebuilt window); a regression
    model adds "lower_80", "upper_80", "lower_95", "upper_95" (its conformal bands, core/intervals.py).
    """
    parts = []
    for split in ("val", "test"):
        n = len(windowed.truth[split])
        pred = predictions[split] if predictions else np.full(n, np.nan)
        part = pd.DataFrame({
            "date": windowed.dates[split], "split": split, "truth": windowed.truth[split],
            "prediction": pred, "naive": windowed.naive[split],
        })
        if windowed.classes:
            probs = probabilities[split] if probabilities else np.full((n, len(windowed.classes)), np.nan)
            for i, name in enumerate(windowed.classes):
                part[f"p_{name}"] = probs[:, i]
        if window_error is not None:
            part["window_error"] = window_error[split]
        for column, values in (intervals or {}).items():
            part[column] = values[split]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def history_frame(history: dict[str, list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(history, columns=[c for c in HISTORY_COLUMNS if c in history] or ["loss", "val_loss"])
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def _json_safe(value):
    """NaN and infinities become null, so metrics.json is strict JSON (JavaScript's JSON.parse reads it)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_spec(run_dir: Path, spec: ExperimentSpec) -> None:
    """spec.json: the full spec, defaults filled in (the one place it is written; replaced atomically)."""
    write_atomic(run_dir / "spec.json", spec.to_json() + "\n")


def mark_started(run_dir: str | Path, run_id: str, workspace: str | None, spec: ExperimentSpec | None = None) -> None:
    """started.json (and spec.json): the run exists from the first moment, and can be told apart
    (and its settings recovered) when the process ends before it does."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if spec is not None:
            write_spec(run_dir, spec)
        info = {"run_id": run_id, "workspace": workspace, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (run_dir / "started.json").write_text(json.dumps(info, indent=2) + "\n")
    except OSError:
        discard(run_dir)  # a full disk must not leave an empty folder listed as a run
        raise


def save(run_dir: str | Path, spec: ExperimentSpec, windowed: Windowed, snap: Snapshot, model,
         weight_history: dict[int, list[np.ndarray]] | None = None, workspace: str | None = None) -> Path:
    """Write a finished, stopped or failed run into run_dir (created if needed).

    A save that fails half way (a full disk, a folder that cannot be written) removes what it
    wrote, so no truncated model.keras is left taking space or listed as a run, and raises
    RunNotSaved saying why. Other runs are not touched.
    """
    run_dir = Path(run_dir)
    try:
        return _save(run_dir, spec, windowed, snap, model, weight_history, workspace)
    except Exception as exc:  # noqa: BLE001 - OSError mostly; Keras and h5py wrap some in their own errors
        discard(run_dir)
        errno = getattr(exc, "errno", None)
        full = errno == 28 or "No space left" in str(exc)
        reason = "the disk is full" if full else (getattr(exc, "strerror", None) or
                                                  f"{exc.__class__.__name__}: {str(exc)[:160]}")
        message = (f"could not save the run to {run_dir} ({reason}); nothing was kept. Free some space or set "
                   "RNNLAB_RUNS_DIR to another folder, then train again")
        _leave_a_note(run_dir, spec, snap, workspace, message)
        raise RunNotSaved(message) from None


def _leave_a_note(run_dir: Path, spec: ExperimentSpec, snap: Snapshot, workspace: str | None, message: str) -> None:
    """After a failed save: spec.json and a run.json saying why (a few hundred bytes, which usually fit
    where a model did not), so a page shows the reason; if even they do not fit, nothing stays."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_spec(run_dir, spec)
        info = {"run_id": snap.run_id, "status": FAILED, "message": message, "epoch": snap.epoch,
                "epochs": snap.epochs, "elapsed_seconds": round(snap.elapsed, 3),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "workspace": workspace}
        write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")
    except OSError:
        discard(run_dir)


class RunNotSaved(OSError):
    """A run whose directory could not be written; what it had written is removed."""


def _save(run_dir: Path, spec: ExperimentSpec, windowed: Windowed, snap: Snapshot, model,
          weight_history: dict[int, list[np.ndarray]] | None, workspace: str | None) -> Path:
    """Every file replaced atomically (a page may be reading the live ones), run.json last."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_spec(run_dir, spec)
    write_with(run_dir / "history.csv", lambda p: history_frame(snap.history).to_csv(p, index=False))
    # pandas writes dates without a time when every time is midnight, with one otherwise
    frame = predictions_frame(windowed, snap.predictions, snap.probabilities, snap.window_error, snap.intervals)
    write_with(run_dir / "predictions.csv", lambda p: frame.to_csv(p, index=False))
    if snap.metrics is not None:
        write_atomic(run_dir / "metrics.json", metrics_json(snap))
    else:
        (run_dir / "metrics.json").unlink(missing_ok=True)
    if snap.forecast is not None:
        write_with(run_dir / "forecast.csv", lambda p: snap.forecast.to_csv(p, index=False))
    write_with(run_dir / "model.keras", model.save)
    save_gates(run_dir, model, windowed)
    if weight_history:
        write_with(run_dir / "weights.npz", lambda p: np.savez_compressed(p, **flat_weights(weight_history)))
    info = {"run_id": snap.run_id, "status": snap.status, "message": snap.message, "epoch": snap.epoch,
            "epochs": snap.epochs, "elapsed_seconds": round(snap.elapsed, 3),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "workspace": workspace}
    write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")  # last: it marks the run complete
    return run_dir


def metrics_json(snap: Snapshot) -> str:
    """metrics.json's text: the snapshot's metrics and the test error by step, strict JSON."""
    metrics = dict(snap.metrics or {})
    if snap.by_step is not None:
        metrics["test_by_step"] = snap.by_step.to_dict(orient="records")
    return json.dumps(_json_safe(metrics), indent=2) + "\n"


def flat_weights(history: dict[int, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """weights.npz's arrays: "epoch_<n>/<i>" -> model.get_weights()[i] after epoch n."""
    return {f"epoch_{e}/{i}": a for e, ws in history.items() for i, a in enumerate(ws)}


def mark_ended(run_dir: str | Path, run_id: str, status: str, message: str, workspace: str | None = None,
               reason: str | None = None) -> None:
    """Write run.json for a run that ended without its worker's final save (bad data, a killed
    worker, a forced stop): the epochs in history.csv are what it finished. A directory that is
    gone (deleted meanwhile) is left gone. `reason` (e.g. snapshot.WORKER_DIED) is kept as run.json's
    "reason" for a program to read (ended_because); the message is for people."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or has_ended(run_dir):
        return
    live = livefiles.read_live(run_dir) or {}
    try:
        epoch = len(pd.read_csv(run_dir / "history.csv")) if (run_dir / "history.csv").is_file() else 0
    except (OSError, ValueError):
        epoch = 0
    info = {"run_id": run_id, "status": status, "message": message, "epoch": epoch,
            "epochs": live.get("epochs", 0), "elapsed_seconds": live.get("elapsed_seconds") or 0.0,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "workspace": workspace if workspace is not None else live.get("workspace", owner(run_dir))}
    if reason is not None:
        info["reason"] = reason
    try:
        write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")
        livefiles.write_live(run_dir, status=status, message=message, batch=0, eta_seconds=None)
    except OSError:
        pass


def save_gates(run_dir: Path, model, windowed: Windowed) -> None:
    """gates.npz: the replayed gates of the first test window (nothing when there is none)."""
    from .. import gates

    if not len(windowed.X["test"]):
        return
    try:
        traces = gates.replay(model, windowed.X["test"][:1])
    except (ValueError, TypeError):  # a model the replay does not understand (an imported one): no gates
        return
    np.savez(run_dir / "gates.npz", **gates.flat(traces))


def mark_status(run_dir: str | Path, status: str, message: str) -> None:
    """Give an ended run another status and message (a sweep's trial stopped by its pruner is
    "pruned", not "stopped"); run.json is rewritten atomically."""
    path = Path(run_dir) / "run.json"
    info = json.loads(path.read_text())
    write_atomic(path, json.dumps({**info, "status": status, "message": message}, indent=2) + "\n")
