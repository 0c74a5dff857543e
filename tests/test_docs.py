"""The manual in docs/ stays true to the code: every module path and dotted
name it writes exists, every function docs/architecture.md names is defined,
every link leads somewhere, and the README points to every page."""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "searchsvc"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
ARCHITECTURE = ROOT / "docs" / "architecture.md"

PATH = re.compile(r"(?<![\w./-])searchsvc/[\w./-]*")
DOTTED = re.compile(r"(?<![\w./-])searchsvc(?:\.[A-Za-z_]\w*)+")
#: A benchmark or check run as ``python -m bench.…``.
BENCH_MODULE = re.compile(r"(?<![\w./-])bench(?:\.[A-Za-z_]\w*)+")
#: `name()` or `Class.method()` in backquotes.
CALLED = re.compile(r"`(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\(\)`")
#: `ClassName` or `ClassName.member` in backquotes.
CLASS_NAMED = re.compile(r"`(?P<name>[A-Z][a-z]\w*(?:\.[A-Za-z_]\w*)?)`")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def mentioned(pattern: re.Pattern[str], pages: list[Path]) -> list[tuple[str, str]]:
    return sorted({(page_id(page), m.group().rstrip("./-")) for page in pages for m in pattern.finditer(page.read_text("utf-8"))})


@cache
def definitions() -> tuple[frozenset[str], dict[str, tuple[set[str], list[str]]]]:
    """(every function, class and module-level name defined in the package,
    {class: (its members, its bases' names)})."""
    names: set[str] = set()
    classes: dict[str, tuple[set[str], list[str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            if isinstance(node, ast.ClassDef):
                members = set()
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        members.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members.add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        members.update(t.id for t in item.targets if isinstance(t, ast.Name))
                bases = [ast.unparse(b.value if isinstance(b, ast.Subscript) else b).rpartition(".")[2] for b in node.bases]
                classes[node.name] = (members, bases)
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return frozenset(names), classes


def has_member(cls: str, member: str) -> bool:
    _, classes = definitions()
    if cls not in classes:
        return False
    members, bases = classes[cls]
    return member in members or any(has_member(base, member) for base in bases)


def defined(name: str) -> bool:
    names, classes = definitions()
    cls, _, member = name.partition(".")
    return has_member(cls, member) if member else name in names


def test_every_package_path_exists():
    missing = [f"{page}: {path}" for page, path in mentioned(PATH, PAGES) if not (ROOT / path).exists()]
    assert missing == [], "paths that do not exist:\n" + "\n".join(missing)


def resolves(name: str) -> bool:
    """Whether ``searchsvc.x.y`` is a module, or something defined in one (an
    old module name counts while searchsvc.moved still imports it)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def test_every_dotted_name_exists():
    names = mentioned(DOTTED, PAGES)
    assert len(names) >= 10
    missing = [f"{page}: {name}" for page, name in names if not resolves(name)]
    assert missing == [], "dotted names that do not exist:\n" + "\n".join(missing)


def test_every_bench_module_exists():
    """``-m bench.bench_query``, ``-m bench.checks.fault_runs``…: files under bench/."""
    names = mentioned(BENCH_MODULE, PAGES)
    assert len(names) >= 5
    missing = [
        f"{page}: {name}"
        for page, name in names
        if not (ROOT / (name.replace(".", "/") + ".py")).is_file()
        and not (ROOT / name.replace(".", "/") / "__init__.py").is_file()
    ]
    assert missing == [], "bench modules that do not exist:\n" + "\n".join(missing)


def test_every_function_and_class_the_architecture_page_names_is_defined():
    """`name()`, `Class.method()`, `ClassName` and `ClassName.attribute`."""
    text = ARCHITECTURE.read_text("utf-8")
    called = {m["name"] for m in CALLED.finditer(text)}
    classes = {m["name"] for m in CLASS_NAMED.finditer(text)}
    assert len(called) >= 50 and len(classes) >= 20
    missing = sorted(f"`{name}()`" for name in called if not defined(name))
    missing += sorted(f"`{name}`" for name in classes if not defined(name))
    assert missing == [], "docs/architecture.md names what searchsvc does not define: " + ", ".join(missing)


def tree_of_the_architecture_page() -> set[str]:
    """The files of the package as the page's tree lists them (``text/analysis.py``)."""
    block = re.search(r"```text\nsearchsvc/\n(.*?)```", ARCHITECTURE.read_text("utf-8"), re.S)
    assert block, "docs/architecture.md has no tree of searchsvc/"
    files, folder = set(), ""
    for line in block[1].splitlines():
        indent, entry = len(line) - len(line.lstrip()), line.split()[0]
        if indent == 2 and entry.endswith("/"):
            folder = entry
        elif entry.endswith(".py"):
            files.add(entry if indent == 2 else folder + entry)
    return files


def test_the_architecture_page_lists_every_module_in_its_place():
    modules = {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if not (p.name == "__init__.py" and p.parent != PACKAGE)  # a subpackage's docstring
    }
    listed = tree_of_the_architecture_page()
    assert sorted(modules - listed) == [], "modules missing from docs/architecture.md's tree"
    assert sorted(listed - modules) == [], "docs/architecture.md's tree lists modules that do not exist"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
    return {slug(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_link_leads_somewhere(page):
    text = page.read_text("utf-8")
    for match in LINK.finditer(text):
        target = match["target"]
        if re.match(r"[a-z]+:", target):
            continue  # https://…
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page_id(page)} links {target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page_id(page)} links {target}: no such heading"


def test_the_readme_links_every_page_of_the_manual():
    text = (ROOT / "README.md").read_text("utf-8")
    missing = [page.name for page in DOCS if f"(docs/{page.name})" not in text]
    assert missing == [], f"the README does not link {missing}"
    assert "(bench/README.md)" in text


@pytest.mark.parametrize("page", DOCS, ids=page_id)
def test_each_page_says_who_it_is_for_and_links_back(page):
    text = page.read_text("utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# ") and lines[1] == "", f"{page_id(page)} should start with its title"
    assert lines[2].startswith("For "), f"{page_id(page)} should start by saying who it is for"
    assert "(../README.md)" in text, f"{page_id(page)} does not link back to the README"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_issue_numbers(page):
    """A newcomer cannot follow "issue 5": say what it was instead."""
    assert not re.search(r"\bissues? #?\d", page.read_text("utf-8"), re.I), page_id(page)
