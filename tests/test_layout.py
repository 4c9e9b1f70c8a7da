"""The layout: a package per concern, one import path per public name, frameworks kept in
frameworks/, and the reader's library at the top (book_kit/__init__.py)."""

import ast
import json
import re

import book_kit

from conftest import PACKAGE, ROOT, module_name

FILES = sorted(PACKAGE.rglob("*.py"))
FRAMEWORK_IMPORTS = {"tensorflow", "torch", "jax", "jaxlib"}


def _all(path) -> list[str]:
    """The names a module lists in ``__all__`` (read from its source: nothing is imported)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
    return []


def test_the_top_holds_the_readers_library_and_the_packages():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert len(modules) <= 16, modules
    assert set(packages) == {"cli", "exercises", "frameworks", "grading", "notebook", "plots",
                             "publishing"}
    for package in packages:  # each says what it holds
        assert ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))


def test_no_public_name_is_listed_in_two_modules():
    homes: dict[str, list[str]] = {}
    for path in FILES:
        for name in _all(path):
            homes.setdefault(name, []).append(module_name(path))
    # the reader's names are book_kit's: their modules do not list them again
    for name in book_kit.__all__:
        homes.setdefault(name, [])
        if "book_kit" not in homes[name]:
            homes[name].append("book_kit")
    twice = {name: where for name, where in homes.items() if len(where) > 1}
    assert not twice, f"listed in two modules' __all__: {twice}"


def test_every_readers_name_loads_from_its_module():
    for name in book_kit.__all__:
        assert getattr(book_kit, name) is not None, name


def test_no_framework_is_imported_outside_frameworks():
    found = []
    for path in FILES:
        if path.parent.name == "frameworks":
            continue
        for node in ast.walk(ast.parse(path.read_text())):  # inside functions too
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                      if n.split(".")[0] in FRAMEWORK_IMPORTS]
    assert not found, "import these through book_kit.frameworks:\n" + "\n".join(found)


def test_no_private_framework_api_is_used():
    private = [f"{p.relative_to(ROOT)}" for p in FILES if re.search(r"\bjax\._src\b|\btorch\._C\b"
                                                                    r"|tensorflow\.python\b",
                                                                    p.read_text())]
    assert not private, private


def _code_cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            yield "".join(cell["source"])


# Spellings the chapters, workbooks and README must not use: the reader's names have one path.
_SECOND_PATHS = re.compile(
    r"book_kit\.(plots|frameworks\.arrays|synthetic|datasets)\.(" + "|".join(
        n for n in book_kit.__all__ if not n.startswith("_")) + r")\b"
    r"|from book_kit\.(plots\.\w+|frameworks\.arrays|synthetic|datasets) import [^\n]*\b("
    + "|".join(n for n in book_kit.__all__ if not n.startswith("_")) + r")\b")


def test_chapters_workbooks_and_readme_use_one_spelling_and_read_no_environment():
    notebooks = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        for source in _code_cells(path):
            assert not _SECOND_PATHS.search(source), (path.name, source[:200])
            assert "os.environ" not in source, (path.name, source[:200])
    assert not _SECOND_PATHS.search((ROOT / "README.md").read_text())
