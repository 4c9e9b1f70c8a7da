"""Every chapter notebook passes strict nbval on an imitation of another CPU, on every Keras
backend it declares.

A chapter lists its backends in its metadata: {"book_kit": {"backends": ["jax", "torch"]},
"stored_backend": "jax"}. Without that list it runs with KERAS_BACKEND as the environment has it.

The stored outputs must hold on any reader's machine. Each execution of a chapter has its own
purpose, none is repeated:

- test_browser.py runs every chapter whole, solutions included, twice in one kernel (Run All,
  one cell again, Run All again) with the frameworks made to use other CPU kernels
  (tests/cpu_profiles.py), on the backend its outputs were stored with, and compares every
  output with the stored one as strict nbval does;
- test_workbooks.py runs every chapter's workbook on this machine's own kernels: every output
  but the checks' is the chapter's stored one, on the stored backend;
- here, the backends a chapter declares besides its stored one run on the imitated other CPU
  (strict nbval, long decimals not compared: another backend's last digits are its own).
"""

import json
import os
import re

import pytest

from book_kit.notebook import convention, runner

from conftest import ROOT
from cpu_profiles import OTHER_CPU

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _cases():
    for path in CHAPTERS:
        meta = json.loads(path.read_text()).get("metadata", {}).get("book_kit", {})
        for backend in meta.get("backends") or []:
            if backend != runner.stored_backend(path):  # the browser test runs that one
                yield pytest.param(path, backend, marks=pytest.mark.slow,
                                   id=f"{path.stem}-{backend}-other-cpu")


def test_there_are_chapters():
    assert CHAPTERS, "chapters/ has no notebooks"


@pytest.mark.parametrize("notebook, backend", list(_cases()))
def test_chapter_passes_strict_nbval_on_another_cpu(notebook, backend):
    env = dict(os.environ, **OTHER_CPU)
    result = runner.run_nbval(notebook, backend=backend, cell_timeout=900, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_expected_exceptions_do_not_stop_run_all(notebook):
    """JupyterLab's Run All stops at the first error unless the cell is tagged raises-exception
    (nbval and nbclient read that tag too); the NBVAL_RAISES_EXCEPTION comment only tells nbval."""
    cells = json.loads(notebook.read_text())["cells"]
    commented = [c.get("id") for c in cells if c["cell_type"] == "code"
                 and "NBVAL_RAISES_EXCEPTION" in "".join(c["source"])]
    assert not commented, f"tag these cells raises-exception instead of the comment: {commented}"
    for cell in cells:
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        if convention.is_check_cell(cell):  # raises only on a wrong answer: in a workbook
            assert tagged and not errors, f"check cell {cell.get('id')}: tag it raises-exception"
            continue
        assert bool(errors) == tagged, f"cell {cell.get('id')}: error stored {bool(errors)}, " \
                                       f"tagged raises-exception {tagged}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_stored_outputs_are_a_second_run_alls(notebook):
    """A chapter is stored from its second *Run All* in one kernel (runner.execute(runs=2));
    nbval and the workbook test run it once in a fresh kernel and compare, so a chapter whose
    second Run All prints anything else (a claim that fails, other numbers) fails them."""
    meta = json.loads(notebook.read_text()).get("metadata", {}).get("book_kit", {})
    assert meta.get("runs") == 2, f"execute it with runner.execute({notebook.name!r}, runs=2)"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_chapter_reads_as_a_book(notebook):
    """Check cells are folded away under a one-line heading, outputs that vary are marked by
    nbval's tag alone, and the prose speaks of the book, not of the machinery that checks it."""
    cells = json.loads(notebook.read_text())["cells"]
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if convention.is_check_cell(cell):
            assert cell["metadata"].get("jupyter", {}).get("source_hidden"), cell["id"]
            heading = cells[index - 1]
            assert heading["cell_type"] == "markdown" and heading["id"] == cell["id"] + "-md"
        if cell["cell_type"] == "code":
            assert "NBVAL_IGNORE_OUTPUT" not in source, \
                f"{cell['id']}: tag it {convention.IGNORE_OUTPUT} instead of the comment"
        else:
            words = re.findall(r"\b(?:the tests|test suite|nbval|nbgrader|autograder|grader|"
                               r"graded)\b", source, re.I)
            assert not words, f"{cell['id']}: {words} in the prose"
