"""The upload store: the CSV files visitors upload, kept on disk so workers and later runs can read them.

Layout: `<root>/<workspace id>/<digest>-<file name>` (root is data.uploads_dir()). Files stored
before workspaces had folders lie in `<root>` itself; they count towards the total and age out.

On a shared deployment no visitor may fill the disk, so the store is bounded three ways
(environment variables, read at each call):
    RNNLAB_UPLOAD_QUOTA_MB  one workspace's uploads together, in MB (default 200: four files at
                            the 50 MB RNNLAB_MAX_CSV_MB cap)
    RNNLAB_UPLOAD_TOTAL_MB  all workspaces' uploads together, in MB (default 2000)
    RNNLAB_UPLOAD_DAYS      days after its upload (or its last upload again) a file is deleted
                            (default 30)
and, before anything reaches this store, what one browser session may hold in the server's memory:
    RNNLAB_UPLOAD_SESSION_MB  the files Streamlit keeps for one session together, in MB (default
                            100: the CSV and the import uploader's files at 50 MB each); older
                            files of the session are dropped to make room (ui/patches.py)
A new workspace costs nothing to make, so the per-workspace quota only keeps one visitor's
ordinary use in bounds; the total is what bounds the disk. When it is full new uploads are
refused rather than older ones deleted: deleting would let one visitor erase everyone's data.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from . import csvfile
from .errors import DataError

DEFAULT_QUOTA_MB = 200
DEFAULT_TOTAL_MB = 2000
DEFAULT_DAYS = 30
DEFAULT_SESSION_MB = 100
SHARED = "shared"  # the folder of uploads made without a workspace (the command line has none)


class QuotaFull(DataError):
    """An upload refused for space: `mine` is True when this workspace's own quota is what is full."""

    def __init__(self, message: str, mine: bool):
        super().__init__(message)
        self.mine = mine


def quota_bytes() -> int:
    """What one workspace's uploads may take together: $RNNLAB_UPLOAD_QUOTA_MB (default 200)."""
    return int(csvfile.env_number("RNNLAB_UPLOAD_QUOTA_MB", DEFAULT_QUOTA_MB) * 2 ** 20)


def total_bytes() -> int:
    """What all uploads may take together: $RNNLAB_UPLOAD_TOTAL_MB (default 2000)."""
    return int(csvfile.env_number("RNNLAB_UPLOAD_TOTAL_MB", DEFAULT_TOTAL_MB) * 2 ** 20)


def max_age_days() -> float:
    """Days an upload is kept after it was (last) uploaded: $RNNLAB_UPLOAD_DAYS (default 30)."""
    return csvfile.env_number("RNNLAB_UPLOAD_DAYS", DEFAULT_DAYS)


def session_bytes() -> int:
    """What one browser session's uploaded files may take in memory: $RNNLAB_UPLOAD_SESSION_MB (default 100)."""
    return int(csvfile.env_number("RNNLAB_UPLOAD_SESSION_MB", DEFAULT_SESSION_MB) * 2 ** 20)


def digest(raw: bytes) -> str:
    """The short content hash an upload is stored under: the same file is stored once per workspace."""
    return hashlib.sha256(raw).hexdigest()[:12]


UPLOAD_ID = re.compile(r"^[0-9a-f]{12}-[\w.-]{1,80}$")  # what store() names a file: <digest>-<safe name>


def upload_id(path: str | Path | None, root: str | Path) -> str | None:
    """The id a link names an upload by (its file name in the store, "<digest>-<name>"), never the
    server's path; None when `path` is not an upload under `root`."""
    if not path:
        return None
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(root).resolve()) or not UPLOAD_ID.match(resolved.name):
        return None
    return resolved.name


def find(root: str | Path, workspace: str | None, upload: str) -> Path | None:
    """The stored file of upload id `upload` in `workspace`'s folder (or among the files stored before
    workspaces had folders); None when the id is malformed, or this workspace does not have it
    (another visitor's upload, or one that aged out: RNNLAB_UPLOAD_DAYS)."""
    if not isinstance(upload, str) or not UPLOAD_ID.match(upload):
        return None
    for where in (folder(root, workspace), Path(root)):
        path = where / upload
        if path.is_file() and not path.is_symlink():
            return path
    return None


def shown_name(path_or_id: str | Path | None) -> str:
    """The name the visitor gave the file: "AAPL.csv" for ".../f04333894d96-AAPL.csv" (the digest stripped)."""
    name = Path(str(path_or_id or "")).name
    return name.split("-", 1)[1] if UPLOAD_ID.match(name) else name


def folder(root: str | Path, workspace: str | None) -> Path:
    """The folder of one workspace's uploads (`workspace` is the hashed id runs are stored under)."""
    name = workspace if workspace and re.fullmatch(r"[0-9a-f]{8,64}", workspace) else SHARED
    return Path(root) / name


def _files(where: Path) -> list[Path]:
    return [p for p in where.rglob("*") if p.is_file() and not p.is_symlink()] if where.is_dir() else []


def used_bytes(where: str | Path) -> int:
    """What the upload files under `where` take on disk together."""
    total = 0
    for path in _files(Path(where)):
        try:
            total += path.stat().st_size
        except OSError:  # deleted meanwhile
            pass
    return total


def prune(root: str | Path, now: float | None = None) -> int:
    """Delete uploads older than RNNLAB_UPLOAD_DAYS (and empty workspace folders); how many went."""
    root = Path(root)
    cutoff = (time.time() if now is None else now) - max_age_days() * 86400
    gone = 0
    for path in _files(root):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                gone += 1
        except OSError:
            pass
    for sub in root.iterdir() if root.is_dir() else ():
        if sub.is_dir() and not sub.is_symlink():
            try:
                sub.rmdir()  # only when empty
            except OSError:
                pass
    return gone


def delete_others(root: str | Path, workspace: str | None, keep: str | Path | None = None) -> int:
    """Delete this workspace's uploads except `keep` (the one in use); how many went."""
    keep = Path(keep).resolve() if keep else None
    gone = 0
    for path in _files(folder(root, workspace)):
        if path.resolve() != keep:
            try:
                path.unlink()
                gone += 1
            except OSError:
                pass
    return gone


def store(raw: bytes, name: str, root: str | Path, workspace: str | None) -> Path:
    """Save an upload for `workspace` and return its path; DataError (nothing saved) when it is over
    the file size cap or would take the workspace or the whole store over its quota.

    Old uploads are deleted first (RNNLAB_UPLOAD_DAYS), so a full store empties by itself. The same
    file uploaded again is not stored twice; its age starts again."""
    csvfile.check_size(len(raw), name)
    root = Path(root)
    prune(root)
    safe = re.sub(r"[^\w.-]", "_", name)[-80:]
    where = folder(root, workspace)
    path = where / f"{digest(raw)}-{safe}"
    if path.is_file():
        os.utime(path)
        return path
    days = f"{max_age_days():g}"
    mine, quota = used_bytes(where), quota_bytes()
    if mine + len(raw) > quota:
        raise QuotaFull(f"{name} ({_mb(len(raw))}) was not saved: this workspace's uploads already take {_mb(mine)} of "
                        f"its {_mb(quota)} (RNNLAB_UPLOAD_QUOTA_MB). Delete your earlier uploads below, or wait: an "
                        f"upload is deleted {days} days after it was uploaded", mine=True)
    everyone, total = used_bytes(root), total_bytes()
    if everyone + len(raw) > total:
        raise QuotaFull(f"{name} ({_mb(len(raw))}) was not saved: the server's space for uploads is full ({_mb(everyone)} "
                        f"of {_mb(total)}, all visitors together; RNNLAB_UPLOAD_TOTAL_MB). Uploads are deleted {days} "
                        "days after they were uploaded; try again later, or ask whoever runs this server to raise "
                        "the limit", mine=False)
    where.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(raw)
        part.replace(path)  # a worker never reads half a file
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"{name} could not be saved ({exc.strerror}); try again") from None
    return path


def _mb(size: int) -> str:
    return f"{size / 2 ** 20:.1f} MB" if size < 10 * 2 ** 20 else f"{size / 2 ** 20:,.0f} MB"
