"""Every ``>>>`` example in book_kit's docstrings runs, as doctest runs it, unless marked
``# doctest: +SKIP`` with its reason beside it (it needs a framework, a kernel, a sandbox, the
network or a chapter's variables). An example is documentation a reader copies: a wrong one is
a bug. The modules of one framework (frameworks/jax.py, ...) import it, so their examples are
read from the source, not run: each must be marked."""

import ast
import doctest
import importlib

import numpy as np
import pytest

import book_kit

from conftest import PACKAGE, ROOT, module_name

FRAMEWORK_MODULES = {PACKAGE / "frameworks" / f"{name}.py" for name in ("jax", "tensorflow",
                                                                         "torch")}
FILES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL


@pytest.mark.parametrize("path", [p for p in FILES if p not in FRAMEWORK_MODULES],
                         ids=module_name)
def test_the_examples_run(path, tmp_path, monkeypatch):
    module = importlib.import_module(module_name(path))
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    failures = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        test.globs = {**vars(module), "book_kit": book_kit, "np": np}
        runner.run(test, out=failures.append)
    assert not failures, "".join(failures)


def _docstring_examples(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            text = ast.get_docstring(node, clean=True)
            if text:
                yield from doctest.DocTestParser().get_examples(text)


@pytest.mark.parametrize("path", sorted(FRAMEWORK_MODULES), ids=module_name)
def test_a_frameworks_examples_are_marked(path):
    unmarked = [e.source for e in _docstring_examples(path) if not e.options.get(doctest.SKIP)]
    assert not unmarked, f"mark these +SKIP (they import the framework): {unmarked}"


def test_skipped_examples_say_why():
    """A ``+SKIP`` carries its reason: a comment before the directive on its line
    (``>>> import jax   # needs JAX   # doctest: +SKIP``), or on the example's line before."""
    unexplained = []
    for path in FILES:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "doctest: +SKIP" in line:
                code = line.split("doctest: +SKIP", 1)[0].rstrip().removesuffix("#")
                before = lines[number - 1] if number else ""
                if "#" not in code and "#" not in before:
                    unexplained.append(f"{path.relative_to(ROOT)}:{number + 1}")
    assert not unexplained, "say why beside these +SKIP: " + ", ".join(unexplained)
