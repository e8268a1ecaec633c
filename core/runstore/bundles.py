"""A run as a .zip bundle and back, and a .keras model imported as a run: everything that reads a
file a visitor brought. Each is checked (core/archives.py, core/model_check.py) before Keras sees it."""
from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd

from .. import archives, model_check, runfiles
from ..archives import ImportRefused, check_size, max_model_bytes  # noqa: F401  (runs.max_model_bytes)
from ..snapshot import ENDED, FINISHED, Snapshot
from ..spec import ExperimentSpec
from ..windows import Windowed
from .read import read_run, weight_history
from .write import save



BUNDLE_FILES = ("spec.json", "model.keras", "history.csv", "predictions.csv", "metrics.json", "gates.npz",
                "run.json", "forecast.csv", "weights.npz")


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
    from .. import evaluate, forecast

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
    snap = Snapshot(run_id=run_id, status=FINISHED, message=f"imported model {Path(model_path).name}, "
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
        status = info.get("status") if info.get("status") in ENDED else FINISHED
        info.update({"run_id": new_id, "workspace": workspace, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "status": status, "imported": "bundle",
                     "message": f"imported from a bundle ({str(info.get('message', 'no message'))[:300]})",
                     "epoch": info.get("epoch", len(history)), "epochs": info.get("epochs", len(history)),
                     "elapsed_seconds": info.get("elapsed_seconds", 0.0)})
        (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")
        read_run(run_dir)  # it must read back as any run does: a damaged predictions.csv or metrics.json is refused
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
    from ..data import DataError, check_csv_path
    from ..spec import SpecError

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
