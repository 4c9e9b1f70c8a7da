"""The companion website: the executed chapters as HTML, built by Sphinx with myst-nb.

Nothing is re-executed: myst-nb renders the outputs stored in ``chapters/``. Before Sphinx reads
them, each chapter is copied into a build folder and adjusted for a web page:

- the Colab set-up cell goes (it installs book_kit on Colab; a web page runs nothing), the badge
  stays;
- a side-by-side source view (``compare.show_source("...")``) becomes framework tabs
  (sphinx-design's ``tab-set``: TensorFlow / PyTorch / JAX);
- an interactive widget, which needs a running kernel, becomes its stored picture and a line
  saying so (and the notebook's saved widget state goes, so no widget script is fetched from the
  network).

MathJax is served from the site itself (sphinx-mathjax-offline), so the site works offline too.

Usage: ``make site`` or ``python -m book_kit.publishing.site [--out build/site]``; open
``build/site/index.html``.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

from book_kit import frameworks
from book_kit.publishing import colab

ROOT = Path(__file__).resolve().parents[2]  # the checkout: book_kit/publishing/site.py
DEFAULT_OUT = ROOT / "build" / "site"
_SHOW_SOURCE = re.compile(r"""compare\.show_source\(\s*["'](\w+)["']\s*\)""")
_WIDGET = "application/vnd.jupyter.widget-view+json"

CONF = '''\
# Written by book_kit/publishing/site.py for each build; edit that file, not this one.
project = "book_kit: chapter 3, in Python"
author = "book_kit"
extensions = ["myst_nb", "sphinx_design", "sphinx-mathjax-offline"]
nb_execution_mode = "off"  # the chapters' stored outputs, as committed
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 4
html_theme = "sphinx_book_theme"
html_title = "book_kit — chapter 3 companion"
html_theme_options = {"show_toc_level": 2, "home_page_in_toc": True}
# a first visit has no stored light/dark choice, and the theme logs an error unless given one
html_context = {"default_mode": "light"}
html_favicon = "favicon.svg"  # browsers ask for one; without it, a 404 in the console
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type"]
'''

FAVICON = ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect width='16' "
           "height='16' rx='3' fill='#f9ab00'/><text x='3' y='12' font-size='10' "
           "font-family='sans-serif' fill='#333'>3</text></svg>\n")

INDEX = """\
# book_kit: chapter 3 of *Deep Learning with R / with Python*, in Python

The companion notebooks of chapter 3, "Introduction to TensorFlow, PyTorch, JAX and Keras", as
they ran: every output on these pages is the one stored in the repository's `chapters/`, checked
by the test suite. Sections carry the book's numbers. To run them yourself, use each page's
"Open in Colab" badge, or clone the repository and run `make lab`.

```{{toctree}}
:maxdepth: 1
:caption: Chapters

{chapters}
```

```{{toctree}}
:maxdepth: 1
:caption: For readers of the R edition

crosswalk
```
"""


def _tabs(function: str) -> str:
    """A sphinx-design tab set with ``function``'s source in each framework module."""
    items = []
    for name in frameworks.NAMES:
        code = frameworks.source(name, function).rstrip("\n")
        items.append(f":::{{tab-item}} {frameworks.title(name)}\n:sync: {name}\n\n"
                     f"```python\n{code}\n```\n:::")
    return "::::{tab-set}\n" + "\n".join(items) + "\n::::"


def web_page(nb):
    """A copy of a chapter notebook, adjusted for the website (see the module's docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed chapter (not modified).

    Returns
    -------
    nbformat.NotebookNode
        The page's notebook.

    Example
    -------
    >>> import nbformat
    >>> # needs the book's chapters/ (run from the repository)
    >>> page = web_page(  # doctest: +SKIP
    ...     nbformat.read("chapters/ch03_1_tensors_and_gradients.ipynb", 4))
    >>> nb = colab.with_colab_cells(nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("# 3.1 Tensors")]), "chapters/ch03_1.ipynb")
    >>> page = web_page(nb)   # no Colab set-up cell; the badge's image is a file beside the page
    >>> len(nb.cells), len(page.cells), page.cells[0].source[:37]
    (3, 2, '[![Open in Colab](open-in-colab.png)]')
    """
    import nbformat

    page = copy.deepcopy(nb)
    page.metadata.pop("widgets", None)
    cells = []
    for cell in page.cells:
        if cell.get("id") == colab.SETUP_CELL_ID:
            continue
        if cell.get("id") == colab.BADGE_CELL_ID:  # the image as a file beside the page
            cell.source = re.sub(r"\(data:image/png;base64,[^)]*\)", f"({colab.BADGE_FILE})",
                                 cell.source)
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        shown = _SHOW_SOURCE.search(cell.source)
        if shown:
            cell.outputs = []
            cells.append(nbformat.v4.new_markdown_cell(_tabs(shown.group(1)),
                                                       id=f"{cell.id}-tabs"))
        elif any(_WIDGET in output.get("data", {}) for output in cell.outputs):
            # the widget needs a kernel: its stored picture (the explorer's start) stays
            for output in cell.outputs:
                output.get("data", {}).pop(_WIDGET, None)
            cell.outputs = [o for o in cell.outputs if o.get("data", True)]
            cells.append(nbformat.v4.new_markdown_cell(
                "*An interactive widget appears here when you run the notebook in Jupyter.*",
                id=f"{cell.id}-widget"))
    page.cells = cells
    return page


def prepare(source: Path, chapters: list[Path]) -> Path:
    """Write the Sphinx project (conf.py, index, crosswalk, the pages) into ``source``.

    Parameters
    ----------
    source : Path
        An empty or earlier build folder; replaced.
    chapters : list of Path
        The executed chapter notebooks, in reading order.

    Returns
    -------
    Path
        ``source``.
    """
    import nbformat

    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    (source / "conf.py").write_text(CONF, encoding="utf-8")
    (source / colab.BADGE_FILE).write_bytes(colab.badge_png())
    (source / "favicon.svg").write_text(FAVICON, encoding="utf-8")
    for chapter in chapters:
        nbformat.write(web_page(nbformat.read(chapter, as_version=4)), source / chapter.name)
    names = "\n".join(chapter.stem for chapter in chapters)
    (source / "index.md").write_text(INDEX.format(chapters=names), encoding="utf-8")
    # its links name the notebooks beside it, which on the site are the pages beside it
    shutil.copy(ROOT / "chapters" / "README.md", source / "crosswalk.md")
    return source


def build(out: Path = DEFAULT_OUT, *, quiet: bool = True) -> Path:
    """Build the website from ``chapters/`` into ``out`` (HTML) and return ``out``.

    Parameters
    ----------
    out : Path
        Where the HTML goes (``out/index.html``); the Sphinx project is written beside it, in
        ``out.parent / (out.name + "-source")``.
    quiet : bool
        Print only warnings and errors.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    RuntimeError
        If Sphinx reports an error or a warning (a broken page is not published).

    Example
    -------
    >>> build(Path("build/site"))   # runs Sphinx over every chapter: minutes   # doctest: +SKIP
    """
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    chapters = sorted((ROOT / "chapters").glob("ch*.ipynb"))
    source = prepare(out.parent / f"{out.name}-source", chapters)
    args = ["-b", "html", "-W", "--keep-going", "-E", str(source), str(out)]
    if quiet:
        args.insert(0, "-q")
    if build_main(args) != 0:
        raise RuntimeError(f"Sphinx could not build the site from {source}: see its messages "
                           "above.")
    return out
