"""Work-arounds for Streamlit behaviour that breaks live training. Applied once by app.py."""
from __future__ import annotations

import sys


def keep_keras_session() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit 1.67's ScriptRunner calls `_clean_problem_modules()` when any run ends, fragment
    runs included, and that calls `keras.backend.clear_session()`: process-wide, so with the
    Train page polling once a second it reset Keras state under the training thread, ran a full
    gc and cleared TensorFlow's kernel cache every second (measured: epochs ~10x slower, see
    shared/FACTS.md). We keep the matplotlib clean-up it also does and drop the Keras part.
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
