"""The layering, checked on the source: pages -> ui -> core, no import cycles (also none hidden in a
function body), and core/ free of Streamlit (docs/development.md describes the layers)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "ui")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)  # core/charts/__init__.py -> core.charts


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (top level, functions, branches), absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_is_read_at_every_depth():
    graph = _graph()
    assert "core.spec" in graph["ui.spec_state"]  # a top-level import
    assert "core.pool" in graph["ui.launch"]  # an import inside a function counts too
    assert "core.charts._style" in graph["core.charts.training"]  # and a package's modules, by relative import
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the finder finds one


def test_no_import_cycles_in_core_and_ui():
    assert _cycles(_graph()) == []


def _climbing(imports: set[str], below: str) -> set[str]:
    """The modules of the layers above `below` ("core": ui and pages; "ui": pages) among `imports`."""
    above = {"core": ("ui", "pages", "app"), "ui": ("pages", "app")}[below]
    return {m for m in imports if m.split(".")[0] in above}


@pytest.mark.parametrize("layer", ["core", "ui"])
def test_arrows_point_down_only(layer):
    """core never imports ui or pages; ui never imports pages (nor app.py)."""
    climbing = {str(p.relative_to(ROOT)): found for p in (ROOT / layer).rglob("*.py") if (found := _climbing(_imports(p), layer))}
    assert not climbing, climbing


def test_the_arrow_check_sees_an_import_that_climbs():
    assert _climbing({"core.spec", "pages", "pages.data", "app", "ui.loads"}, "ui") == {"pages", "pages.data", "app"}
    assert _climbing({"ui.loads", "core.spec"}, "core") == {"ui.loads"}


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_streamlit(path):
    assert not {m for m in _imports(path) if m.split(".")[0] == "streamlit"}, path.name


def test_the_ui_reads_run_files_only_through_core_runs():
    """No page or ui module opens a run's files itself: core/runs.py owns the run directory layout."""
    names = ("run.json", "live.json", "spec.json", "history.csv", "predictions.csv", "metrics.json", "forecast.csv",
             "model.keras", "weights.npz", "started.json")
    for path in [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]:
        text = re.sub(r"runs\.file_version\([^)]*\)", "", path.read_text(encoding="utf-8"))  # a cache key, no read
        named = [n for n in names if f'"{n}"' in text]
        assert not named, f"{path.name} names the run files {named}: read them through core/runs.py"


MAX_FILE_LINES, MAX_FUNCTION_LINES = 450, 80  # issue 23: one job per module, functions that fit a screen


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("ui/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])


def _long_functions(source: str, limit: int) -> list[str]:
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit]


def test_no_module_over_450_lines_and_no_function_over_80():
    too_long = {}
    for path in _sources():
        text = path.read_text()
        lines = text.count("\n")
        found = ([f"{lines} lines"] if lines > MAX_FILE_LINES else []) + _long_functions(text, MAX_FUNCTION_LINES)
        if found:
            too_long[str(path.relative_to(ROOT))] = found
    assert not too_long, too_long


def test_the_length_check_sees_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert _long_functions(f"def f():\n{body}\n", MAX_FUNCTION_LINES) == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]
