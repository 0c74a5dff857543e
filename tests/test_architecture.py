"""The package's shape, kept as docs/architecture.md describes it: layers that
import downwards only, no import cycle, a domain that never imports Flask.

The import graph is read from the source (every ``import`` statement,
those inside functions and under ``TYPE_CHECKING`` included), so a lazy
import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "searchsvc"

#: Each module's layer: a module may import from lower layers, and from its
#: own subpackage (without a cycle). The entry points sit on top.
LAYERS = {
    "searchsvc.errors": 0, "searchsvc.config": 0, "searchsvc.version": 0, "searchsvc.moved": 0,
    "searchsvc.text": 1,
    "searchsvc.index": 2,
    "searchsvc.search": 3,
    "searchsvc.ops": 4,
    "searchsvc.web": 5, "searchsvc.cli": 5,
    "searchsvc.app": 6,
    "searchsvc": 7, "searchsvc.cli.main": 7, "searchsvc.__main__": 8,
}  # fmt: skip
DOMAIN = ("searchsvc.text", "searchsvc.index", "searchsvc.search", "searchsvc.ops")
WEB_LIBRARIES = ("flask", "werkzeug", "click", "jinja2")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """(searchsvc modules, other top-level packages) that module ``name`` imports."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    package = name if is_package(name) else name.rpartition(".")[0]
    ours, others = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.split(".")[0] == "searchsvc" else others).add(
                    alias.name if alias.name.startswith("searchsvc") else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module.split(".")[0] == "searchsvc":
                target = node.module
            else:
                others.add(node.module.split(".")[0])
                continue
            for alias in node.names:  # `from . import analysis` imports a module
                sub = f"{target}.{alias.name}"
                ours.add(sub if sub in MODULES else target)
    return {m for m in ours if m != name}, others


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def layer_of(name: str) -> tuple[str, int]:
    """The entry of :data:`LAYERS` that ``name`` belongs to (the longest match)."""
    matches = [key for key in LAYERS if name == key or name.startswith(key + ".")]
    assert matches, f"{name} belongs to no layer: add it to LAYERS (and to docs/architecture.md)"
    key = max(matches, key=len)
    return key, LAYERS[key]


def test_every_module_is_read():
    assert {"searchsvc.app", "searchsvc.search.searching", "searchsvc.index.reindex"} <= set(MODULES)
    assert GRAPH["searchsvc.app"] >= {"searchsvc.config", "searchsvc.search.live", "searchsvc.web.views"}
    assert "searchsvc.text.analysis" in GRAPH["searchsvc.text.schema"]  # `from . import analysis`


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_downwards(name):
    """A module imports from lower layers, or from its own subpackage."""
    key, layer = layer_of(name)
    for target in sorted(GRAPH[name]):
        target_key, target_layer = layer_of(target)
        assert target_layer < layer or key == target_key, f"{name} (layer {layer}) imports {target} (layer {target_layer})"


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith(DOMAIN)))
def test_the_domain_imports_no_web_library(name):
    assert not imports_of(name)[1] & set(WEB_LIBRARIES), f"{name} imports {imports_of(name)[1] & set(WEB_LIBRARIES)}"


def test_the_whole_domain_loads_without_flask():
    """At run time too: importing every domain module (as a Whoosh writer
    process or a benchmark does) loads neither Flask nor the package's edges."""
    domain = sorted(m for m in MODULES if m.startswith(DOMAIN))
    code = (
        "import importlib, sys\n"
        f"for name in {domain!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB_LIBRARIES!r}"
        " or m.startswith(('searchsvc.web', 'searchsvc.cli', 'searchsvc.app'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if is_package(m) and m != "searchsvc"))
def test_each_room_says_what_it_holds(name):
    """Every subpackage's ``__init__`` is a docstring that names its modules and
    what the layer may import; it runs nothing."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and len(doc.splitlines()) >= 3, f"{name} has no docstring saying what it holds"
    assert all(isinstance(node, ast.Expr) or isinstance(node, ast.ImportFrom) and node.module == "__future__"
               for node in tree.body), f"{name}/__init__.py should hold only its docstring"  # fmt: skip
    modules = sorted(m.rpartition(".")[2] for m in MODULES if m.rpartition(".")[0] == name)
    assert [m for m in modules if f":mod:`.{m}`" not in doc] == [], f"{name}'s docstring does not name every module"
    assert "import" in doc, f"{name}'s docstring does not say what the layer may import"


def test_the_package_root_is_a_thin_facade():
    """``from searchsvc import create_app`` works, and importing the package
    loads neither Flask nor the app (only :mod:`searchsvc.version` and
    :mod:`searchsvc.moved`)."""
    code = (
        "import sys, searchsvc\n"
        "print(sorted(m for m in sys.modules if m.startswith(('searchsvc', 'flask'))))\n"
        "from searchsvc import create_app, __version__\n"
        "print(create_app.__module__, __version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['searchsvc', 'searchsvc.moved', 'searchsvc.version']"
    assert out[1].startswith("searchsvc.app ")
