"""The reader's working copies of the chapters and workbooks, so reading never changes the book.

JupyterLab saves a notebook as it runs; ``make lab`` therefore serves copies in a folder of the
reader's own (``my-work/`` by default, git-ignored), made from ``chapters/`` and ``notebooks/``
on first use and never overwritten after that. ``fresh`` replaces one copy with a new one and
keeps the old one in a ``kept/`` folder beside it, the date first in its name, so nothing a reader
wrote is lost and JupyterLab's file browser (which cuts long names at the end) tells them apart.
``lab_settings`` switches off JupyterLab's news pop-up for the lab ``make lab`` starts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import NamedTuple

DEFAULT_DIR = "my-work"
# folder in the repository -> folder in the working copy
SOURCES = {"chapters": "chapters", "notebooks": "workbooks"}
# where fresh() puts the copy it replaces, inside that copy's folder
KEPT = "kept"


class Fresh(NamedTuple):
    """What :func:`fresh` did: the fresh copy, where the old one went, and a note for the reader."""

    copy: Path
    kept: Path | None
    note: str = ""


def prepare(root: str | Path = ".", work: str | Path = DEFAULT_DIR) -> list[Path]:
    """Copy every chapter and workbook (and the pages beside them) that has no working copy yet;
    never touch existing ones.

    Parameters
    ----------
    root : path
        The repository (with ``chapters/`` and ``notebooks/``).
    work : path
        The working folder (relative paths are taken inside ``root``).

    Returns
    -------
    list of Path
        The copies made now (empty when every one already existed).

    Example
    -------
    >>> Path("chapters").mkdir(exist_ok=True)   # a repository with one chapter
    >>> _ = Path("chapters/ch03_1_tensors_and_gradients.ipynb").write_text("{}")
    >>> prepare(".", "my-work")
    [PosixPath('my-work/chapters/ch03_1_tensors_and_gradients.ipynb')]
    >>> prepare(".", "my-work")   # every copy exists already
    []
    """
    root = Path(root)
    work = root / work
    made = []
    for source, target in SOURCES.items():
        # the notebooks, and the pages beside them (chapters/README.md: the R <-> Python table)
        for notebook in sorted([*(root / source).glob("*.ipynb"), *(root / source).glob("*.md")]):
            copy = work / target / notebook.name
            if not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(notebook, copy)
                made.append(copy)
    return made


def _book_notebook(name: str, root: Path) -> tuple[Path, str]:
    """The book's notebook ``name`` names, and a note when a bare name also names a workbook."""
    folders = dict(SOURCES)
    if "/" in name:
        target, name = name.split("/", 1)
        folders = {s: t for s, t in SOURCES.items() if t == target or s == target}
        if not folders:
            raise ValueError(f"{target!r} is not a folder of working copies; use "
                             f"{' or '.join(SOURCES.values())}")
    matches = {source: [n for n in sorted((root / source).glob("*.ipynb"))
                        if n.name == name or n.name.startswith(name)] for source in folders}
    chapters, workbooks = matches.get("chapters", []), matches.get("notebooks", [])
    note = ""
    if len(chapters) == 1 and len(workbooks) == 1 and len(folders) == 2:
        # a bare name means the chapter (what make lab opens); say how to name its workbook
        note = (f"{name!r} names a chapter and a workbook: this is the chapter; for the workbook, "
                f"book-kit workspace --fresh workbooks/{name}")
        return chapters[0], note
    found = [n for source in folders for n in matches[source]]
    if len(found) != 1:
        known = ", ".join(n.stem for n in sorted((root / "chapters").glob("*.ipynb")))
        raise ValueError(f"{name!r} matches {len(found) or 'no'} notebooks"
                         f"{': name more of it' if found else ''}; the chapters are {known}")
    return found[0], note


def fresh(name: str, root: str | Path = ".", work: str | Path = DEFAULT_DIR) -> Fresh:
    """Replace one working copy with a fresh copy of the book's; the old one is kept.

    The old copy goes to a ``kept/`` folder beside it, named with the date and time first
    (``my-work/chapters/kept/2026-12-01 153012 ch03_1_tensors_and_gradients.ipynb``), so
    JupyterLab's file browser, which cuts long names at the end, tells the kept copies apart from
    the fresh one and from each other.

    Parameters
    ----------
    name : str
        A notebook's name or the start of it (``ch03_1``, ``ch03_1_tensors_and_gradients.ipynb``).
        A bare name picks the chapter even where a workbook starts the same (the note says so);
        ``workbooks/ch03_1`` picks the workbook, ``chapters/ch03_1`` the chapter.
    root : path
        The repository (with ``chapters/`` and ``notebooks/``).
    work : path
        The working folder (relative paths are taken inside ``root``).

    Returns
    -------
    Fresh
        ``(copy, kept, note)``: the fresh copy, where the old one went (None if there was none),
        and a sentence for the reader ("" if there is nothing to say).

    Raises
    ------
    ValueError
        The name matches no notebook, or several chapters (or several workbooks).

    Example
    -------
    >>> Path("chapters").mkdir(exist_ok=True)   # a repository with one chapter
    >>> _ = Path("chapters/ch03_2_linear_classifier.ipynb").write_text("{}")
    >>> fresh("ch03_2")   # no working copy yet: nothing to keep
    Fresh(copy=PosixPath('my-work/chapters/ch03_2_linear_classifier.ipynb'), kept=None, note='')
    >>> fresh("ch03_2")   # the copy made just now is kept, under the date and time
    Fresh(copy=PosixPath('my-work/chapters/ch03_2_linear_classifier.ipynb'),
          kept=PosixPath('my-work/chapters/kept/... ch03_2_linear_classifier.ipynb'),
          note='')
    """
    root = Path(root)
    book, note = _book_notebook(name, root)
    copy = root / work / SOURCES[book.parent.name] / book.name
    kept = None
    if copy.exists():
        kept_dir = copy.parent / KEPT
        kept_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H%M%S")
        kept, n = kept_dir / f"{stamp} {book.name}", 1
        while kept.exists():  # twice within a second
            n += 1
            kept = kept_dir / f"{stamp}-{n} {book.name}"
        copy.rename(kept)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(book, copy)
    return Fresh(copy, kept, note)


# JupyterLab asks on every page whether to fetch official Jupyter news until it is answered; its
# notification plugin's fetchNews "false" answers it (the announcements plugin reads it).
NEWS_OFF = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}


def lab_settings(prefix: str | os.PathLike | None = None) -> Path:
    """Switch off JupyterLab's news pop-up in this environment's JupyterLab; ``make lab`` calls it.

    Writes :data:`NEWS_OFF` into ``overrides.json`` of the environment's JupyterLab application
    folder (``$JUPYTERLAB_DIR``, else ``<prefix>/share/jupyter/lab``, as ``jupyter lab path``
    shows it), JupyterLab's documented place for an installation's default settings. Overrides
    are defaults: the user's own settings (``~/.jupyter/lab/user-settings``) are neither changed
    nor overridden, and other entries of the file are kept, as is a fetchNews already there.

    Parameters
    ----------
    prefix : path, optional
        The environment's prefix (default: ``sys.prefix``).

    Returns
    -------
    Path
        The overrides file.

    Raises
    ------
    ValueError
        The file exists but is not JSON (it is left as it is).

    Example
    -------
    >>> # this environment's file: the path depends on the machine
    >>> lab_settings()   # doctest: +SKIP
    PosixPath('/home/reader/book_kit/.venv/share/jupyter/lab/settings/overrides.json')
    >>> path = lab_settings("my-env")   # another environment, by its prefix
    >>> path
    PosixPath('my-env/share/jupyter/lab/settings/overrides.json')
    >>> print(path.read_text(), end="")
    {
      "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false"
      }
    }
    """
    app_dir = os.environ.get("JUPYTERLAB_DIR") if prefix is None else None
    path = Path(app_dir or Path(prefix or sys.prefix) / "share" / "jupyter" / "lab") / "settings" \
        / "overrides.json"
    settings = {}
    if path.exists():
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{path} is not JSON ({e}); add {json.dumps(NEWS_OFF)} to it "
                             "yourself") from None
    changed = False
    for plugin, values in NEWS_OFF.items():
        for key, value in values.items():
            if key not in settings.setdefault(plugin, {}):
                settings[plugin][key] = value
                changed = True
    if changed or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path
