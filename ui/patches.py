"""Work-arounds for Streamlit behaviour, each named for what it does, with the version and the reason.

Streamlit 1.67 (pinned in requirements.txt). Check each again when Streamlit is upgraded: the
tests named in each docstring fail when a work-around is no longer needed or no longer works."""
from __future__ import annotations

import sys


def keep_keras_session() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit 1.67's ScriptRunner calls `_clean_problem_modules()` when any run ends, fragment
    runs included, and that calls `keras.backend.clear_session()`: process-wide, so with the
    Train page polling once a second it reset Keras state under the training thread, ran a full
    gc and cleared TensorFlow's kernel cache every second (measured: epochs ~10x slower; the
    docs/development.md has the figures). We keep the matplotlib clean-up it also does and drop the Keras part.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner._clean_problem_modules, "_rnnlab", False):
        return

    def _clean_problem_modules() -> None:
        if "matplotlib.pyplot" in sys.modules:
            try:
                sys.modules["matplotlib.pyplot"].close("all")
            except Exception:  # noqa: BLE001 - as Streamlit's own version: never crash the app
                pass

    _clean_problem_modules._rnnlab = True
    script_runner._clean_problem_modules = _clean_problem_modules


def route_through_app() -> None:
    """Run every page through app.py's st.navigation. Each page calls it first.

    Streamlit 1.67 decides once per server process whether the app is a multipage app of the old
    kind: `PagesManager.uses_pages_directory` is True when a `pages/` folder sits next to the main
    script, until some script run has called `st.navigation` (which sets it to False). Until then a
    run is served the old way: a first visitor with a deep link (/presets?present=1) got
    pages/presets.py on its own, without app.py (no sidebar, no page settings, no workspace), and
    so did everyone after them until someone opened the root. There is no config option for this
    in 1.67 (`client.showSidebarNavigation` only hides the menu), and the product keeps the
    `pages/` folder its brief names, so: such a run turns the old way off and runs app.py in its
    place, within the same run (a click is not lost), and app.py's st.navigation draws this page.
    tests/e2e (the deep link as a fresh server's first request) fails without it.
    """
    import runpy
    from pathlib import Path

    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
        st.stop()


def bound_session_uploads() -> None:
    """Keep one session's uploaded files in memory within RNNLAB_UPLOAD_SESSION_MB (core/uploads.py).

    Streamlit 1.67 keeps every file PUT to /_stcore/upload_file/<session>/<file id> in memory until
    the session ends, and accepts any file id, not only the ones it handed out, so one session could
    hold any number of files of `server.maxUploadSize` each (150 MB PUTs, each kept, were seen).
    Here a new file first drops the session's older files until it fits (a widget whose file was
    dropped shows no file; the app has already saved what it needs to disk), and a file over the
    budget on its own is refused with 413. tests/test_upload_server.py fails without it.
    """
    from starlette.exceptions import HTTPException
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    from core import uploads

    original = MemoryUploadedFileManager.add_file
    if getattr(original, "_rnnlab", False):
        return

    def add_file(self, session_id, file) -> None:
        budget = uploads.session_bytes()
        if len(file.data) > budget:
            raise HTTPException(status_code=413, detail=f"File too large for this session's upload budget "
                                                        f"({budget // 2 ** 20} MB, RNNLAB_UPLOAD_SESSION_MB)")
        original(self, session_id, file)
        held = self.file_storage.get(session_id, {})
        while sum(len(f.data) for f in held.values()) > budget:
            oldest = next(file_id for file_id in held if file_id != file.file_id)
            self.remove_file(session_id, oldest)

    add_file._rnnlab = True
    MemoryUploadedFileManager.add_file = add_file
