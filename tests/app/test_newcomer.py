"""Rough edges a newcomer hit in the browser, each checked through the real pages."""
from __future__ import annotations

from .helpers import open_page

LETTER = (b"Dear team,\n\nplease find attached the figures for last quarter. Sales went up, costs went down,\n"
          b"and we are all very happy about it.\n\nBest regards,\nAnna\n")


def test_a_letter_saved_as_csv_is_called_not_a_table_once_without_a_date_picker():
    at = open_page("data")
    before = at.session_state["spec"]
    at.radio(key="w.source").set_value("csv").run()
    at.file_uploader(key="w.upload").set_value(("letter.csv", LETTER, "text/csv")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors  # one message, not a second one stacked under it
    assert errors[0].startswith("letter.csv is not a table of numbers") and "previous data is kept" in errors[0]
    assert not [s for s in at.selectbox if s.label == "Date column"]  # no picker offering "Dear team"
    assert at.session_state["spec"] == before


def _on_my_csv(tmp_path, columns: dict) -> "AppTest":  # noqa: F821
    import numpy as np
    import pandas as pd

    from core.spec import ExperimentSpec

    from .helpers import new_app

    path = tmp_path / "cache" / "uploads" / "0123456789ab-mine.csv"  # as the Data page stores an upload
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=300),
                          **{c: np.linspace(10, 20, 300) + i for i, c in enumerate(columns)}})
    frame.to_csv(path, index=False)
    first = next(iter(columns))
    at = new_app(ExperimentSpec.from_dict({"data": {"source": "csv", "path": str(path), "target": first,
                                                    "features": [first]}}), preset="stock-lstm-60")
    at.run()
    at.switch_page("pages/presets.py").run()
    return at


def test_load_into_the_editor_keeps_my_csv_when_its_columns_fit(tmp_path):
    from .helpers import button

    at = _on_my_csv(tmp_path, {"Open": 1, "High": 2, "Low": 3, "Close": 4})
    button(at, "Load into the editor").click().run()
    spec = at.session_state["spec"]
    assert spec.data.source == "csv" and spec.data.path.endswith("-mine.csv")  # still the visitor's file
    assert any("runs on your CSV, mine.csv" in s.value for s in at.success)


def test_load_into_the_editor_says_clearly_when_the_data_changes(tmp_path):
    from .helpers import button

    at = _on_my_csv(tmp_path, {"price": 1})
    button(at, "Load into the editor").click().run()
    assert at.session_state["spec"].data.name == "sp500"
    warning = next(w.value for w in at.warning if "the data changed" in w.value)
    assert "mine.csv" in warning and "no 'Open' column" in warning and "pick it again on the Data page" in warning
