"""Chapter notebooks -> student workbooks.

A chapter marks its solutions and hidden tests as :mod:`book_kit.notebook.convention` says
(nothing here names a chapter, so a new one needs no change): the workbook gets
``raise NotImplementedError()`` where a solution was, at the same indentation, so an unanswered
exercise fails at its check, not before; hidden-test lines are dropped (grading restores them
with the check cells).
"""

from __future__ import annotations

import copy
from pathlib import Path

from book_kit.notebook.convention import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    check_cells,
    exercise_name,
)
from book_kit.publishing import colab

HEADER_ID = "book-kit-workbook-header"

HEADER = """\
# Workbook: {title}

This is the student workbook of `chapters/{chapter}`. Run the cells from the top. In each
exercise, replace `raise NotImplementedError()` with your code and run that cell; then run the
**check** cell below it (its code is folded away: click the three dots to read it):

- `○ ... not attempted yet` is where every exercise starts: nothing is wrong yet;
- `✔ ... right on the shown example` means your answer is right on the example the check shows;
  when your work is graded it is also checked on inputs you have not seen (hidden tests), so
  make it right for any input, not just that one;
- otherwise the check tells you what is wrong (and often gives a hint). Change your code, run it,
  run the check again.

Do not edit the check cells: when your work is graded they are put back as they were.
"""


class WorkbookError(ValueError):
    """A chapter's solution markers are not balanced; the message names the cell."""


def strip_solutions(source: str, cell_id: str = "?") -> str:
    """Replace solution blocks by ``raise NotImplementedError()``; drop hidden-test blocks."""
    out, mode, begin_line = [], None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if mode:
                raise WorkbookError(f"cell {cell_id!r}, line {number}: {marker!r} inside an open "
                                    f"{mode!r} block (line {begin_line}); close it first.")
            mode, begin_line = marker, number
            if marker == BEGIN_SOLUTION:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}raise NotImplementedError()")
            continue
        if marker in (END_SOLUTION, END_HIDDEN):
            expected = BEGIN_SOLUTION if marker == END_SOLUTION else BEGIN_HIDDEN
            if mode != expected:
                raise WorkbookError(f"cell {cell_id!r}, line {number}: {marker!r} without a "
                                    f"matching {expected!r}.")
            mode = None
            continue
        if mode is None:
            out.append(line)
    if mode:
        raise WorkbookError(f"cell {cell_id!r}: {mode!r} on line {begin_line} is never closed.")
    return "\n".join(out)


def make_workbook(chapter_nb, chapter_name: str):
    """A new workbook notebook (the chapter is not modified)."""
    import nbformat

    nb = copy.deepcopy(chapter_nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, cell.get("id", "?"))
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), chapter_name)
    header = nbformat.v4.new_markdown_cell(HEADER.format(title=title, chapter=chapter_name))
    header.id = HEADER_ID
    has_badge = any(c.get("id") == colab.BADGE_CELL_ID for c in nb.cells)
    if has_badge:  # the workbook's badge opens the workbook, not the chapter it was made from
        colab.with_colab_cells(nb, f"notebooks/{chapter_name}")
    nb.cells.insert(1 if has_badge else 0, header)
    meta = nb.metadata.setdefault("book_kit", {})
    meta["workbook"] = {"chapter": chapter_name,
                        "exercises": [exercise_name(c.id) for c in check_cells(nb)]}
    return nb


def workbook_text(chapter_path: str | Path) -> str:
    """The workbook for a chapter file, as the exact text ``book-kit student`` writes."""
    import nbformat

    chapter_path = Path(chapter_path)
    nb = nbformat.read(chapter_path, as_version=4)
    workbook = make_workbook(nb, chapter_path.name)
    nbformat.validate(workbook)
    return nbformat.writes(workbook) + "\n"


def write_workbooks(chapters: list[Path], out_dir: Path) -> list[tuple[Path, bool]]:
    """Write each chapter's workbook into ``out_dir``; returns (path, changed) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        target = out_dir / Path(chapter).name
        text = workbook_text(chapter)
        changed = not target.exists() or target.read_text(encoding="utf-8") != text
        if changed:
            target.write_text(text, encoding="utf-8")
        written.append((target, changed))
    return written
