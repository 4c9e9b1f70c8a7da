"""Every chapter notebook passes strict nbval, once per Keras backend it declares.

A chapter lists its backends in its metadata: {"book_kit": {"backends": ["jax", "torch"]}}.
Without that list it runs once, with KERAS_BACKEND as the environment has it.
"""

import json

import pytest

from book_kit import nbrun
from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _cases():
    for path in CHAPTERS:
        backends = json.loads(path.read_text()).get("metadata", {}).get("book_kit", {}).get("backends")
        for backend in backends or [None]:
            yield pytest.param(path, backend, id=f"{path.stem}-{backend or 'default'}")


def test_there_are_chapters():
    assert CHAPTERS, "chapters/ has no notebooks"


@pytest.mark.parametrize("notebook, backend", list(_cases()))
def test_chapter_passes_strict_nbval(notebook, backend):
    result = nbrun.run_nbval(notebook, backend=backend, cell_timeout=900)
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
        assert bool(errors) == tagged, f"cell {cell.get('id')}: error stored {bool(errors)}, " \
                                       f"tagged raises-exception {tagged}"
