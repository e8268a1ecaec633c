"""What every command shares: the one-line error, reading a spec or space file safely, checking an output
path before anything trains, signals, the workers a command owns, a quiet TensorFlow."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from ..spec import ExperimentSpec, SpecError


def fail(message: str, code: int = 2) -> int:
    """Print one `error: ...` line on stderr (stdout keeps the progress and results) and return `code`."""
    sys.stdout.flush()  # progress first, then the error, when both go to one terminal
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def max_json_bytes() -> int:
    """The largest --config or --space file read ($RNNLAB_MAX_JSON_BYTES, default 1,000,000): a spec or
    a space is a few lines."""
    try:
        return max(1, int(os.environ.get("RNNLAB_MAX_JSON_BYTES") or 1_000_000))
    except ValueError:
        return 1_000_000


def read_json_text(path: Path, what: str) -> str:
    """The UTF-8 text of a JSON file given on the command line (a byte-order mark skipped: Notepad and
    PowerShell write one), read to at most max_json_bytes() + 1 bytes: the size a file reports is not
    trusted (/dev/zero reports 0 and never ends; a pipe reports nothing). Raises SpecError(`what`)."""
    cap = max_json_bytes()
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
    except OSError as exc:
        raise SpecError(what, f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > cap:
        raise SpecError(what, f"{path} is larger than {cap:,} bytes, the most a JSON file here may have "
                              "($RNNLAB_MAX_JSON_BYTES); is it the right file?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(what, f"{path} is not UTF-8 text; save it as UTF-8 JSON") from None


class DuplicateKey(ValueError):
    """A JSON object with the same key twice (json keeps the last one silently)."""


def _unique_keys(pairs: list) -> dict:
    """object_pairs_hook for json.loads: refuse a key given twice in one object."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def load_spec(path: Path | None, epochs: int | None = None) -> ExperimentSpec:
    """The spec in `path` (defaults without one), with --epochs applied. UTF-8 with or without a
    byte-order mark, as the app accepts; at most max_json_bytes()."""
    if path is None:
        spec = ExperimentSpec()
    else:
        text = read_json_text(path, "--config")
        spec = ExperimentSpec.from_json(text)
    return spec.replace(train={"epochs": epochs}) if epochs is not None else spec


def unwritable(path: Path, what: str) -> str | None:
    """Why a directory cannot be written at `path`, or None: checked before any training, so a bad
    --out does not cost every fold's training first (it did: `backtest --out /etc/hostname`)."""
    if path.exists() and not path.is_dir():
        return f"{what} {path} is a file; give a directory"
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{what} {path} cannot be made: {probe} is a file"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{what} {path} cannot be written: no permission to write in {probe}"
    return None


def run_store_problem() -> str | None:
    """Why the run store ($RNNLAB_RUNS_DIR) cannot take runs, or None."""
    from ..runs import default_root

    return unwritable(default_root(), "the run store ($RNNLAB_RUNS_DIR)")


class Signals:
    """SIGTERM and SIGINT while a command waits on its workers: the first one is kept (`received`),
    for the command to stop its runs as the app's Stop does; a second ends the process at once (the
    workers then stop by themselves: core/worker.py watch_parent). Installed only in the main thread."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> "Signals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, _frame) -> None:
        if self.received is not None:
            print(f"error: {signal.Signals(signum).name} again: ending now", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.received = signum

    def __exit__(self, *exc) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old)

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""


@contextlib.contextmanager
def owned_workers():
    """Workers started while this runs end when this process ends, even by SIGKILL (core/worker.py)."""
    from ..worker import PARENT_ENV

    previous = os.environ.get(PARENT_ENV)
    os.environ[PARENT_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PARENT_ENV, None)
        else:
            os.environ[PARENT_ENV] = previous


def quiet_tensorflow() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null: TF 2.21 writes "All log
    messages before absl::InitializeLog()" and a oneDNN line on stderr at import, whatever
    TF_CPP_MIN_LOG_LEVEL says (tensorflow/tensorflow#100442), and a successful command prints
    nothing on stderr. An import error still raises, with its traceback, after stderr is back."""
    if "tensorflow" in sys.modules:
        return
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)


def read_space(path: Path) -> dict:
    """The space file's JSON: at most max_json_bytes(), UTF-8, each key once per object (json keeps the
    last of two silently, so a space that names "model.cell" twice searched only the second).
    Raises SpecError("--space")."""
    raw = read_json_text(path, "--space")
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise SpecError("--space", f"{path} gives the key {exc.args[0]!r} twice in one object; JSON would keep "
                                   "only the last one silently, so give each key once") from None
    except RecursionError:
        raise SpecError("--space", f"{path} is not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise SpecError("--space", f"{path} is not valid JSON ({exc})") from None
