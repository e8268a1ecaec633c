"""Links that cost the server memory (issue 26, items 3 and 6): each is refused on Train with a clear
message, no traceback, and the server's caches hold window shapes, never the windows."""
from __future__ import annotations

import json
import pickle
import tracemalloc

from core import windows
from ui import loads

from .helpers import new_app

SINE = {"data.source": "synthetic", "data.name": "sine", "data.target": "value", "data.features": '["value"]'}


def _train_page(**query):
    at = new_app(**query)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def _errors(at) -> str:
    return " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)


def test_a_link_whose_windows_exceed_the_cap_shows_the_message_on_train():
    """The issue's link: 300,000 points and a 2,000-step window took the server from 303 MB to 2.6 GB."""
    at = _train_page(**SINE, **{"data.params": '{"points":300000}', "window.length": "2000"})
    text = _errors(at)
    assert "RNNLAB_MAX_WINDOW_MB" in text and "2,275 MB" in text and "Shorten the window" in text
    at.button[0].click().run()  # Train: refused before any worker starts
    assert not at.exception, at.exception
    assert "RNNLAB_MAX_WINDOW_MB" in _errors(at)


def test_two_million_points_and_a_10000_step_window_give_no_memory_error():
    at = _train_page(**SINE, **{"data.params": '{"points":2000000}', "window.length": "10000"})
    assert "RNNLAB_MAX_WINDOW_MB" in _errors(at)


def test_a_link_with_a_94m_parameter_model_is_refused_with_its_count():
    at = _train_page(**{"model.units": "[1024,1024,1024,1024]", "model.bidirectional": "true",
                        "model.head_units": "1024"})
    assert "RNNLAB_MAX_MODEL_PARAMS" in _errors(at) and "86,026,241 parameters" in _errors(at)


def test_a_link_listing_close_450_times_is_refused():
    at = new_app(**{"data.features": json.dumps(["Close"] * 450)})
    at.run()
    assert not at.exception, at.exception
    assert "'Close' (450 times)" in _errors(at) + " ".join(e.value for e in at.get("alert"))


def test_the_cache_holds_shapes_not_windows(monkeypatch):
    """A big-but-allowed link (200,000 points, 60-step windows: 46 MB of windows) costs the cache the
    shapes, a few hundred bytes; the old cache pickled the Windowed, which copies every view whole."""
    spec = loads.ExperimentSpec.from_query({**SINE, "data.params": '{"points":200000}'})
    tracemalloc.start()
    try:
        found = loads._shapes.__wrapped__(loads._window_key(spec))  # what the cached function returns
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(found, windows.Shapes) and sum(found.counts.values()) == 200_000 - 60
    assert len(pickle.dumps(found)) < 2_000  # what st.cache_data stores
    assert peak < 30 * 2 ** 20  # the series and its scaled copy, not 46 MB of windows
