"""Every chapter and workbook opens on Colab from its badge, and its first code cell installs
book_kit there (a simulated ``google.colab`` module) and does nothing anywhere else."""

import base64
import re
import subprocess
import sys
import tomllib
import types

import nbformat
import pytest

from book_kit.publishing import colab

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_badge_opens_this_notebook_and_the_setup_cell_comes_first(path):
    nb = nbformat.read(path, as_version=4)
    badge = nb.cells[0]
    relative = path.relative_to(ROOT).as_posix()
    assert badge.id == colab.BADGE_CELL_ID and badge.cell_type == "markdown"
    assert f"]({colab.colab_url(relative)})" in badge.source
    image = re.search(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", badge.source)
    assert image and base64.b64decode(image.group(1)) == colab.badge_png()
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.id == colab.SETUP_CELL_ID and first_code.source == colab.SETUP_SOURCE
    assert first_code.outputs == []  # ran in the chapter's own run, and printed nothing
    assert first_code.metadata["jupyter"]["source_hidden"]  # folded: plumbing, not the book
    assert all(c.cell_type == "markdown" for c in nb.cells[:nb.cells.index(first_code)])


def test_the_repository_address_is_the_one_pyproject_gives():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Repository"] == f"https://github.com/{colab.REPOSITORY}"
    assert colab.colab_url("chapters/x.ipynb") == (
        f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/main/chapters/x.ipynb")


def _run_setup(monkeypatch, *, on_colab: bool, loaded=()):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append((args, kw)))
    if on_colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    for name in ("tensorflow", "torch", "jax", "keras"):
        if name in loaded:
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
        else:
            monkeypatch.delitem(sys.modules, name, raising=False)
    exec(compile(colab.SETUP_SOURCE, "<colab-setup>", "exec"), {})
    return calls


def test_on_colab_the_setup_cell_installs_book_kit_with_its_pins(monkeypatch, capsys):
    calls = _run_setup(monkeypatch, on_colab=True)
    ((args, kwargs),) = calls
    assert args[:4] == [sys.executable, "-m", "pip", "install"] and kwargs == {"check": True}
    assert args[-1] == f"book_kit[all] @ git+https://github.com/{colab.REPOSITORY}@main"
    assert capsys.readouterr().out == ""  # nothing loaded yet: no restart needed


def test_on_colab_with_a_framework_already_loaded_it_says_to_restart(monkeypatch, capsys):
    _run_setup(monkeypatch, on_colab=True, loaded=("torch",))
    out = capsys.readouterr().out
    assert "Restart the session" in out and "torch" in out


def test_anywhere_else_the_setup_cell_does_nothing(monkeypatch, capsys):
    assert _run_setup(monkeypatch, on_colab=False) == []
    assert capsys.readouterr().out == ""


def test_a_workbook_gets_its_own_badge_and_keeps_its_header_second():
    from book_kit.publishing import workbook

    chapter = ROOT / "chapters" / "ch03_2_linear_classifier.ipynb"
    nb = nbformat.reads(workbook.workbook_text(chapter), as_version=4)
    assert [c.id for c in nb.cells[:4]] == [colab.BADGE_CELL_ID, workbook.HEADER_ID, "title",
                                            colab.SETUP_CELL_ID]
    assert "/notebooks/ch03_2_linear_classifier.ipynb)" in nb.cells[0].source
    assert "Workbook: Chapter 3 (part 2)" in nb.cells[1].source
