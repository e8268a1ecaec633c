"""The run store on disk: one directory per run.

Layout of a run directory (a public interface; files are only ever added):

    spec.json         the full spec, defaults filled in
    history.csv       epoch, loss, val_loss (one row per completed epoch; losses in scaled units)
    predictions.csv   date, split, truth, prediction, naive (one row per val/test target, original units);
                      classification adds p_<class> per class (truth/prediction/naive are label
                      indices), the autoencoder adds window_error
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
    started.json      run_id, workspace, started_at, written when training starts: a directory
                      with started.json but no run.json was interrupted (the process ended)

run.json also holds "workspace": a hash of the workspace token of the browser session that made
the run (null for the command line). The app lists, opens and deletes only its own workspace's runs.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
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


def predictions_frame(windowed: Windowed, predictions: dict[str, np.ndarray] | None,
                      probabilities: dict[str, np.ndarray] | None = None,
                      window_error: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per val/test target: date, split, truth, prediction (NaN before any), naive.

    Classification adds "p_<class>" (each class's probability; truth, prediction and naive are
    label indices); the autoencoder adds "window_error" (RMSE of the rebuilt window).
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
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


HISTORY_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")


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


def workspace_id(token: str | None) -> str | None:
    """What run.json stores for a workspace token: a hash, so the token itself is never on disk."""
    return hashlib.sha256(token.encode()).hexdigest()[:20] if token else None


def mark_started(run_dir: str | Path, run_id: str, workspace: str | None, spec: ExperimentSpec | None = None) -> None:
    """started.json (and spec.json): the run exists from the first moment, and can be told apart
    (and its settings recovered) when the process ends before it does."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if spec is not None:
        (run_dir / "spec.json").write_text(spec.to_json() + "\n")
    info = {"run_id": run_id, "workspace": workspace, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (run_dir / "started.json").write_text(json.dumps(info, indent=2) + "\n")


def save(run_dir: str | Path, spec: ExperimentSpec, windowed: Windowed, snap: Snapshot, model,
         weight_history: dict[int, list[np.ndarray]] | None = None, workspace: str | None = None) -> Path:
    """Write a finished, stopped or failed run into run_dir (created if needed)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(spec.to_json() + "\n")
    history_frame(snap.history).to_csv(run_dir / "history.csv", index=False)
    # pandas writes dates without a time when every time is midnight, with one otherwise
    frame = predictions_frame(windowed, snap.predictions, snap.probabilities, snap.window_error)
    frame.to_csv(run_dir / "predictions.csv", index=False)
    metrics_path = run_dir / "metrics.json"
    if snap.metrics is not None:
        metrics = dict(snap.metrics)
        if snap.by_step is not None:
            metrics["test_by_step"] = snap.by_step.to_dict(orient="records")
        metrics_path.write_text(json.dumps(_json_safe(metrics), indent=2) + "\n")
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
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "workspace": workspace}
    (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")  # last: it marks the run complete
    return run_dir


def save_gates(run_dir: Path, model, windowed: Windowed) -> None:
    """gates.npz: the replayed gates of the first test window (nothing when there is none)."""
    from . import gates

    if not len(windowed.X["test"]):
        return
    try:
        traces = gates.replay(model, windowed.X["test"][:1])
    except (ValueError, TypeError):  # a model the replay does not understand (an imported one): no gates
        return
    np.savez(run_dir / "gates.npz", **gates.flat(traces))


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
        epochs=info["epochs"], history={k: history[k].tolist() for k in HISTORY_COLUMNS if k in history},
        metrics=json.loads(metrics_path.read_text()) if metrics_path.exists() else None,
        elapsed=info.get("elapsed_seconds", 0.0),
    )
    if snap.metrics:  # metrics.json writes NaN as null; the metric values are floats again here
        def floats(values: dict) -> dict:
            return {k: float("nan") if v is None else v for k, v in values.items()}

        for key in ("test", "val"):
            if isinstance(snap.metrics.get(key), dict):
                snap.metrics[key] = floats(snap.metrics[key])
        for key in ("baselines", "val_baselines"):
            snap.metrics[key] = {name: floats(v) for name, v in (snap.metrics.get(key) or {}).items()}
    if snap.metrics and "test_by_step" in snap.metrics:
        snap.by_step = pd.DataFrame(snap.metrics["test_by_step"])
    if (run_dir / "forecast.csv").is_file():
        snap.forecast = pd.read_csv(run_dir / "forecast.csv", parse_dates=["date"])
    frame = pd.read_csv(run_dir / "predictions.csv", parse_dates=["date"])
    return spec, snap, frame


def valid_id(run_id: str | None) -> bool:
    """Run ids are plain names (letters, digits, '-'), never paths."""
    return bool(run_id) and all(c.isalnum() or c == "-" for c in run_id)


def interrupted(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a run that started but never finished (no run.json), or None."""
    if not valid_id(run_id):
        return None
    path = Path(root or default_root()) / run_id
    return path if (path / "started.json").is_file() and not (path / "run.json").is_file() else None


def find(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a saved run, or None. Run ids are plain names, never paths."""
    if not valid_id(run_id):
        return None
    path = Path(root or default_root()) / run_id
    return path if (path / "run.json").is_file() else None


BUNDLE_FILES = ("spec.json", "model.keras", "history.csv", "predictions.csv", "metrics.json", "gates.npz",
                "run.json", "forecast.csv", "weights.npz")


def owner(run_dir: Path) -> str | None:
    """The workspace hash a run belongs to (from run.json, or started.json while it runs)."""
    for name in ("run.json", "started.json"):
        path = run_dir / name
        if path.is_file():
            try:
                return json.loads(path.read_text()).get("workspace")
            except (OSError, ValueError):
                return None
    return None


def list_runs(root: str | Path | None = None, workspace: str | None = None, everyone: bool = False) -> list[dict]:
    """The runs in the store, newest first: run_id, status, message, epoch, epochs, saved_at, cell,
    units, data, test RMSE and persistence RMSE (None when missing), path.

    Only runs of `workspace` are listed, unless `everyone` (the command line). A directory with
    started.json and no run.json is listed with status "interrupted".
    """
    root = Path(root or default_root())
    out = []
    for path in sorted(root.iterdir() if root.is_dir() else [], reverse=True):
        if not path.is_dir() or not ((path / "run.json").is_file() or (path / "started.json").is_file()):
            continue
        if not everyone and owner(path) != workspace:
            continue
        try:
            out.append(summary(path))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged directory is left out, not allowed to break the list
    return sorted(out, key=lambda r: (r["saved_at"] or "", r["run_id"]), reverse=True)


def summary(path: Path) -> dict:
    """One row of list_runs for a run directory (its id is the directory's name, as `find` reads it)."""
    done = (path / "run.json").is_file()
    info = json.loads((path / ("run.json" if done else "started.json")).read_text())
    spec = ExperimentSpec.from_json((path / "spec.json").read_text()) if (path / "spec.json").is_file() else None
    metrics = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").is_file() else {}
    from .training import JOBS

    job = JOBS.get(path.name)
    live = job is not None and job.running
    row = {"run_id": path.name, "status": "running" if live else info.get("status", "interrupted"),
           "message": "training now" if live else info.get("message", "the app stopped before this run ended"),
           "epoch": info.get("epoch"), "epochs": info.get("epochs", spec.train.epochs if spec else None),
           "saved_at": info.get("saved_at", info.get("started_at")),
           "cell": ("imported" if info.get("imported") == "model" else
                    ("Bi" if spec.model.bidirectional else "") + spec.model.cell) if spec else None, "units": "+".join(map(str, spec.model.units)) if spec else None,
           "data": (spec.data.ticker or spec.data.name or Path(spec.data.path or "").name) if spec else None,
           "target": spec.data.target if spec else None,
           "setup": (f"w{spec.window.length}" + (f" h{spec.window.horizon}" if spec.window.horizon != 1 else "")
                     + (f" {spec.data.transform}" if spec.data.transform != "raw" else "")) if spec else "",
           "rmse": metrics.get("test", {}).get("rmse"),
           "accuracy": metrics.get("test", {}).get("accuracy"),
           "naive_rmse": metrics.get("baselines", {}).get("naive", {}).get("rmse"),
           "path": str(path)}
    return row


def delete(run_id: str, root: str | Path | None = None, workspace: str | None = None) -> bool:
    """Remove a run of `workspace` from the store; False when it is not there or not theirs."""
    path = Path(root or default_root()) / run_id
    if not valid_id(run_id) or not path.is_dir():
        return False
    if owner(path) != workspace:
        return False
    from .training import JOBS

    job = JOBS.get(run_id)
    if job is not None and job.running:  # its final save would bring the directory back
        return False
    shutil.rmtree(path)
    return True


def bundle(run_dir: str | Path) -> bytes:
    """The run as a .zip: spec.json, model.keras, history.csv, predictions.csv, metrics.json,
    gates.npz (and run.json, forecast.csv when present), at the top level of the archive."""
    run_dir = Path(run_dir)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            if (run_dir / name).is_file():
                archive.write(run_dir / name, name)
    return buffer.getvalue()


class ImportRefused(ValueError):
    """An uploaded model or bundle that RNN Lab will not load; the message says why and what to do."""


def max_model_bytes() -> int:
    """The largest model or bundle accepted for import: $RNNLAB_MAX_MODEL_MB (default 50) megabytes."""
    return int(float(os.environ.get("RNNLAB_MAX_MODEL_MB", "50")) * 2 ** 20)


def check_size(size: int, what: str) -> None:
    """ImportRefused when an upload of `size` bytes is over the RNNLAB_MAX_MODEL_MB limit."""
    if size > max_model_bytes():
        raise ImportRefused(f"the {what} is {size / 2 ** 20:.1f} MB; the limit is {max_model_bytes() / 2 ** 20:.0f} MB "
                            "(set RNNLAB_MAX_MODEL_MB to change it)")


def load_model_safely(path: str | Path):
    """Load a .keras file with Keras's safe_mode=True, so no Python code inside it (Lambda layers,
    pickled functions) is run. Raises ImportRefused with a reason a person can act on."""
    import keras

    path = Path(path)
    check_size(path.stat().st_size, "model")
    if not zipfile.is_zipfile(path):
        raise ImportRefused("this is not a .keras file (a .keras file is a zip archive written by model.save); "
                            "legacy .h5 files are not accepted")
    with zipfile.ZipFile(path) as archive:
        if sum(i.file_size for i in archive.infolist()) > 4 * max_model_bytes():
            raise ImportRefused("the model unpacks to more than four times the size limit")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; all mean "not loadable"
        text = str(exc)
        if "safe_mode" in text or "lambda" in text.lower():
            raise ImportRefused("the model contains Python code (e.g. a Lambda layer), which RNN Lab does not run: "
                                "it is loaded only with Keras's safe_mode. Rebuild the model without Lambda "
                                "layers") from None
        raise ImportRefused(f"Keras could not load the model ({exc.__class__.__name__}: "
                            f"{(text.strip().splitlines() or [''])[0][:200]})") from None


def import_model(model_path: str | Path, spec: ExperimentSpec, windowed: Windowed, run_dir: str | Path,
                 run_id: str, workspace: str | None = None) -> Path:
    """Evaluate an uploaded .keras model on the spec's validation and test windows and save it as a run.

    Raises ImportRefused when it cannot be loaded safely or does not fit the windows."""
    from . import evaluate, forecast

    model = load_model_safely(model_path)
    expected = tuple(windowed.input_shape)
    got = tuple(model.input_shape[1:]) if getattr(model, "input_shape", None) else None
    if got is not None and tuple(d for d in got) != expected and None not in got:
        raise ImportRefused(f"the model reads windows shaped (time steps, features) = {got}, but the current setup "
                            f"makes {expected}; set the window length and inputs on the Data page to match")
    try:
        predictions, probabilities = {}, {}
        for split in ("val", "test"):
            out = forecast.predict(model, windowed.X[split], spec)
            predictions[split] = windowed.inverse_y(out, split)
            if windowed.classes:
                probabilities[split] = windowed.probabilities(out, split)
    except Exception as exc:  # noqa: BLE001
        raise ImportRefused(f"the model's output does not fit the current setup's targets ({exc.__class__.__name__}); "
                            "check the sequence shape and horizon on the Model page") from None
    snap = Snapshot(run_id=run_id, status="finished", message=f"imported model {Path(model_path).name}, "
                    "evaluated on the current data", epoch=0, epochs=0, predictions=predictions)
    if windowed.classes:
        snap.probabilities = probabilities
        snap.metrics = evaluate.ClassEvaluator(windowed).report(predictions, probabilities)
    else:
        snap.metrics = evaluate.Evaluator(windowed, spec.evaluate.season, spec.evaluate.moving_average
                                          ).report(predictions)
    path = save(run_dir, spec, windowed, snap, model, None, workspace)
    info = json.loads((path / "run.json").read_text())
    info["imported"] = "model"
    (path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    return path


def import_bundle(data: bytes, root: str | Path, workspace: str | None, new_id: str) -> str:
    """Unpack a run bundle (.zip from `bundle`) into the store as a run of `workspace`; returns its id.

    Only the known file names are read; the model inside must load with safe_mode. Raises
    ImportRefused otherwise."""
    check_size(len(data), "bundle")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRefused("this is not a .zip run bundle") from None
    names = {Path(n).name: n for n in archive.namelist() if Path(n).name in BUNDLE_FILES}
    missing = [n for n in ("spec.json", "predictions.csv", "history.csv") if n not in names]
    if missing:
        raise ImportRefused(f"the bundle has no {', '.join(missing)}; export a run from RNN Lab's Runs page or "
                            "with `python -m core runs export`")
    if sum(archive.getinfo(n).file_size for n in names.values()) > 4 * max_model_bytes():
        raise ImportRefused("the bundle unpacks to more than the size limit allows")
    root = Path(root)
    run_dir = root / new_id
    run_dir.mkdir(parents=True, exist_ok=False)
    try:
        for name, member in names.items():
            (run_dir / name).write_bytes(archive.read(member))
        ExperimentSpec.from_json((run_dir / "spec.json").read_text())
        if (run_dir / "model.keras").is_file():
            load_model_safely(run_dir / "model.keras")
        info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
        metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
        if not isinstance(info, dict) or not isinstance(metrics, dict):
            raise ImportRefused("the bundle's run.json or metrics.json is not a JSON object")
        history = pd.read_csv(run_dir / "history.csv")
        status = info.get("status") if info.get("status") in ("finished", "stopped", "failed") else "finished"
        info.update({"run_id": new_id, "workspace": workspace, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "status": status, "imported": "bundle",
                     "message": f"imported from a bundle ({info.get('message', 'no message')})",
                     "epoch": info.get("epoch", len(history)), "epochs": info.get("epochs", len(history)),
                     "elapsed_seconds": info.get("elapsed_seconds", 0.0)})
        (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    except ImportRefused:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except Exception as exc:  # noqa: BLE001 - a bad CRC, zlib, encryption, odd JSON: all mean "damaged"
        shutil.rmtree(run_dir, ignore_errors=True)
        raise ImportRefused(f"the bundle is damaged ({exc.__class__.__name__}: {str(exc)[:200]})") from None
    return new_id
