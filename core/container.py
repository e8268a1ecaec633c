"""What the container allows, and how many training workers fit in it.

Inside a container `os.cpu_count()` reports the host's cores: on a host that shows 16 cores the
pool would start 16 TensorFlow workers (about 750 MB each) in a 2.7 GB container, and the kernel
would kill the app with every visitor's session in it. So the pool is sized by what this process
may really use:

    CPUs     the CPUs it may run on (its affinity, as `taskset` or a cpuset sets it)
    quota    the cgroup's CPU time: v2 `cpu.max` ("max 100000", "200000 100000"),
             v1 `cpu.cfs_quota_us` (-1 = none) over `cpu.cfs_period_us`
    memory   the cgroup's memory limit: v2 `memory.max` ("max" = none), v1
             `memory.limit_in_bytes` (a huge number = none), and the machine's own MemTotal

Runs at once = min(CPUs, whole CPUs of the quota, memory room / a worker), at least 1, where the
memory room is the limit less the server's own share. The warm spare (a worker waiting with
TensorFlow imported) is kept only when a full worker more fits beside the most that can run.

Everything is read under a root folder (default "/"), so the tests hand it a fake cgroup tree.
The cgroup of this process is found the usual way: its path in /proc/self/cgroup joined to the
controller's mount point under /sys/fs/cgroup (v1 per controller, v2 unified); where that folder
is absent (a container that sees its own cgroup at the mount point) the mount point itself. A
limit set on a parent cgroup applies too, so each folder up to the mount point is read and the
smallest limit wins.

Environment (read here and nowhere else):
    RNNLAB_MAX_WORKERS   runs that train at once; set, it wins over everything below
    RNNLAB_WARM_WORKERS  1 keeps a warm spare, 0 none; unset, a spare is kept when memory allows
    RNNLAB_WORKER_MB     memory one worker takes, in MB (default 750)
    RNNLAB_SERVER_MB     memory the server keeps for itself, in MB (default 450)
    RNNLAB_CONTAINER_ROOT  the folder proc/ and sys/fs/cgroup/ are read under (default "/"): a bench
                         points it at a fake cgroup tree to size the pool as a small container would
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MB = 1 << 20

# Measured (docs/deploy.md): a default 20-epoch run's worker peaks at 895-911 MB RSS, of which
# about 400 MB is its own (RssAnon) and about 500 MB the TensorFlow libraries (RssFile), which
# every worker maps from the same files and the container is charged for once; a warm worker
# waits at 741 MB RSS; the server holds 257-293 MB with a page open. So 450 + n x 750 MB is above
# the real total for any n (1171 MB measured for one run, about +400 MB per further run): the
# headroom covers bigger specs, more visitors' sessions and the page cache.
WORKER_MB = 750
SERVER_MB = 450

# cgroup v1 writes "no limit" as the largest page-aligned 64-bit number (9223372036854771712);
# anything from 2**60 bytes (an exabyte) up is no limit.
_NO_LIMIT = 1 << 60

_V2_MOUNTS = ("sys/fs/cgroup", "sys/fs/cgroup/unified")
_V1_MOUNTS = {"cpu": ("sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpuacct,cpu"),
              "memory": ("sys/fs/cgroup/memory",)}


@dataclass(frozen=True)
class Limits:
    """What this process may use.

    Args:
        cpus: CPUs it may run on (its affinity).
        quota: CPUs' worth of time its cgroup allows (1.5 = one and a half CPUs); None = no quota.
        memory: bytes it may use (the smallest of the cgroup limits and the machine's memory);
            None = none found.
    """

    cpus: int
    quota: float | None = None
    memory: int | None = None


@dataclass(frozen=True)
class Plan:
    """How the pool is sized: `max_workers` runs at once, a warm spare or not, and why."""

    max_workers: int
    warm: bool
    reason: str


def read_limits(root: str | Path = "/") -> Limits:
    """The CPUs, CPU quota and memory limit of this process, read under `root`."""
    root = Path(root)
    groups = _cgroup_paths(root)
    return Limits(cpus=_affinity(), quota=_cpu_quota(root, groups), memory=_memory_limit(root, groups))


def fit(limits: Limits, worker_mb: float = WORKER_MB, server_mb: float = SERVER_MB,
        max_workers: int | None = None, warm: bool | None = None) -> Plan:
    """How many workers fit in `limits`, and whether a warm spare does too.

    A quota of 1.5 CPUs gives 1 run at once, not 2: the quota's CPU time is shared either way, so
    two fits at once end no sooner in all, and each visitor waits longer for a first result. A
    memory room for fewer than one worker still gives 1 (the app must train something); the spare
    then stays off.

    Args:
        limits: what read_limits found.
        worker_mb, server_mb: memory of one worker and of the server, in MB.
        max_workers: set by the operator (RNNLAB_MAX_WORKERS, --workers): wins over the limits.
        warm: set by the operator (RNNLAB_WARM_WORKERS): wins over the memory rule.
    """
    caps = {f"{limits.cpus} CPU{'s' if limits.cpus != 1 else ''}": limits.cpus}
    if limits.quota is not None:
        caps[f"a CPU quota of {limits.quota:g}"] = max(1, math.floor(limits.quota + 1e-9))
    room = None
    if limits.memory is not None:
        room = limits.memory / MB - server_mb
        caps[f"{limits.memory / MB:.0f} MB of memory at {worker_mb:g} MB a worker"] = max(1, int(room // worker_mb))
    if max_workers is not None:
        n, why = max(1, int(max_workers)), "set by RNNLAB_MAX_WORKERS or --workers"
    else:
        why = min(caps, key=caps.get)
        n = caps[why]
    if warm is None:
        warm = room is None or room >= (n + 1) * worker_mb
    return Plan(n, warm, why)


def plan(max_workers: int | None = None, root: str | Path | None = None) -> Plan:
    """The pool's size as the environment and the container set it: `max_workers` (else
    $RNNLAB_MAX_WORKERS) wins; otherwise what fits in the limits read under `root` (default
    $RNNLAB_CONTAINER_ROOT, else "/")."""
    root = root or os.environ.get("RNNLAB_CONTAINER_ROOT") or "/"
    if max_workers is None:
        max_workers = _env_number("RNNLAB_MAX_WORKERS", None, smallest=1, kind=int)
    warm = os.environ.get("RNNLAB_WARM_WORKERS")
    return fit(read_limits(root), worker_mb=_env_number("RNNLAB_WORKER_MB", WORKER_MB, smallest=1),
               server_mb=_env_number("RNNLAB_SERVER_MB", SERVER_MB, smallest=0), max_workers=max_workers,
               warm=None if warm in (None, "") else warm != "0")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS")


def worker_threads(root: str | Path | None = None) -> dict[str, str]:
    """Thread counts for a worker's numerical libraries when a CPU quota is smaller than the CPUs the
    process sees: {} when there is no such quota (taskset and cpusets narrow what the libraries see
    themselves). Inside a container on a host that shows 16 CPUs, TensorFlow and OpenBLAS start 16
    threads each for a quota of 1; spinning threads on a busy CPU took an OpenBLAS least-squares of the
    per-step baselines from 7 ms to about 400 ms on this 2-core box under load (bench/scorecard.py).
    A variable the deployment set itself is kept."""
    limits = read_limits(root or os.environ.get("RNNLAB_CONTAINER_ROOT") or "/")
    if limits.quota is None or math.ceil(limits.quota) >= limits.cpus:
        return {}
    threads = str(max(1, math.ceil(limits.quota)))
    return {name: os.environ.get(name) or threads for name in THREAD_VARIABLES}


def _env_number(name: str, default, smallest: float, kind=float):
    """The number in $`name`, or `default` when it is unset. A value that is not a number of at least
    `smallest` is a deployment's typo: it is reported on stderr and the default is used, so no
    visitor's page fails over it."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < smallest:
        print(f"RNN Lab: {name}={text!r} is not a number of at least {smallest}; using "
              f"{'what the container fits' if default is None else default}", file=sys.stderr)
        return default
    return value


def _affinity() -> int:
    """CPUs this process may run on: taskset and cpusets narrow it; os.cpu_count() ignores both."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def _cgroup_paths(root: Path) -> dict[str, str]:
    """This process's cgroup per controller from /proc/self/cgroup: "memory", "cpu", ... (v1) and
    "" (the v2 unified hierarchy, the line "0::/path")."""
    try:
        text = (root / "proc/self/cgroup").read_text()
    except OSError:
        return {}
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _folders(root: Path, mount: str, path: str) -> list[Path]:
    """The process's cgroup folder under the mount point and each parent up to the mount point."""
    top = root / mount
    here = top / path.strip("/") if path.strip("/") and ".." not in path else top
    if not here.is_dir():
        here = top  # a container with its own cgroup namespace sees its cgroup at the mount point
    folders = [here]
    while here != top and top in here.parents:
        here = here.parent
        folders.append(here)
    return folders


def _read(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _smallest(values) -> float | None:
    found = [v for v in values if v is not None]
    return min(found) if found else None


def _cpu_quota(root: Path, groups: dict[str, str]) -> float | None:
    values = []
    for mount in _V2_MOUNTS:
        for folder in _folders(root, mount, groups.get("", "/")):
            values.append(_v2_quota(_read(folder, "cpu.max")))
    for mount in _V1_MOUNTS["cpu"]:
        for folder in _folders(root, mount, groups.get("cpu", "/")):
            values.append(_v1_quota(_read(folder, "cpu.cfs_quota_us"), _read(folder, "cpu.cfs_period_us")))
    return _smallest(values)


def _v2_quota(text: str | None) -> float | None:
    """cpu.max: "max 100000" (no quota) or "200000 100000" (2 CPUs)."""
    try:
        quota, period = text.split()
        return None if quota == "max" else int(quota) / int(period)
    except (AttributeError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(quota: str | None, period: str | None) -> float | None:
    """cpu.cfs_quota_us over cpu.cfs_period_us; a quota of -1 is none."""
    try:
        q, p = int(quota), int(period)
        return q / p if q > 0 and p > 0 else None
    except (TypeError, ValueError):
        return None


def _memory_limit(root: Path, groups: dict[str, str]) -> int | None:
    values = []
    for mount in _V2_MOUNTS:
        for folder in _folders(root, mount, groups.get("", "/")):
            values.append(_bytes(_read(folder, "memory.max")))
    for mount in _V1_MOUNTS["memory"]:
        for folder in _folders(root, mount, groups.get("memory", "/")):
            values.append(_bytes(_read(folder, "memory.limit_in_bytes")))
    values.append(_mem_total(root))
    return _smallest(values)


def _bytes(text: str | None) -> int | None:
    """A limit in bytes; "max" (v2) or a huge number (v1) is none."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < _NO_LIMIT else None


def _mem_total(root: Path) -> int | None:
    """The machine's memory (/proc/meminfo MemTotal): a laptop without a cgroup limit has that much."""
    text = _read(root / "proc", "meminfo") or ""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            try:
                return int(line.split()[1]) * 1024
            except (IndexError, ValueError):
                return None
    return None
