"""Zip archives that come from outside (run bundles, .keras models, .npz arrays), read within bounds.

A zip's directory declares each member's size, and a hostile file can lie: a 1.5 MB bundle whose
header says 1,000 bytes may inflate to 1.5 GB. So nothing here trusts a declared size: members
are inflated in 1 MB chunks and reading stops as soon as the real bytes pass the cap. A .keras
file and an .npz file are zips themselves; they get the same bounds when they are opened.

What a .keras model's config declares (its parameters, layer outputs, and the weights file
inside it) is checked in core/model_check.py.

Caps (environment variables, read at each call):
    RNNLAB_MAX_MODEL_MB      a model or bundle file, in MB (default 50); everything inside one
                             may unpack to at most 4x that
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

CHUNK = 2 ** 20
MAX_MEMBERS = 1000  # a bundle has 9 files, a .keras 3; a thousand is already odd
MAX_DEPTH = 64  # JSON nesting in config.json / spec.json / run.json; Keras writes about 8


class ImportRefused(ValueError):
    """An uploaded model or bundle that RNN Lab will not load; the message says why and what to do."""


def max_model_bytes() -> int:
    """The largest model or bundle accepted for import: $RNNLAB_MAX_MODEL_MB (default 50) megabytes."""
    try:
        return int(float(os.environ.get("RNNLAB_MAX_MODEL_MB", "50")) * 2 ** 20)
    except ValueError:
        return 50 * 2 ** 20


def max_unpacked_bytes() -> int:
    """What everything inside one upload may unpack to: four times the file limit."""
    return 4 * max_model_bytes()


def check_size(size: int, what: str) -> None:
    """ImportRefused when an upload of `size` bytes is over the RNNLAB_MAX_MODEL_MB limit."""
    if size > max_model_bytes():
        raise ImportRefused(f"the {what} is {size / 2 ** 20:.1f} MB; the limit is {max_model_bytes() / 2 ** 20:.0f} MB "
                            "(set RNNLAB_MAX_MODEL_MB to change it)")


class Bounded:
    """Reads members of one zip archive while counting the real (inflated) bytes against a budget.

    Args:
        source: the archive's bytes or path.
        what: how messages name the archive ("the bundle", "model.keras").
        budget: bytes all members read through this object may inflate to together.
    """

    def __init__(self, source: bytes | str | Path, what: str, budget: int | None = None):
        self.what = what
        self.budget = max_unpacked_bytes() if budget is None else budget
        self.used = 0
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        except (zipfile.BadZipFile, OSError, ValueError):
            raise ImportRefused(f"{what} is damaged or of another kind: a .keras model and a run bundle are zip "
                                f"archives, and this file is not one. Export it again from Keras or from RNN Lab's "
                                f"Runs page") from None
        if len(self.zip.infolist()) > MAX_MEMBERS:
            raise ImportRefused(f"{what} holds {len(self.zip.infolist())} files; a real one holds a handful")

    def names(self) -> list[str]:
        return self.zip.namelist()

    def read(self, name: str) -> bytes:
        """The member's bytes, inflated chunk by chunk; ImportRefused once the budget is passed."""
        out = io.BytesIO()
        self._stream(name, out.write)
        return out.getvalue()

    def measure(self, name: str) -> int:
        """Inflate the member without keeping it; its real size (counted against the budget)."""
        return self._stream(name, lambda chunk: None)

    def check_all(self) -> None:
        """Inflate every member once, so a lie anywhere in the archive is found before use."""
        for name in self.names():
            self.measure(name)

    def _stream(self, name: str, sink) -> int:
        size = 0
        try:
            with self.zip.open(name) as member:
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    self.used += len(chunk)
                    if self.used > self.budget:
                        raise ImportRefused(f"{self.what} unpacks to more than {self.budget / 2 ** 20:.0f} MB "
                                            "(four times RNNLAB_MAX_MODEL_MB); export it again from RNN Lab")
                    sink(chunk)
        except ImportRefused:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
                NotImplementedError) as exc:  # bad CRC, a lying header, encryption, an unknown compression
            raise ImportRefused(f"{self.what} is damaged ({exc.__class__.__name__}: {str(exc)[:120]})") from None
        return size

    def close(self) -> None:
        self.zip.close()


def loads_json(text: str | bytes, what: str):
    """json.loads that turns absurd nesting into ImportRefused instead of a RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ImportRefused(f"{what} is nested too deeply to be a real file") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"{what} is not valid JSON ({str(exc)[:120]})") from None
    if _depth(value) > MAX_DEPTH:
        raise ImportRefused(f"{what} is nested more than {MAX_DEPTH} levels deep; it is not a real file")
    return value


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_npz(data: bytes, what: str, budget: int | None = None) -> None:
    """An .npz (itself a zip) whose arrays really inflate to within the budget, none pickled."""
    archive = Bounded(data, what, budget)
    try:
        for name in archive.names():
            if not name.endswith(".npy"):
                raise ImportRefused(f"{what} holds {name!r}, which is not a NumPy array")
            archive.measure(name)
    finally:
        archive.close()
