"""Reading a run directory back, finished or live: the spec, the snapshot, the predictions and the
files a page may download. A damaged file reads as missing, with a note, never as a crash."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .. import livefiles, runfiles
from ..snapshot import ACTIVE, FAILED, INTERRUPTED, Snapshot
from ..spec import ExperimentSpec
from .files import HISTORY_COLUMNS, PREDICTION_COLUMNS, _read_json, has_ended



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


def read_run(run_dir: str | Path) -> tuple[ExperimentSpec, Snapshot, pd.DataFrame]:
    """Read a run directory back, finished or live: (spec, snapshot, predictions frame).

    A finished run's state comes from run.json; a live one's from live.json (core/livefiles.py),
    which the worker keeps current. A run whose worker has gone without a word (killed while no
    server watched it) reads as "interrupted". The files a run has not written yet (no
    predictions before the first refresh) read as empty.
    """
    run_dir = Path(run_dir)
    spec = ExperimentSpec.from_json((run_dir / "spec.json").read_text())
    final = has_ended(run_dir)
    if final:
        info, damaged = runfiles.run_info(_read_json(run_dir / "run.json"))
    else:
        live = livefiles.read_live(run_dir)
        if live is None:
            raise FileNotFoundError(f"{run_dir} has neither run.json nor live.json")
        info, damaged = runfiles.run_info(live, "live.json")
        if info.get("status") in ACTIVE and not livefiles.is_live(run_dir):
            info = {**info, "status": INTERRUPTED, "message": "the worker stopped before this run ended"}
    history, wrong = runfiles.history(_read_csv(run_dir / "history.csv"))
    metrics, more = _metrics(run_dir)
    damaged += wrong + more
    message = _noting(info.get("message", ""), damaged)
    snap = Snapshot(
        run_id=info.get("run_id", run_dir.name), status=info.get("status", FAILED), message=message,
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


def ended_because(run_dir: str | Path) -> str | None:
    """Why an ended run ended, when its ending says (run.json's "reason", e.g. snapshot.WORKER_DIED)."""
    info = _read_json(Path(run_dir) / "run.json")
    reason = info.get("reason") if isinstance(info, dict) else None
    return reason if isinstance(reason, str) else None


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
