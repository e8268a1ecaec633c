"""The store as a list: which runs there are, whose they are, what made each (a sweep, a backtest,
a race), and deleting one."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from .. import describe, livefiles, runfiles
from ..spec import ExperimentSpec
from ..snapshot import FAILED, INTERRUPTED, RUNNING
from .files import CELL_RACE_FILE, RACE_FILE, _read_json, default_root, has_ended, owner, valid_id
from .read import _metrics, _noting, sweep_info



def interrupted(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a run that started but never finished (no run.json), or None."""
    if not valid_id(run_id):
        return None
    path = Path(root or default_root()) / run_id
    if not (path / "started.json").is_file() or has_ended(path):
        return None
    return None if livefiles.is_live(path) else path  # queued or training: live, not interrupted


def find(run_id: str, root: str | Path | None = None) -> Path | None:
    """The directory of a saved run, or None. Run ids are plain names, never paths."""
    if not valid_id(run_id):
        return None
    path = Path(root or default_root()) / run_id
    return path if has_ended(path) else None


def list_runs(root: str | Path | None = None, workspace: str | None = None, everyone: bool = False) -> list[dict]:
    """The runs in the store, newest first: run_id, status, message, epoch, epochs, saved_at, cell,
    units, data, test RMSE and persistence RMSE (None when missing), path.

    Only runs of `workspace` are listed, unless `everyone` (the command line). A directory with
    started.json and no run.json is listed with status "interrupted".
    """
    root = Path(root or default_root())
    out = []
    for path in sorted(root.iterdir() if root.is_dir() else [], reverse=True):
        if not path.is_dir() or not (has_ended(path) or (path / "started.json").is_file()):
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
    done = has_ended(path)
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
           "status": info.get("status", RUNNING) if live else info.get("status", FAILED if done else INTERRUPTED),
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


KINDS = ("single", "race", "sweep", "backtest", "seeds", "imported")


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
    seed = _tag(path, "seed.json")  # core/seeds.py's SEED_FILE: one run of a repeat with several seeds
    if seed.get("group"):
        group = str(seed["group"])
        return "seeds", group if group.startswith("seeds") else f"seeds {group}", seed.get("seed")
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
