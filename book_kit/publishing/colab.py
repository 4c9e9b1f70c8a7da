"""The "Open in Colab" badge and the set-up cell at the top of every chapter and workbook.

A notebook opened on Google Colab from GitHub has none of this project: its first code cell
installs book_kit (with the pinned frameworks) when it runs on Colab, and does nothing anywhere
else. Colab is recognised as Colab recognises itself: its kernel imports ``google.colab`` at
start-up.

The badge is a small PNG of our own (``open-in-colab.png``), written into the markdown cell as a
``data:`` address: no image is fetched from the network, so an offline JupyterLab shows it too
(a cell *attachment* would do the same, but JupyterLab first asks the browser for the
``attachment:`` address, an error in its console). Its link opens the notebook's path in the
repository on Colab.
"""

from __future__ import annotations

import base64

from book_kit.frameworks import KERAS, NAMES

REPOSITORY = "book-kit/book_kit"  # on GitHub; pyproject's [project.urls] says the same (tested)
BRANCH = "main"
BADGE_CELL_ID = "colab-badge"
SETUP_CELL_ID = "colab-setup"
BADGE_FILE = "open-in-colab.png"  # beside this module


def badge_png() -> bytes:
    """The badge image (PNG, 124 x 22), as stored beside this module."""
    from importlib.resources import files

    return files("book_kit.publishing").joinpath(BADGE_FILE).read_bytes()


SETUP_SOURCE = f"""\
# On Google Colab, install book_kit and the frameworks it pins (nothing happens anywhere else).
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "book_kit[all] @ git+https://github.com/{REPOSITORY}@{BRANCH}"], check=True)
    loaded = sorted({{{", ".join(f'"{name}"' for name in (*NAMES, KERAS))}}} & set(sys.modules))
    if loaded:
        print("Installed. Restart the session (Runtime > Restart session) and run the notebook "
              "again: Colab had already loaded", ", ".join(loaded))"""


def colab_url(path: str) -> str:
    """The address that opens ``path`` (relative to the repository's root) on Colab.

    Parameters
    ----------
    path : str
        The notebook's path in the repository, e.g.
        ``"chapters/ch03_1_tensors_and_gradients.ipynb"``.

    Returns
    -------
    str
        ``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>``.

    Example
    -------
    >>> colab_url("notebooks/ch03_2_linear_classifier.ipynb")
    'https://colab.research.google.com/github/book-kit/book_kit/blob/main/notebooks/ch03_2_linear_classifier.ipynb'
    """
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def badge_cell(path: str):
    """A markdown cell holding the badge that opens ``path`` on Colab (the PNG inline).

    Parameters
    ----------
    path : str
        The notebook's path in the repository.

    Returns
    -------
    nbformat.NotebookNode
        A markdown cell with id ``colab-badge``.

    Example
    -------
    >>> badge_cell("chapters/ch03_5_many_devices.ipynb").source[:28]
    '[![Open in Colab](data:image'
    """
    import nbformat

    image = "data:image/png;base64," + base64.b64encode(badge_png()).decode("ascii")
    cell = nbformat.v4.new_markdown_cell(f"[![Open in Colab]({image})]({colab_url(path)})",
                                         id=BADGE_CELL_ID)
    return cell


def setup_cell():
    """The first code cell: installs book_kit on Colab, does nothing elsewhere.

    Returns
    -------
    nbformat.NotebookNode
        A code cell with id ``colab-setup`` and no outputs.

    Example
    -------
    >>> "google.colab" in setup_cell().source
    True
    """
    import nbformat

    return nbformat.v4.new_code_cell(SETUP_SOURCE, id=SETUP_CELL_ID)


def with_colab_cells(nb, path: str):
    """``nb`` with the badge (for ``path``) first and the set-up cell, replacing older ones.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A chapter or workbook; changed in place and returned. The set-up cell goes after its
        title (its first markdown cell), folded away: still its first code cell.
    path : str
        The notebook's path in the repository, which the badge opens.

    Returns
    -------
    nbformat.NotebookNode
        ``nb``, starting with the badge cell.

    Example
    -------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 3.1 Tensors"),
    ...                                      nbformat.v4.new_code_cell("import book_kit")])
    >>> nb = with_colab_cells(nb, "chapters/ch03_1_tensors_and_gradients.ipynb")
    >>> [c.cell_type for c in nb.cells], nb.cells[0].id, nb.cells[2].id
    (['markdown', 'markdown', 'code', 'code'], 'colab-badge', 'colab-setup')
    """
    setup = next((c for c in nb.cells if c.get("id") == SETUP_CELL_ID), None) or setup_cell()
    setup.source = SETUP_SOURCE
    setup.metadata.setdefault("jupyter", {})["source_hidden"] = True  # out of the reader's way
    rest = [c for c in nb.cells if c.get("id") not in (BADGE_CELL_ID, SETUP_CELL_ID)]
    # after the title (the first markdown cell) and still the first code cell: Colab runs it
    # before anything imports book_kit
    top = 1 if rest and rest[0].cell_type == "markdown" else 0
    nb.cells = [badge_cell(path), *rest[:top], setup, *rest[top:]]
    return nb
