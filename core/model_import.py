"""Untrusted models are loaded in a short-lived process with a memory and a time limit, never in the server.

    python -m core import-model     one request (a JSON line) on stdin; the outcome in its result file

A .keras upload or a bundle's model.keras is sized from its config first, in the server, in plain
Python (core/model_check.py: cheap, and most hostile files stop there). What is left (parsing the
HDF5 weights file, Keras building the layers, predicting the windows, writing the run directory)
happens in a child process that limits its own address space (RLIMIT_AS) and CPU time before it
imports TensorFlow; the server waits for it with a wall-clock timeout. Whatever the model costs,
the child ends (a MemoryError, a crash, a kill) and the server's memory is untouched: a model that
needs more is refused with the limit's name.

Measured (2 CPU cores, TF 2.21): the child takes 4-6 s for a tiny model, most of it importing
TensorFlow, and its address space is about 2.5 GB before the model (TensorFlow maps large regions
it never touches), so the cap counts address space, not resident memory.

Environment:
    RNNLAB_IMPORT_MEMORY_MB  the import process's address space, in MB (default 4096)
    RNNLAB_IMPORT_SECONDS    its wall-clock time, in seconds (default 300; CPU time twice that)
    RNNLAB_WORKER=thread     the tests' fast path: the import runs in this process, without limits
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import model_check, runs
from .archives import ImportRefused
from .spec import ExperimentSpec

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MEMORY_MB = 4096
DEFAULT_SECONDS = 300


def memory_mb() -> int:
    """$RNNLAB_IMPORT_MEMORY_MB: the address space an import process may use (default 4096 MB)."""
    try:
        return max(64, int(float(os.environ.get("RNNLAB_IMPORT_MEMORY_MB", DEFAULT_MEMORY_MB))))
    except ValueError:
        return DEFAULT_MEMORY_MB


def time_limit() -> float:
    """$RNNLAB_IMPORT_SECONDS: how long an import process may run (default 300 s)."""
    try:
        return max(1.0, float(os.environ.get("RNNLAB_IMPORT_SECONDS", DEFAULT_SECONDS)))
    except ValueError:
        return float(DEFAULT_SECONDS)


def memory_message(mb: int | None = None) -> str:
    return (f"the model needs more than {mb or memory_mb():,} MB of memory to load and evaluate, the limit for one "
            "import (set RNNLAB_IMPORT_MEMORY_MB to change it)")


# -- the server's side ----------------------------------------------------------------------------------
def evaluate(model_path: str | Path, spec: ExperimentSpec, run_dir: str | Path, run_id: str,
             workspace: str | None = None, csv_root: str | Path | None = None) -> Path:
    """Evaluate an uploaded .keras model on the spec's windows, as run `run_id` in `run_dir`, in an import
    process. Raises ImportRefused saying why (nothing is left in run_dir then)."""
    model_check.check_keras_file(model_path, (spec.window.length, None), weights=False)  # cheap, before a process
    _run({"action": "evaluate", "model": str(Path(model_path).resolve()), "spec": spec.to_dict(),
          "run_dir": str(Path(run_dir).resolve()), "run_id": run_id, "workspace": workspace,
          "csv_root": str(csv_root) if csv_root is not None else None}, cleanup=Path(run_dir))
    return Path(run_dir)


def weight_shapes(model_path: str | Path) -> list[tuple]:
    """The shapes of model.get_weights() of a .keras file, read in an import process (for a bundle's
    weights.npz to be checked against). Raises ImportRefused."""
    model_check.check_keras_file(model_path, weights=False)
    result = _run({"action": "shapes", "model": str(Path(model_path).resolve())})
    return [tuple(shape) for shape in result["shapes"]]


def _run(request: dict, cleanup: Path | None = None) -> dict:
    """Carry out a request in an import process (in this one with RNNLAB_WORKER=thread); its result."""
    if os.environ.get("RNNLAB_WORKER", "process") == "thread":
        result = carry_out(request)
    else:
        result = _in_child(request)
    if "error" in result:
        if cleanup is not None:
            runs.discard(cleanup)
        raise ImportRefused(result["error"])
    return result


def _in_child(request: dict) -> dict:
    """Start `python -m core import-model`, hand it the request, wait within the time limit."""
    mb, seconds = memory_mb(), time_limit()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
           "MALLOC_ARENA_MAX": "2",  # each arena reserves 64 MB of address space, which the cap counts
           "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"}
    with tempfile.TemporaryDirectory(prefix="rnnlab-import-") as tmp:
        result_path = Path(tmp) / "result.json"
        line = json.dumps({**request, "result": str(result_path), "memory_mb": mb, "seconds": seconds}) + "\n"
        try:
            done = subprocess.run([sys.executable, "-m", "core", "import-model"], input=line.encode(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=os.getcwd(),
                                  timeout=seconds)
        except subprocess.TimeoutExpired:  # subprocess.run has killed it
            return {"error": f"loading and evaluating the model took longer than {seconds:,.0f} s, the limit for one "
                             "import (set RNNLAB_IMPORT_SECONDS to change it)"}
        try:
            return json.loads(result_path.read_text())
        except (OSError, ValueError):
            pass
    how = (f"signal {signal.Signals(-done.returncode).name}" if done.returncode < 0 and
           -done.returncode in signal.valid_signals() else f"exit code {done.returncode}")
    if done.returncode in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS) or b"emory" in done.stderr:
        return {"error": f"{memory_message(mb)}; the loading process ended ({how})"}
    if done.returncode == -signal.SIGXCPU:
        return {"error": f"loading and evaluating the model took more than {2 * seconds:,.0f} CPU-seconds, the limit "
                         "for one import (set RNNLAB_IMPORT_SECONDS to change it)"}
    return {"error": f"the model could not be loaded: the loading process ended ({how}) without a result"}


# -- the import process's side --------------------------------------------------------------------------
def serve(stream=None) -> int:
    """The import process's main: read the request, limit this process, carry it out, write the result."""
    line = (stream or sys.stdin).readline()
    try:
        request = json.loads(line)
    except ValueError:
        print("error: the import request is not JSON", file=sys.stderr)
        return 2
    limit(int(request.get("memory_mb") or memory_mb()), float(request.get("seconds") or time_limit()))
    result = carry_out(request)
    tmp = Path(request["result"]).with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(request["result"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # TensorFlow's tear-down adds a second and nothing else


def limit(mb: int, seconds: float) -> None:
    """Cap this process's address space at `mb` MB and its CPU time at twice `seconds` (a second net under
    the server's wall-clock timeout, for when the server is gone)."""
    import resource

    size = mb * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    cpu = int(2 * seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def carry_out(request: dict) -> dict:
    """{"ok": true, ...} or {"error": message}: the request, with every failure turned into a message."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if request["action"] == "shapes":
            model = runs.load_model_safely(request["model"])
            return {"ok": True, "shapes": [list(w.shape) for w in model.get_weights()]}
        return _evaluate(request)
    except ImportRefused as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the process ends with a message, whatever happened
        if model_check.out_of_memory(exc):
            return {"error": memory_message(request.get("memory_mb"))}
        return {"error": f"the model could not be evaluated ({exc.__class__.__name__}: {str(exc)[:200]})"}


def _evaluate(request: dict) -> dict:
    from . import worker
    from .data import DataError
    from .spec import SpecError

    spec = ExperimentSpec.from_dict(request["spec"])
    try:
        _, windowed = worker.prepare(spec, request.get("csv_root"))
    except (SpecError, DataError) as exc:
        return {"error": f"the current setup's data cannot be prepared: {exc}"}
    runs.import_model(request["model"], spec, windowed, request["run_dir"], request["run_id"], request.get("workspace"))
    return {"ok": True}
