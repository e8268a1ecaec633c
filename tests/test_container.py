"""Sizing the pool by the container (core/container.py), on fake cgroup trees: v1, v2, no limit, a
memory limit too small for a warm spare, a parent cgroup's limit, taskset, and RNNLAB_MAX_WORKERS."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import container, pool

ROOT = Path(__file__).resolve().parents[1]
GB27 = 2_700_000_000  # Streamlit Community Cloud's largest container


def tree(root: Path, files: dict[str, str]) -> Path:
    """A fake filesystem under `root`: {"proc/self/cgroup": "...", "sys/fs/cgroup/...": "..."}."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


@pytest.fixture
def host16(monkeypatch):
    """A host that shows 16 CPUs, as a Community Cloud container does, and no operator settings."""
    monkeypatch.setattr(container, "_affinity", lambda: 16)
    for name in ("RNNLAB_MAX_WORKERS", "RNNLAB_WARM_WORKERS", "RNNLAB_WORKER_MB", "RNNLAB_SERVER_MB",
                 "RNNLAB_CONTAINER_ROOT"):
        monkeypatch.delenv(name, raising=False)


def test_cgroup_v1_quota_and_memory_limit_of_the_process_cgroup(tmp_path, host16):
    root = tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",  # the host: no limit
        "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": str(GB27),
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
        "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000",
        "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
    })
    assert container.read_limits(root) == container.Limits(cpus=16, quota=1.5, memory=GB27)
    sized = container.plan(root=root)
    assert (sized.max_workers, sized.warm) == (1, True)  # 1.5 CPUs: one run; 2.7 GB has room for a spare
    assert "quota" in sized.reason


def test_cgroup_v2_cpu_max_and_memory_max(tmp_path, host16):
    root = tree(tmp_path, {
        "proc/self/cgroup": "0::/app.slice/rnnlab",
        "sys/fs/cgroup/app.slice/rnnlab/cpu.max": "200000 100000",
        "sys/fs/cgroup/app.slice/rnnlab/memory.max": str(8 << 30),
    })
    assert container.read_limits(root) == container.Limits(cpus=16, quota=2.0, memory=8 << 30)
    assert container.plan(root=root) == container.Plan(2, True, "a CPU quota of 2")


def test_a_container_that_sees_its_own_cgroup_at_the_mount_point(tmp_path, host16):
    """With a cgroup namespace /proc/self/cgroup says "0::/" (v2), or names a folder the container
    cannot see (v1): the limits sit at the mount point itself."""
    v2 = tree(tmp_path / "v2", {"proc/self/cgroup": "0::/", "sys/fs/cgroup/memory.max": str(GB27)})
    v1 = tree(tmp_path / "v1", {"proc/self/cgroup": "4:memory:/docker/abc",
                                "sys/fs/cgroup/memory/memory.limit_in_bytes": str(GB27)})
    assert container.read_limits(v2).memory == container.read_limits(v1).memory == GB27


def test_a_parents_smaller_limit_applies(tmp_path, host16):
    root = tree(tmp_path, {
        "proc/self/cgroup": "0::/outer/inner",
        "sys/fs/cgroup/outer/memory.max": str(1 << 30),
        "sys/fs/cgroup/outer/inner/memory.max": "max",
        "sys/fs/cgroup/outer/cpu.max": "50000 100000",
        "sys/fs/cgroup/outer/inner/cpu.max": "max 100000",
    })
    assert container.read_limits(root) == container.Limits(cpus=16, quota=0.5, memory=1 << 30)
    assert container.plan(root=root).max_workers == 1  # half a CPU still trains one run


def test_no_limit_anywhere_gives_the_cpus_and_a_spare(tmp_path, host16):
    root = tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/\n3:cpu,cpuacct:/\n0::/",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        "sys/fs/cgroup/unified/cpu.max": "max 100000",
        "sys/fs/cgroup/unified/memory.max": "max",
    })
    assert container.read_limits(root) == container.Limits(cpus=16)
    assert container.plan(root=root) == container.Plan(16, True, "16 CPUs")
    assert container.read_limits(tmp_path / "nothing-here") == container.Limits(cpus=16)  # no /proc, no cgroups


def test_the_machines_memory_caps_a_laptop_without_a_cgroup(tmp_path, host16):
    root = tree(tmp_path, {"proc/meminfo": "MemTotal:        4000000 kB\nMemFree:  100 kB"})
    sized = container.plan(root=root)  # 3906 MB less the server's 450 fits 4 workers of 750 MB, not 16
    assert (sized.max_workers, sized.warm) == (4, False)


def test_a_host_of_16_cores_in_a_27_gb_container_starts_two_workers_and_no_spare(tmp_path, host16):
    """The issue's case: os.cpu_count() says 16; 16 workers of 750 MB would be killed. 2.7 GB less
    the server's 450 MB holds 2 workers; a spare would need a third worker's room."""
    root = tree(tmp_path, {"sys/fs/cgroup/memory/memory.limit_in_bytes": str(GB27)})
    assert container.plan(root=root) == container.Plan(2, False, "2575 MB of memory at 750 MB a worker")


def test_a_memory_limit_too_small_for_one_worker_still_trains_one_without_a_spare(tmp_path, host16):
    root = tree(tmp_path, {"sys/fs/cgroup/memory.max": str(690_000_000)})  # Community Cloud's smallest
    assert (container.plan(root=root).max_workers, container.plan(root=root).warm) == (1, False)


def test_a_spare_needs_a_full_worker_beyond_the_most_that_run(tmp_path, host16):
    limits = container.Limits(cpus=1, memory=(450 + 2 * 750) * container.MB)
    assert container.fit(limits).warm  # one runs, one waits: exactly room for both
    assert not container.fit(container.Limits(cpus=1, memory=(450 + 2 * 750 - 1) * container.MB)).warm


def test_the_environment_wins(tmp_path, host16, monkeypatch):
    root = tree(tmp_path, {"sys/fs/cgroup/cpu.max": "100000 100000", "sys/fs/cgroup/memory.max": str(GB27)})
    monkeypatch.setenv("RNNLAB_CONTAINER_ROOT", str(root))
    assert container.plan() == container.Plan(1, True, "a CPU quota of 1")
    monkeypatch.setenv("RNNLAB_MAX_WORKERS", "3")
    monkeypatch.setenv("RNNLAB_WARM_WORKERS", "0")
    assert (container.plan().max_workers, container.plan().warm) == (3, False)
    assert container.plan(max_workers=5).max_workers == 5  # --workers wins over the variable
    monkeypatch.delenv("RNNLAB_MAX_WORKERS")
    monkeypatch.delenv("RNNLAB_WARM_WORKERS")
    monkeypatch.setenv("RNNLAB_WORKER_MB", "2000")  # a heavier worker: no room for a spare beside one
    assert container.plan() == container.Plan(1, False, "a CPU quota of 1")


def test_a_typo_in_a_variable_is_reported_and_the_default_used(tmp_path, host16, monkeypatch, capsys):
    monkeypatch.setenv("RNNLAB_CONTAINER_ROOT", str(tree(tmp_path, {"sys/fs/cgroup/memory.max": str(GB27)})))
    monkeypatch.setenv("RNNLAB_WORKER_MB", "lots")
    monkeypatch.setenv("RNNLAB_MAX_WORKERS", "0")
    assert container.plan() == container.Plan(2, False, "2575 MB of memory at 750 MB a worker")
    err = capsys.readouterr().err
    assert "RNNLAB_WORKER_MB='lots' is not a number of at least 1; using 750" in err
    assert "RNNLAB_MAX_WORKERS='0' is not a number of at least 1; using what the container fits" in err


def test_from_env_sizes_the_pool_by_the_container(tmp_path, host16, monkeypatch):
    monkeypatch.setenv("RNNLAB_CONTAINER_ROOT", str(tree(tmp_path, {"sys/fs/cgroup/memory.max": str(GB27)})))
    monkeypatch.setenv("RNNLAB_WORKER", "process")
    started = []
    monkeypatch.setattr(pool.LocalProcesses, "_start", lambda self: started.append(1))  # no real worker
    sized = pool.from_env()
    try:
        assert sized.max_workers == 2 and sized.launcher.warm is False and not started  # 16 CPUs shown, 2 fit
    finally:
        sized.close()
    monkeypatch.setenv("RNNLAB_MAX_WORKERS", "4")
    assert pool.from_env().max_workers == 4


@pytest.mark.skipif(not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs taskset and a machine of 2 CPUs or more")
def test_a_process_started_under_taskset_runs_one_at_once():
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
    env.update(RNNLAB_WORKER="thread", PYTHONPATH=str(ROOT))  # threads: no TensorFlow worker is started
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from core import pool; print(pool.from_env().max_workers)"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "1", out.stderr


def test_a_queued_run_says_how_many_this_server_trains_at_once(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(pool, "_POOL", pool.Pool(pool.InThreads(), max_workers=2))

    def page():
        from types import SimpleNamespace

        from ui import views

        views.progress(SimpleNamespace(queued=True, queue_position=1, queue_length=1,
                                       message="queued, position 1 of 1"))

    at = AppTest.from_function(page).run()
    assert at.info[0].value.startswith("Status: queued, position 1 of 1: this server trains 2 runs at once")


def test_workers_under_a_cpu_quota_start_as_many_threads_as_it_allows(tmp_path, host16, monkeypatch):
    for name in container.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    quota = tree(tmp_path / "q", {"sys/fs/cgroup/cpu.max": "150000 100000"})  # 1.5 CPUs of 16 shown
    assert container.worker_threads(quota) == {name: "2" for name in container.THREAD_VARIABLES}
    assert container.worker_threads(tree(tmp_path / "none", {"sys/fs/cgroup/memory.max": str(GB27)})) == {}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # the deployment's own setting is kept
    assert container.worker_threads(quota)["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("RNNLAB_CONTAINER_ROOT", str(quota))
    seen = {}
    monkeypatch.setattr(subprocess, "Popen", lambda *args, **kwargs: seen.update(kwargs["env"]))  # no real worker
    pool.LocalProcesses(warm=False)._start()
    assert seen["TF_NUM_INTRAOP_THREADS"] == "2" and seen["OPENBLAS_NUM_THREADS"] == "1"
