"""The reader's working copies of the chapters and workbooks, so reading never changes the book.

JupyterLab saves a notebook as it runs; ``make lab`` therefore serves copies in a folder of the
reader's own (``my-work/`` by default, git-ignored), made from ``chapters/`` and ``notebooks/``
on first use and never overwritten after that. ``fresh`` replaces one copy with a new one and
keeps the old one beside it, so nothing a reader wrote is lost.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

DEFAULT_DIR = "my-work"
# folder in the repository -> folder in the working copy
SOURCES = {"chapters": "chapters", "notebooks": "workbooks"}


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
    >>> prepare(".", "my-work")
    [PosixPath('my-work/chapters/ch03_1_tensors_and_gradients.ipynb'), ...]
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


def fresh(name: str, root: str | Path = ".", work: str | Path = DEFAULT_DIR) -> tuple[Path, Path | None]:
    """Replace one working copy with a fresh copy of the book's; the old one is kept, renamed.

    Parameters
    ----------
    name : str
        A notebook's name or the start of it (``ch03_1``, ``ch03_1_tensors_and_gradients.ipynb``);
        ``workbooks/ch03_1`` picks the workbook rather than the chapter.

    Returns
    -------
    (Path, Path or None)
        The fresh copy, and where the old one went (None if there was none).

    Example
    -------
    >>> fresh("ch03_2")
    (PosixPath('my-work/chapters/ch03_2_linear_classifier.ipynb'),
     PosixPath('my-work/chapters/ch03_2_linear_classifier.2026-11-24-2130.ipynb'))
    """
    root, folders = Path(root), dict(SOURCES)
    if "/" in name:
        target, name = name.split("/", 1)
        folders = {s: t for s, t in SOURCES.items() if t == target}
        if not folders:
            raise ValueError(f"{target!r} is not a folder of working copies; use "
                             f"{' or '.join(SOURCES.values())}")
    matches = [n for source in folders for n in sorted((root / source).glob("*.ipynb"))
               if n.name == name or n.name.startswith(name)]
    if len(matches) != 1:
        known = ", ".join(n.stem for n in sorted((root / "chapters").glob("*.ipynb")))
        raise ValueError(f"{name!r} matches {len(matches) or 'no'} notebooks"
                         f"{' (add chapters/ or workbooks/ in front)' if matches else ''}; "
                         f"the chapters are {known}")
    book = matches[0]
    copy = Path(root) / work / folders[book.parent.name] / book.name
    kept = None
    if copy.exists():
        kept = copy.with_name(f"{book.stem}.{time.strftime('%Y-%m-%d-%H%M%S')}.ipynb")
        copy.rename(kept)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(book, copy)
    return copy, kept
