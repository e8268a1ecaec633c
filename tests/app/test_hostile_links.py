"""Markdown a visitor supplies (in a share link, a CSV cell, a column name, a run's message) shows as
the text it is, for whoever opens it: never as a remote image, a link, a colour or an icon.

Every string Streamlit renders as Markdown on each page (bodies, captions, alerts, progress texts,
widget labels and help, radio options; the sidebar too) is collected from the element tree, and
those quoting the hostile value must hold no Markdown that still works."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict

from core import data, runs
from core.spec import ExperimentSpec

from ..conftest import tiny_spec
from .helpers import new_app

EVIL = "![f](http://host/x.png) [Sign in again](http://host/phish) :red[x] :material/lock: www.host.com $x$"
MARKER = "phish"  # in every hostile value: the strings that quote one
MARKDOWN_FIELDS = {"body", "label", "help", "text", "captions"}  # what Streamlit 1.67 renders as Markdown
PAGES = ("data", "model", "train", "inspect", "runs", "presets")


def markdown_texts(at) -> list[str]:
    """Every Markdown string on the page and in the sidebar (not st.code, tables or charts, which
    Streamlit draws as plain text)."""
    out: list[str] = []

    def collect(value, key: str, kind: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k, kind)
        elif isinstance(value, list):
            for v in value:
                collect(v, key, kind)
        elif isinstance(value, str) and (key in MARKDOWN_FIELDS or (key == "options" and kind == "Radio")):
            out.append(value)

    def visit(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and type(node).__name__ not in ("Code", "PlotlyChart", "Dataframe"):
            collect(MessageToDict(proto), "", type(node).__name__)
        for child in (getattr(node, "children", None) or {}).values():
            visit(child)

    visit(at._tree)
    return out


def _active(text: str, i: int) -> bool:
    """Whether text[i] is not escaped (an even number of backslashes before it)."""
    slashes = len(text[:i]) - len(text[:i].rstrip("\\"))
    return slashes % 2 == 0


def live_markup(text: str) -> list[str]:
    """The Markdown in `text` that would still work: brackets (links, images, directives), < (autolinks,
    HTML), bare http:// and www. links, shortcodes (:material/...:) and $ (LaTeX)."""
    found = [c for i, c in enumerate(text) if c in "[]<$" and _active(text, i)]
    found += ["://" for m in re.finditer("://", text) if _active(text, m.start())]
    found += ["www." for m in re.finditer(r"(?i)www\.", text) if _active(text, m.end() - 1)]
    found += [m[0] for m in re.finditer(r":(material/)?\w+:", text)]
    return found


def assert_shown_safely(at, where: str) -> int:
    """No Markdown on the page quotes a hostile value with working markup; how many quote one."""
    assert not at.exception, (where, at.exception)
    quoting = [t for t in markdown_texts(at) if MARKER in t]
    for text in quoting:
        assert not live_markup(text), (where, live_markup(text), text)
    return len(quoting)


def visit_all(at) -> int:
    shown = assert_shown_safely(at, "first page")
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        shown += assert_shown_safely(at, page)
    return shown


def test_markdown_in_a_share_link_shows_as_text_on_every_page():
    """The issue's link: the success banner, Train's setup line, the sidebar and the error message
    all quote the hostile feature; none renders it."""
    at = new_app(**{"data.features": json.dumps(["Close", EVIL])})
    at.run()
    assert any(MARKER in t for t in markdown_texts(at))  # it is quoted (the banner), so the check is not empty
    assert visit_all(at) >= 3


def test_markdown_in_a_csv_cell_and_column_name_shows_as_text(tmp_path):
    """A CSV whose column name and one cell hold Markdown: the "values that are not numbers" note,
    the loaded line, missing values, the setup line and the sidebar quote them as text."""
    path = data.uploads_dir() / "0123456789ab-prices.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    close = np.linspace(10, 20, 200).astype(object)
    close[50] = EVIL
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=200), "Close": close,
                  EVIL: np.linspace(1, 2, 200)}).to_csv(path, index=False)
    spec = ExperimentSpec.from_dict({"data": {"source": "csv", "path": str(path), "target": "Close",
                                              "features": ["Close", EVIL]}, "window": {"length": 10}})
    at = new_app(spec)
    at.run()
    at.switch_page("pages/data.py").run()
    notes = [t for t in markdown_texts(at) if "not numbers" in t]
    assert notes and MARKER in notes[0]  # the note quotes the cell
    assert visit_all(at) >= 3


@pytest.fixture
def trained(trained_run):
    """One tiny trained run directory (tests/conftest.py), copied into each test's store."""
    return trained_run[0]


def plant(trained, store, token: str, name: str, **run_json) -> str:
    """A copy of the trained run in `store`, in `token`'s workspace, with run.json fields replaced."""
    target = store / name
    shutil.copytree(trained, target)
    info = json.loads((target / "run.json").read_text())
    info.update(run_id=name, workspace=runs.workspace_id(token), **run_json)
    (target / "run.json").write_text(json.dumps(info))
    return name


def test_markdown_in_a_run_message_shows_as_text_in_history_and_on_train(trained, run_store):
    """A run's message (a bundle's run.json keeps the exporter's message) on Runs -> History, in the
    Train page's status and in the sidebar."""
    token = "hostile-token-123"
    run_id = plant(trained, run_store, token, "20260101-000000-bbbbbb", message=f"imported from a bundle ({EVIL})")
    at = new_app(tiny_spec(), ws=token, run=run_id)
    at.run()
    assert assert_shown_safely(at, "train") >= 1  # the status line quotes the message
    at.switch_page("pages/runs.py").run()
    assert assert_shown_safely(at, "runs") >= 1  # History's status caption of the selected run
