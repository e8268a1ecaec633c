"""Inspect → Explore through AppTest, on the session's trained run: select and match, half-life, the
unit-signal map, what-if (edit and clamp) and the path over training."""
from __future__ import annotations

import json
import shutil

from core import runs

from .helpers import figures, new_app


def test_explore_brushes_matches_edits_and_clamps_on_a_trained_run(trained_run, run_store):
    target = run_store / "explore-1"
    shutil.copytree(trained_run[0], target)
    info = json.loads((target / "run.json").read_text())
    info.update(run_id="explore-1", workspace=runs.workspace_id("explore-token"))
    (target / "run.json").write_text(json.dumps(info))
    at = new_app(run="explore-1", ws="explore-token")
    at.run()
    at.switch_page("pages/inspect.py").run()
    at.segmented_control(key="inspect_view").set_value("Explore").run()
    assert not at.exception, at.exception
    at.slider(key="explore_span").set_value((6, 9)).run()
    at.slider(key="explore_threshold").set_value(-1.0).run()  # every unit on: the pattern is all 4 units
    figs = figures(at)
    title = next(t for t in figs if t.startswith("lstm_1 · test window 1"))
    assert "4 of 4 units on over steps 6-9" in title
    assert any(t.startswith("Top matches") for t in figs) and "What followed" in figs
    assert any(m.value.startswith("After the ") for m in at.markdown)
    labels = {d.label for d in at.get("download_button")}
    assert {"matches.csv", "pattern.npz"} <= labels

    at.segmented_control(key="explore_part").set_value("Half-life").run()
    assert not at.exception, at.exception
    assert any(t.startswith("Memory half-life per unit") for t in figures(at))
    assert at.slider(key="explore_window").disabled  # it reads every test window; the slider says so
    at.segmented_control(key="explore_part").set_value(None).run()  # a click on the active part: it stays
    assert any(t.startswith("Memory half-life per unit") for t in figures(at))
    at.segmented_control(key="explore_part").set_value("Unit-signal map").run()
    signal_map = next(f for t, f in figures(at).items() if "correlation of each unit" in t)
    assert signal_map["data"][0]["x"] == ["level", "change", "volatility", "ma_distance", "day_of_week", "ahead"]

    at.segmented_control(key="explore_part").set_value("What-if").run()
    assert not at.exception, at.exception
    original = at.metric[0].value
    assert at.metric[1].value == original  # nothing edited yet
    at.selectbox(key="explore_edit").set_value("shift").run()
    at.number_input(key="explore_value").set_value(500.0).run()
    assert at.metric[1].value != original
    at.multiselect(key="explore_clamp").set_value(["u0", "u1", "u2", "u3"]).run()
    assert not at.exception, at.exception
    ablation = at.dataframe[0].value
    assert list(ablation["model"][:2]) == ["persistence", "intact model"]

    at.segmented_control(key="explore_part").set_value("Over training").run()
    assert not at.exception, at.exception
    assert any(t.startswith("Hidden-state path") for t in figures(at)) or at.info
