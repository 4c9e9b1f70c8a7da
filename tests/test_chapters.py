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
