"""The registries of core/cells/ and core/sources/: each entry is complete, and the list of cells or
sources is written only there (a new one is its own module and one registry line, DESIGN.md)."""
from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from core import cells, data, describe, model_size, sources
from core.charts import _style
from core.errors import DataError
from core.spec import CELLS, SOURCES, DataSpec, ExperimentSpec, SpecError

ROOT = Path(__file__).resolve().parents[1]
HEX = re.compile(r"#[0-9a-f]{6}")


@pytest.mark.parametrize("name", cells.NAMES)
def test_every_cell_has_gates_a_replay_a_cudnn_rule_and_a_colour(name):
    c = cells.cell(name)
    assert c.traces[-1] == "h" and c.sigmoid_gates <= set(c.traces) and set(c.texts) == set(c.traces)
    assert c.memory_gate in ("", *c.sigmoid_gates) and c.blocks >= 1 and c.states >= 1
    assert len(c.colours) == 3 and all(HEX.fullmatch(s) for s in c.colours)
    assert _style.CELL_COLOURS[name] == c.colours and name in c.blurb
    assert isinstance(c.cudnn(dict(cells.CUDNN_SETTINGS)), list)
    assert cells.cudnn_text(name, {"unroll": True}).startswith("no: ")  # no cell's kernel runs unrolled
    # the replay of a zero-weight layer stays at zero states, in the traces the cell declares
    units, x = 3, np.ones((2, 4, 5), np.float32)
    kernel = np.zeros((5, c.blocks * units), np.float32)
    recurrent = np.zeros((units, c.blocks * units), np.float32)
    keras_cell = type("KerasCell", (), {"reset_after": True})()
    out = c.replay(keras_cell, x, kernel, recurrent, None, np.tanh, lambda v: 1 / (1 + np.exp(-v)))
    assert set(out) == set(c.traces)
    assert out["h"].shape == (2, 4, units) and np.allclose(out["h"], 0)
    # its weight count is the Keras layout's: blocks x units x (inputs + units + 1 bias) at least
    assert c.parameters(5, units, {}) >= c.blocks * units * (5 + units + 1)
    assert c.parameters(5, units, {"use_bias": False}) == c.blocks * units * (5 + units)


def test_the_cells_colours_differ_and_the_spec_offers_every_cell():
    shades = [s for c in cells.CELLS.values() for s in c.colours]
    assert len(set(shades)) == len(shades)
    assert CELLS == cells.NAMES
    for name in cells.NAMES:
        spec = ExperimentSpec.from_dict({"model": {"cell": name}})
        assert model_size.parameters(spec, (60, 1)) > 0 and model_size.table(spec, (60, 1))[0]["type"] == cells.cell(name).keras_name


@pytest.mark.parametrize("name", sources.NAMES)
def test_every_source_has_a_title_fields_a_check_and_a_load(name):
    s = sources.source(name)
    assert s.label and callable(s.load) and callable(s.title)
    known = {f.name for f in dataclasses.fields(DataSpec)}
    assert set(s.fields) <= known and set(s.defaults) <= known
    bare = DataSpec(source=name, name=None)
    with pytest.raises(SpecError) as caught:  # each source names the field it lacks
        s.check(bare)
    assert caught.value.field in {f"data.{f}" for f in s.fields}
    assert isinstance(s.title(DataSpec(source=name, **s.defaults)), str)


@pytest.mark.parametrize("name", [n for n in sources.NAMES if not sources.source(n).uploads and n != "ticker"])
def test_every_offline_source_loads_with_its_defaults_and_suggests_a_column_it_has(name):
    s = sources.source(name)
    frame = data.load(DataSpec(source=name, **s.defaults), require_columns=False)
    assert len(frame) > 0 and frame.index.is_monotonic_increasing
    target = s.target(DataSpec(source=name, **s.defaults))
    assert target is None or target in frame.columns


def test_the_spec_describe_and_data_load_ask_the_registry():
    assert SOURCES == sources.NAMES
    spec = ExperimentSpec()
    assert describe.source_title(spec) == sources.source("builtin").title(spec.data)
    with pytest.raises(DataError, match=f"unknown data source 'nope'; use {', '.join(sources.NAMES[:-1])} or "):
        data.load(DataSpec(source="nope"))


def _literals(path: Path, names: set[str], at_least: int):
    """(line, values) of each tuple/list/set literal in `path` holding `at_least` of `names`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            if len(values & names) >= at_least:
                yield node.lineno, sorted(values & names)


# The course the stock presets reproduce trained exactly these three cells: a new cell is not part of it.
WRITTEN_OUT = {"core/presets.py"}


@pytest.mark.parametrize("registry, names, at_least", [("cells", set(cells.NAMES), 2),
                                                       ("sources", set(sources.NAMES), 3)])
def test_the_list_of_cells_and_of_sources_is_written_in_one_place(registry, names, at_least):
    """No module outside the registry lists the cells (or the sources) by hand: it asks the registry."""
    found = []
    for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(f"core/{registry}/") or rel in WRITTEN_OUT:
            continue
        found += [f"{rel}:{line} {values}" for line, values in _literals(path, names, at_least)]
    assert not found, f"ask core/{registry}/ instead of listing its entries: {found}"


def test_the_one_place_check_finds_a_hand_written_list(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('CELLS = ("SimpleRNN", "LSTM", "GRU")\nX = ["builtin", "csv"]\n"""("LSTM", "GRU")"""\n')
    assert list(_literals(path, set(cells.NAMES), 2)) == [(1, ["GRU", "LSTM", "SimpleRNN"])]
