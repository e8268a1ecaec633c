"""The run store on disk: one directory per run.

Layout of a run directory (a public interface; files are only ever added):

    spec.json         the full spec, defaults filled in
    history.csv       epoch, loss, val_loss (one row per completed epoch; losses in scaled units)
    predictions.csv   date, split, truth, prediction, naive (one row per val/test target, original units);
                      classification adds p_<class> per class (truth/prediction/naive are label
                      indices), the autoencoder adds window_error
    metrics.json      regression (evaluate.Evaluator.report): "test" and "val" {"mse", "rmse", "mae",
                      "mape", "smape", "mase", "direction"} in original units (percentages in
                      percent; null where undefined), "baselines" and "val_baselines" {"naive",
                      "seasonal_naive", "moving_average", "linear": {the same keys}} (the autoencoder
                      and horizon 0 keep fewer), "lag", "lag_clear", "naive_lag", "up_share",
                      "lag_correlations" {"-5" .. "5": r}, "bias", "error_spread", "season", "season_how", "naive_name";
                      and "test_by_step" [{"step", "rmse", "mae", "naive_rmse", "windows"}, ...]
                      when the mode forecasts. Classification (evaluate.ClassEvaluator.report):
                      "task", "classes", "naive_name", "test"/"val" {"accuracy", "log_loss"},
                      "baselines"/"val_baselines" {"naive", and "majority" unless naive already is
                      the majority class}, "confusion" (test, rows = true class)
    run.json          run_id, status, message, epoch, epochs, elapsed_seconds, saved_at (written
                      last: a directory with run.json is complete)
    model.keras       the trained Keras model (the last good weights)
    forecast.csv      date, forecast: values past the end of the data (when the mode can forecast)
    gates.npz         "<layer name>/<gate>" -> (time steps, units) float32: every gate and state of
                      every recurrent layer over the first test window, final weights (core/gates.py)
    weights.npz       "epoch_<n>/<i>" -> model.get_weights()[i] after epoch n (0: before training),
                      for the epochs the job kept (see TrainingJob.weight_history)
    started.json      run_id, workspace, started_at, written when the run is queued: a directory
                      with started.json, no run.json and no live worker was interrupted
    live.json         the run while it is queued or trains (core/livefiles.py): status, epoch,
                      batch of batches, pid, host, updated_at, queue position, ...
    stop              a request to stop: the worker stops after its current batch
    sweep.json, fold.json, race.json
                      what made the run, when something did: a sweep's trial, a backtest's fold, a
                      cell race's cell (see made_by)

A memory race (core/memory_race.py) is a run directory too, tagged by memory_race.json (its
settings) with results.csv instead of a model: started.json, live.json, stop and run.json as above.

While a run trains, history.csv, predictions.csv, metrics.json and weights.npz are kept current,
each replaced atomically, so `load` reads a live run exactly as a finished one.

run.json also holds "workspace": a hash of the workspace token of the browser session that made
the run (null for the command line). The app lists, opens and deletes only its own workspace's runs.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import archives, describe, livefiles, model_check, runfiles
from .archives import ImportRefused, check_size, max_model_bytes  # noqa: F401  (callers use runs.*)
from .spec import ExperimentSpec
from .livefiles import write_atomic, write_with
from .snapshot import Snapshot
from .windows import Windowed

PREDICTION_COLUMNS = ["date", "split", "truth", "prediction", "naive"]


def new_run_id() -> str:
    """A new run's id (and directory name): its start time and a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def default_root() -> Path:
    """Where the app keeps runs: $RNNLAB_RUNS_DIR, or ./runs."""
    return Path(os.environ.get("RNNLAB_RUNS_DIR", "runs"))


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
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if spec is not None:
            (run_dir / "spec.json").write_text(spec.to_json() + "\n")
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
        write_atomic(run_dir / "spec.json", spec.to_json() + "\n")
        info = {"run_id": snap.run_id, "status": "failed", "message": message, "epoch": snap.epoch,
                "epochs": snap.epochs, "elapsed_seconds": round(snap.elapsed, 3),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "workspace": workspace}
        write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")
    except OSError:
        discard(run_dir)


class RunNotSaved(OSError):
    """A run whose directory could not be written; what it had written is removed."""


RACE_FILE, RACE_RESULTS = "memory_race.json", "results.csv"  # a memory race's tag and results
RUN_FILES = ("started.json", "run.json", "live.json", "stop", "spec.json", "model.keras", "history.csv",
             "predictions.csv", "metrics.json", "gates.npz", "forecast.csv", "weights.npz", RACE_FILE, RACE_RESULTS)


def discard(run_dir: str | Path) -> None:
    """Remove a run's files (only the names a run writes, never anything else a person keeps there),
    and the folder when that leaves it empty."""
    run_dir = Path(run_dir)
    for path in [*(run_dir / name for name in RUN_FILES), *run_dir.glob(".*.tmp*")]:  # and half-written files
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
    try:
        run_dir.rmdir()
    except OSError:
        pass  # not empty (a user's own files in --out) or already gone


def _save(run_dir: Path, spec: ExperimentSpec, windowed: Windowed, snap: Snapshot, model,
          weight_history: dict[int, list[np.ndarray]] | None, workspace: str | None) -> Path:
    """Every file replaced atomically (a page may be reading the live ones), run.json last."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "spec.json", spec.to_json() + "\n")
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


def mark_ended(run_dir: str | Path, run_id: str, status: str, message: str, workspace: str | None = None) -> None:
    """Write run.json for a run that ended without its worker's final save (bad data, a killed
    worker, a forced stop): the epochs in history.csv are what it finished. A directory that is
    gone (deleted meanwhile) is left gone."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / "run.json").is_file():
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
    try:
        write_atomic(run_dir / "run.json", json.dumps(info, indent=2) + "\n")
        livefiles.write_live(run_dir, status=status, message=message, batch=0, eta_seconds=None)
    except OSError:
        pass


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
    """Read a run directory back, finished or live: (spec, snapshot, predictions frame).

    A finished run's state comes from run.json; a live one's from live.json (core/livefiles.py),
    which the worker keeps current. A run whose worker has gone without a word (killed while no
    server watched it) reads as "interrupted". The files a run has not written yet (no
    predictions before the first refresh) read as empty.
    """
    run_dir = Path(run_dir)
    spec = ExperimentSpec.from_json((run_dir / "spec.json").read_text())
    final = (run_dir / "run.json").is_file()
    if final:
        info, damaged = runfiles.run_info(_read_json(run_dir / "run.json"))
    else:
        live = livefiles.read_live(run_dir)
        if live is None:
            raise FileNotFoundError(f"{run_dir} has neither run.json nor live.json")
        info, damaged = runfiles.run_info(live, "live.json")
        if info.get("status") in ("queued", "running") and not livefiles.is_live(run_dir):
            info = {**info, "status": "interrupted", "message": "the worker stopped before this run ended"}
    history, wrong = runfiles.history(_read_csv(run_dir / "history.csv"))
    metrics, more = _metrics(run_dir)
    damaged += wrong + more
    message = _noting(info.get("message", ""), damaged)
    snap = Snapshot(
        run_id=info.get("run_id", run_dir.name), status=info.get("status", "failed"), message=message,
        epoch=info.get("epoch", len(history)), epochs=info.get("epochs", spec.train.epochs),
        history={k: history[k].tolist() for k in HISTORY_COLUMNS if k in history} or {"loss": [], "val_loss": []},
        metrics=metrics,
        elapsed=info.get("elapsed_seconds") or 0.0,
        eta=None if final else info.get("eta_seconds"), batch=0 if final else info.get("batch", 0),
        batches=info.get("batches", 0), queue_position=info.get("queue_position", 0),
        queue_length=info.get("queue_length", 0), predictions_epoch=info.get("predictions_epoch", 0),
    )
    if snap.metrics:  # metrics.json writes NaN as null; the metric values are floats again here
        def floats(values: dict) -> dict:
            return {k: float("nan") if v is None else v for k, v in values.items()}

        for key in ("test", "val"):
            if isinstance(snap.metrics.get(key), dict):
                snap.metrics[key] = floats(snap.metrics[key])
        for key in ("baselines", "val_baselines"):
            snap.metrics[key] = {name: floats(v) for name, v in (snap.metrics.get(key) or {}).items()}
        if isinstance(snap.metrics.get("lag_correlations"), dict):
            snap.metrics["lag_correlations"] = floats(snap.metrics["lag_correlations"])
    if snap.metrics and "test_by_step" in snap.metrics:
        snap.by_step = pd.DataFrame(snap.metrics["test_by_step"])
    if final and (run_dir / "forecast.csv").is_file():
        snap.forecast = runfiles.forecast(_read_csv(run_dir / "forecast.csv"))[0]
    frame = read_predictions(run_dir)
    if frame is None:
        frame = pd.DataFrame(columns=PREDICTION_COLUMNS)
    if len(frame) and frame["prediction"].notna().any():
        snap.predictions = {split: frame.loc[frame["split"] == split, "prediction"].to_numpy()
                            for split in ("val", "test")}
        probs = [c for c in frame.columns if c.startswith("p_")]
        if probs:
            snap.probabilities = {split: frame.loc[frame["split"] == split, probs].to_numpy()
                                  for split in ("val", "test")}
        if "window_error" in frame:
            snap.window_error = {split: frame.loc[frame["split"] == split, "window_error"].to_numpy()
                                 for split in ("val", "test")}
        bands = [c for c in frame.columns if c.startswith(("lower_", "upper_"))]
        if bands:
            snap.intervals = {c: {split: frame.loc[frame["split"] == split, c].to_numpy() for split in ("val", "test")}
                              for c in bands}
    return spec, snap, frame


# -- what the pages read from a run directory (the UI opens run files only through these) ----------
DOWNLOADS = (("predictions.csv", "text/csv"), ("forecast.csv", "text/csv"), ("metrics.json", "application/json"),
             ("spec.json", "application/json"), ("model.keras", "application/octet-stream"))


def read_spec(run_dir: str | Path) -> ExperimentSpec:
    """The run's spec.json. Raises OSError or SpecError."""
    return ExperimentSpec.from_json((Path(run_dir) / "spec.json").read_text())


def read_history(run_dir: str | Path) -> dict[str, list[float]] | None:
    """history.csv as {"loss": [...], "val_loss": [...], ...}; None before the first epoch."""
    frame = _history(Path(run_dir))
    return {k: frame[k].tolist() for k in HISTORY_COLUMNS if k in frame} if len(frame.columns) else None


def read_predictions(run_dir: str | Path) -> pd.DataFrame | None:
    """predictions.csv (date, split, truth, prediction, ...); None before the worker writes it, or when
    it lacks a column every run's predictions have. Values of the wrong type read as NaN (core/runfiles.py)."""
    path = Path(run_dir) / "predictions.csv"
    return runfiles.predictions(_read_csv(path))[0] if path.is_file() else None


def imported_as(run_dir: str | Path) -> str | None:
    """"model" or "bundle" for an imported run (run.json's "imported"), else None."""
    return runfiles.run_info(_read_json(Path(run_dir) / "run.json"))[0].get("imported")


def file_version(run_dir: str | Path, name: str) -> int:
    """The file's modification time in ns (0 when it is missing): a cache key that changes when
    the worker replaces the file."""
    try:
        return (Path(run_dir) / name).stat().st_mtime_ns
    except OSError:
        return 0


# The files whose change means a run has something new to show (a page polls every second).
SHOWN_FILES = ("run.json", "live.json", "history.csv", "predictions.csv", "metrics.json", "forecast.csv")


def version(run_dir: str | Path) -> tuple[int, ...]:
    """The versions of the files a page draws from: changes whenever the worker writes one of them."""
    return tuple(file_version(run_dir, name) for name in SHOWN_FILES)


def has_state(run_dir: str | Path) -> bool:
    """Whether the run says where it stands (run.json when ended, live.json while queued or training).
    A directory with only started.json is a run of the days before workers, interrupted."""
    return (Path(run_dir) / "run.json").is_file() or (Path(run_dir) / "live.json").is_file()


def has_ended(run_dir: str | Path) -> bool:
    """Whether the run has ended one way or another (run.json, the last file a run writes, is there)."""
    return (Path(run_dir) / "run.json").is_file()


def mark_status(run_dir: str | Path, status: str, message: str) -> None:
    """Give an ended run another status and message (a sweep's trial stopped by its pruner is
    "pruned", not "stopped"); run.json is rewritten atomically."""
    path = Path(run_dir) / "run.json"
    info = json.loads(path.read_text())
    write_atomic(path, json.dumps({**info, "status": status, "message": message}, indent=2) + "\n")


def sweep_info(run_dir: str | Path) -> dict | None:
    """A sweep trial's tags (sweep.json: study, trial, params, metric, storage), or None."""
    try:
        info = json.loads((Path(run_dir) / "sweep.json").read_text())
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def has_model(run_dir: str | Path) -> bool:
    """Whether the run saved a model (model.keras): a run that failed before training has none."""
    return (Path(run_dir) / "model.keras").is_file()


def load_model(run_dir: str | Path):
    """The run's own model.keras, loaded for inference (Keras imported here, lazily)."""
    import keras

    return keras.saving.load_model(Path(run_dir) / "model.keras", compile=False)


def downloads(run_dir: str | Path) -> list[tuple[str, str]]:
    """(file name, MIME type) of the run's files a person may download, those that exist."""
    return [(name, mime) for name, mime in DOWNLOADS if (Path(run_dir) / name).is_file()]


def read_download(run_dir: str | Path, name: str) -> bytes:
    """The bytes of one of `downloads(run_dir)`; only those names are served."""
    if name not in dict(DOWNLOADS):
        raise ValueError(f"{name!r} is not a file of a run that can be downloaded")
    return (Path(run_dir) / name).read_bytes()


def _read_csv(path: Path) -> pd.DataFrame:
    """A run's CSV file as it is (core/runfiles.py checks its columns), or an empty frame when the
    run has not written it yet or it is not a CSV file at all."""
    try:
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()
    except (OSError, ValueError):  # ParserError, EmptyDataError, UnicodeDecodeError: damaged on disk
        return pd.DataFrame()


def _noting(message: str, damaged: list[str]) -> str:
    """The status message, and the first value that could not be read (it shows as missing)."""
    if not damaged:
        return message
    return f"{message} (a damaged file: {damaged[0]})" if message else f"a damaged file: {damaged[0]}"


def _read_json(path: Path):
    """A run's JSON file parsed, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _history(run_dir: Path) -> pd.DataFrame:
    """history.csv with its numbers checked: text where a loss should be reads as NaN."""
    return runfiles.history(_read_csv(run_dir / "history.csv"))[0]


def _metrics(run_dir: Path) -> tuple[dict | None, list[str]]:
    """metrics.json checked (core/runfiles.py), and its problems; (None, []) before it is written."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None, []
    raw = _read_json(path)
    return runfiles.metrics(raw) if raw is not None else (None, ["metrics.json is not JSON"])


def valid_id(run_id: str | None) -> bool:
    """Run ids are plain names (letters, digits, '-'), never paths."""
    return bool(run_id) and all(c.isalnum() or c == "-" for c in run_id)


def interrupted(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a run that started but never finished (no run.json), or None."""
    if not valid_id(run_id):
        return None
    path = Path(root or default_root()) / run_id
    if not (path / "started.json").is_file() or (path / "run.json").is_file():
        return None
    return None if livefiles.is_live(path) else path  # queued or training: live, not interrupted


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
            return runfiles.run_info(_read_json(path), name)[0].get("workspace")
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
    name = "run.json" if done else "started.json"
    info, damaged = runfiles.run_info(_read_json(path / name), name)  # a damaged run still lists, so it can be deleted
    try:
        spec = ExperimentSpec.from_json((path / "spec.json").read_text()) if (path / "spec.json").is_file() else None
    except (OSError, ValueError):
        spec = None
    metrics, wrong = _metrics(path)
    metrics = metrics or {}
    live_info = livefiles.read_live(path) if not done else None
    live = live_info is not None and livefiles.is_live(path)
    if live:
        info = {**info, **runfiles.run_info(live_info, "live.json")[0]}
    row = {"run_id": path.name,
           "status": info.get("status", "running") if live else info.get("status", "failed" if done else "interrupted"),
           "message": info.get("message", "training now") if live else info.get("message", "the app stopped before this run ended"),
           "epoch": info.get("epoch"), "epochs": info.get("epochs", spec.train.epochs if spec else None),
           "saved_at": info.get("saved_at", info.get("started_at")),
           "cell": describe.cell_text(spec, info.get("imported") == "model") if spec else None,
           "units": describe.units_text(spec) if spec else None,
           "data": describe.data_name(spec) if spec else None,
           "target": spec.data.target if spec else None,
           "setup": describe.setup_text(spec) if spec else "",
           "label": (describe.run_label(spec, path.name, info.get("imported") == "model") if spec else
                     f"(no spec) · {path.name}"),
           "rmse": metrics.get("test", {}).get("rmse"),
           "accuracy": metrics.get("test", {}).get("accuracy"),
           "naive_rmse": metrics.get("baselines", {}).get("naive", {}).get("rmse"),
           "owa": metrics.get("owa") if isinstance(metrics.get("owa"), (int, float)) else None,  # core/scores.py
           "path": str(path)}
    row["message"] = _noting(row["message"], damaged + wrong)
    sweep = sweep_info(path)
    row["study"], row["trial"] = (sweep.get("study"), sweep.get("trial")) if sweep else (None, None)
    if (path / RACE_FILE).is_file():  # a memory race has no spec: Inspect shows it, History leaves it out
        row["kind"], row["group"], row["part"] = "memory_race", None, None
        row["label"] = f"Memory race · {path.name}"
    else:
        row["kind"], row["group"], row["part"] = made_by(path, info, sweep)
    row["targets"] = targets_key(spec) if spec else None
    return row


CELL_RACE_FILE = "race.json"  # in a cell-race run's directory: {"race", "cell"} (core/cell_race.py)
KINDS = ("single", "race", "sweep", "backtest", "imported")


def _tag(path: Path, name: str) -> dict:
    try:
        info = json.loads((path / name).read_text())
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def made_by(path: Path, info: dict | None = None, sweep: dict | None = None) -> tuple[str, str | None, int | None]:
    """(kind, group, part) of a run: what made it, from the tags its maker wrote into its directory.

    kind is one of KINDS; group names the sweep or backtest it belongs to ("sweep <study>",
    "backtest <id>"), None for a run that stands alone (a single run, a race's, an import); part is
    its trial or fold number in that group."""
    if (info or {}).get("imported"):
        return "imported", None, None
    if sweep and sweep.get("study"):
        study = str(sweep["study"])
        return "sweep", study if study.startswith("sweep") else f"sweep {study}", sweep.get("trial")
    fold = _tag(path, "fold.json")  # core/backtest.py's FOLD_FILE (it imports this module)
    if fold.get("backtest"):
        return "backtest", f"backtest {fold['backtest']}", fold.get("fold")  # the id the Backtest section shows
    if _tag(path, CELL_RACE_FILE):
        return "race", None, None
    return "single", None, None


def targets_key(spec: ExperimentSpec) -> str:
    """Runs with the same key predict the same test targets (the same data, target column, window and
    split), so their predictions can be overlaid; features, scaling and the model may differ."""
    d = spec.data
    same = {"data": [d.source, d.name, d.ticker, d.path, d.start, d.end, d.interval, d.period, d.params, d.target,
                     d.missing],
            "window": spec.to_dict()["window"], "split": spec.to_dict()["split"]}
    return hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()[:16]


def delete(run_id: str, root: str | Path | None = None, workspace: str | None = None) -> bool:
    """Remove a run of `workspace` from the store; False when it is not there or not theirs."""
    path = Path(root or default_root()) / run_id
    if not valid_id(run_id) or not path.is_dir():
        return False
    if owner(path) != workspace:
        return False
    if livefiles.is_live(path):  # its final save would bring the directory back
        return False
    shutil.rmtree(path, onerror=_gone_already)
    return True


def _gone_already(function, name, exc_info) -> None:
    """rmtree's error handler: a file removed meanwhile (a just-ended worker removes its `stop` file
    as the run is deleted; seen on a clean clone's suite) is what deleting wanted anyway."""
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


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


def load_model_safely(path: str | Path, input_shape: tuple | None = None):
    """Load a .keras file with Keras's safe_mode=True, so no Python code inside it (Lambda layers,
    pickled functions) is run, after core/model_check.py has sized it from its config and weights
    file. Raises ImportRefused with a reason a person can act on, MemoryError when an allocation
    failed (the import process's memory cap).

    Untrusted files are loaded in a short-lived process with a memory and time limit, never in the
    web server (core/model_import.py)."""
    return _checked_load(path, input_shape)[0]


def _checked_load(path: str | Path, input_shape: tuple | None = None):
    """(model, its model_check.Cost): the checks, then Keras's safe loading."""
    import keras

    path = Path(path)
    check_size(path.stat().st_size, "model")
    if not zipfile.is_zipfile(path):
        raise ImportRefused("this is not a .keras file (a .keras file is a zip archive written by model.save); "
                            "legacy .h5 files are not accepted")
    cost = model_check.check_keras_file(path, input_shape)  # real sizes, parameters and outputs, before Keras builds
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True), cost
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; all mean "not loadable"
        if model_check.out_of_memory(exc):
            raise MemoryError from None
        text = str(exc)
        if "vocabulary file" in text.lower():  # StringLookup/TextVectorization naming a file outside the archive
            raise ImportRefused("the model reads a vocabulary file from outside its own archive (a lookup or "
                                "text-vectorization layer given a file path), which could read any file of this "
                                "server; RNN Lab refuses it. Save the model with its vocabulary inside the .keras "
                                "file (Keras does so when the layer is built from a list or a file)") from None
        if "safe_mode" in text or "lambda" in text.lower():
            raise ImportRefused("the model contains Python code (e.g. a Lambda layer), which RNN Lab does not run: "
                                "it is loaded only with Keras's safe_mode. Rebuild the model without Lambda "
                                "layers") from None
        raise ImportRefused(f"Keras could not load the model ({exc.__class__.__name__}: "
                            f"{(text.strip().splitlines() or [''])[0][:200]})") from None


NOT_RECURRENT = ("the model has no recurrent layer (SimpleRNN, LSTM or GRU, or Bidirectional of one); RNN Lab imports "
                 "recurrent networks, whose gates it shows on Inspect")


def import_model(model_path: str | Path, spec: ExperimentSpec, windowed: Windowed, run_dir: str | Path,
                 run_id: str, workspace: str | None = None) -> Path:
    """Evaluate an uploaded .keras model on the spec's validation and test windows and save it as a run.

    Runs in the import process (core/model_import.py), which has a memory and time limit. Raises
    ImportRefused when it cannot be loaded safely, has no recurrent layer or does not fit the windows;
    MemoryError when it needs more memory than the process may have."""
    from . import evaluate, forecast

    model, cost = _checked_load(model_path, tuple(windowed.input_shape))
    if not cost.recurrent:
        raise ImportRefused(NOT_RECURRENT)
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
        if model_check.out_of_memory(exc):
            raise MemoryError from None
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


def import_bundle(data: bytes, root: str | Path, workspace: str | None, new_id: str,
                  csv_root: str | Path | None = None, weight_shapes=None) -> str:
    """Unpack a run bundle (.zip from `bundle`) into the store as a run of `workspace`; returns its id.

    Only the known file names are read, each inflated within bounds whatever the zip header says
    (core/archives.py); the model inside must pass the same checks as an uploaded model and load
    with safe_mode (`weight_shapes`: a function reading its weights' shapes, the app's loads it in a
    process with a memory limit, core/model_import.py); weights.npz must hold arrays shaped like the
    model's weights. With `csv_root` (the app's upload folder), a spec that reads a CSV must name a
    file inside it. Raises ImportRefused saying why, and leaves nothing behind.
    """
    check_size(len(data), "bundle")
    archive = archives.Bounded(data, "the bundle")
    names = {Path(n).name: n for n in archive.names() if Path(n).name in BUNDLE_FILES}
    missing = [n for n in ("spec.json", "predictions.csv", "history.csv") if n not in names]
    if missing:
        raise ImportRefused(f"the bundle has no {', '.join(missing)}; export a run from RNN Lab's Runs page or "
                            "with `python -m core runs export`")
    contents = {name: archive.read(member) for name, member in names.items()}  # bounded, before anything is written
    spec = _bundle_spec(contents["spec.json"], csv_root)
    _check_bundle_files(contents)
    for name in ("weights.npz", "gates.npz"):
        if name in contents:
            archives.check_npz(contents[name], f"the bundle's {name}")
    root = Path(root)
    run_dir = root / new_id
    run_dir.mkdir(parents=True, exist_ok=False)
    try:
        for name, content in contents.items():
            (run_dir / name).write_bytes(content)
        if (run_dir / "model.keras").is_file():
            shapes = (weight_shapes or _weight_shapes)(run_dir / "model.keras")  # the app: in an import process
            _check_weight_history(run_dir, shapes)
        info = archives.loads_json(contents["run.json"], "the bundle's run.json") if "run.json" in contents else {}
        metrics = (archives.loads_json(contents["metrics.json"], "the bundle's metrics.json")
                   if "metrics.json" in contents else {})
        if not isinstance(info, dict) or not isinstance(metrics, dict):
            raise ImportRefused("the bundle's run.json or metrics.json is not a JSON object")
        history = pd.read_csv(run_dir / "history.csv")
        status = info.get("status") if info.get("status") in ("finished", "stopped", "failed") else "finished"
        info.update({"run_id": new_id, "workspace": workspace, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "status": status, "imported": "bundle",
                     "message": f"imported from a bundle ({str(info.get('message', 'no message'))[:300]})",
                     "epoch": info.get("epoch", len(history)), "epochs": info.get("epochs", len(history)),
                     "elapsed_seconds": info.get("elapsed_seconds", 0.0)})
        (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")
        load(run_dir)  # it must read back as any run does: a damaged predictions.csv or metrics.json is refused
    except ImportRefused:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except Exception as exc:  # noqa: BLE001 - a bad CRC, zlib, encryption, odd JSON: all mean "damaged"
        shutil.rmtree(run_dir, ignore_errors=True)
        raise ImportRefused(f"the bundle is damaged ({exc.__class__.__name__}: {str(exc)[:200]})") from None
    finally:
        archive.close()
    return new_id


def _check_bundle_files(contents: dict[str, bytes]) -> None:
    """Every file of a bundle against its schema (core/runfiles.py), before anything is written: a
    value of the wrong type (a string RMSE, text in history.csv) would otherwise reach the pages of
    whoever imports it. Raises ImportRefused naming the file and the field."""
    problems: list[str] = []
    for name, check in (("run.json", runfiles.run_info), ("metrics.json", runfiles.metrics)):
        if name in contents:
            problems += check(archives.loads_json(contents[name], f"the bundle's {name}"))[1]
    for name, check in (("history.csv", runfiles.history), ("predictions.csv", runfiles.predictions),
                        ("forecast.csv", runfiles.forecast)):
        if name in contents:
            try:
                frame = pd.read_csv(io.BytesIO(contents[name]))
            except (ValueError, OSError) as exc:  # ParserError, EmptyDataError, UnicodeDecodeError
                raise ImportRefused(f"the bundle's {name} is not a CSV table ({exc.__class__.__name__}); export "
                                    "the run again from RNN Lab") from None
            problems += check(frame)[1]
    if problems:
        raise ImportRefused(f"the bundle's {problems[0]}; export the run again from RNN Lab")


def _bundle_spec(raw: bytes, csv_root: str | Path | None) -> ExperimentSpec:
    """The bundle's spec.json, valid, and reading no file outside `csv_root` (when given)."""
    from .data import DataError, check_csv_path
    from .spec import SpecError

    try:
        spec = ExperimentSpec.from_json(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused("the bundle's spec.json is not UTF-8 text") from None
    except SpecError as exc:
        raise ImportRefused(f"the bundle's spec.json cannot be used: {exc}") from None
    if csv_root is not None and spec.data.source == "csv":
        try:
            check_csv_path(spec.data.path, csv_root)
        except DataError as exc:
            raise ImportRefused(f"the bundle's run was trained on {spec.data.path!r}, which is not a file uploaded "
                                f"to this app ({exc}). Upload that CSV on the Data page first, or export the run "
                                "again from the app it was made in") from None
    return spec


def _weight_shapes(path: Path) -> list[tuple]:
    """The shapes of a .keras file's model.get_weights(), loaded in this process (the command line, tests)."""
    return [tuple(w.shape) for w in load_model_safely(path).get_weights()]


def _check_weight_history(run_dir: Path, shapes: list[tuple]) -> None:
    """weights.npz must hold, for every epoch it keeps, arrays shaped like the model's weights:
    the Inspect page replays the gates with them."""
    try:
        history = weight_history(run_dir)
    except (ValueError, KeyError, OSError):
        raise ImportRefused("the bundle's weights.npz is not a set of weights RNN Lab wrote") from None
    for epoch, weights in history.items():
        if [tuple(w.shape) for w in weights] != [tuple(s) for s in shapes]:
            raise ImportRefused(f"the bundle's weights.npz (epoch {epoch}) does not match model.keras's layers; "
                                "export the run again from RNN Lab")
