"""The web server draws ordinary pages without importing TensorFlow (3-5 s and ~560 MB): training
happens in worker processes, and the layer table is counted from the spec (core/model_size.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
import core.pool
pool_made_after_pages = []  # whether the pages' modules were imported when the pool was made
real_from_env = core.pool.from_env
def spy(*args, **kwargs):
    pool_made_after_pages.append("ui.session_runs" in sys.modules)
    return real_from_env(*args, **kwargs)
core.pool.from_env = spy
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
seen = {}
for page in ("train", "data", "model", "runs", "presets", "train"):
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, (page, at.exception)
    seen[page] = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
seen["pool_made_after_pages"] = pool_made_after_pages
print(json.dumps(seen))
"""


def test_train_data_model_runs_and_presets_render_without_tensorflow(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "RNNLAB_RUNS_DIR": str(tmp_path / "runs"), "RNNLAB_CACHE_DIR": str(tmp_path / "c"),
           "RNNLAB_WORKER": "thread", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "app.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # A fresh server's first session makes the pool (and starts the warm worker's TensorFlow import)
    # before it imports the pages' modules, once: the import overlaps the first page.
    assert seen.pop("pool_made_after_pages") == [False]
    assert seen == {page: [] for page in ("train", "data", "model", "runs", "presets")}
