"""The package's shape: every public name documented, no import cycle, the chapter's listings
and book_kit's copies of them the same code, one public API per module."""

import ast
import importlib
import re

import nbformat
import pytest

import book_kit
from book_kit import frameworks

from conftest import PACKAGE, ROOT, module_name

FILES = sorted(PACKAGE.rglob("*.py"))
# the chapter's listings, kept as the book writes them (their notebook cells say what they do)
LISTINGS = {"model", "mean_squared_error", "compute_loss", "training_step"}


def _public_definitions(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef) and not sub.name.startswith("_"):
                        yield f"{node.name}.{sub.name}", sub


def test_every_public_name_has_a_docstring():
    missing = [f"{path.relative_to(ROOT)}: {name}" for path in FILES
               for name, node in _public_definitions(path)
               if not ast.get_docstring(node)
               and not (path.parent.name == "frameworks" and name in LISTINGS)]
    assert not missing, "document these (parameters, returns, an example):\n" + "\n".join(missing)


def _imports(path) -> set[str]:
    """The book_kit modules ``path`` imports, on loading or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("book_kit"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("book_kit"))
    modules = {module_name(p) for p in FILES}
    return {m for m in found if m in modules}


def test_no_module_imports_one_that_imports_it_back():
    graph = {module_name(p): _imports(p) - {module_name(p)} for p in FILES}
    # a package imports its own __init__ first; that edge is Python's, not a cycle of ours
    for name in graph:
        graph[name] -= {parent for parent in graph if name.startswith(parent + ".")}

    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in map(cycle_from, graph) if c]
    assert not cycles, cycles


def _listings(chapter, heading_word):
    """The chapter's definitions of the listings, in the section about one framework."""
    found, section = {}, ""
    for cell in nbformat.read(chapter, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            section = cell.source.splitlines()[0]
        if cell.cell_type == "code" and heading_word in section:
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef) and node.name in LISTINGS:
                    found.setdefault(node.name, []).append(node)
    return found


def _normalised(node: ast.FunctionDef) -> str:
    """The function without decorators (book_kit compiles in each mode itself) and without a
    ``learning_rate`` parameter (the chapter reads a global; book_kit's callers pass it)."""
    node = ast.parse(ast.unparse(node)).body[0]
    node.decorator_list = []
    args = node.args
    if args.args and args.args[-1].arg == "learning_rate":
        args.args.pop()
        args.defaults = args.defaults[:-1]
    return ast.dump(node)


@pytest.mark.parametrize("framework, heading_word", [
    ("tensorflow", "pure TensorFlow"), ("torch", "pure PyTorch"), ("jax", "pure JAX")])
def test_book_kits_listings_are_the_chapters(framework, heading_word):
    chapter = ROOT / "chapters" / "ch03_2_linear_classifier.ipynb"
    listings = _listings(chapter, heading_word)
    module = PACKAGE / "frameworks" / f"{framework}.py"
    ours = {n.name: n for n in ast.parse(module.read_text()).body
            if isinstance(n, ast.FunctionDef) and n.name in LISTINGS}
    assert ours and set(ours) <= set(listings), (set(ours), set(listings))
    for name, node in ours.items():
        assert _normalised(node) in {_normalised(n) for n in listings[name]}, \
            f"book_kit/frameworks/{framework}.py's {name} differs from the chapter's listing"


# (a framework's own module is left out: importing it imports its framework)
@pytest.mark.parametrize("path", [p for p in FILES if not (
    p.parent.name == "frameworks" and p.stem in frameworks.NAMES)], ids=lambda p: module_name(p))
def test_all_names_exist(path):
    module = importlib.import_module(module_name(path))
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"{module.__name__}.__all__ names {name!r}, not defined"


def test_tab_completion_offers_the_lazy_names_and_the_version_is_pyprojects():
    import tomllib

    names = dir(book_kit)
    assert {"plot_history", "load_mnist", "to_numpy", "plots", "datasets",
            "setup_notebook"} <= set(names)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert book_kit.__version__ == version
    assert not re.search(r'__version__\s*=\s*"\d+\.\d+', (PACKAGE / "__init__.py").read_text())
