"""Preparing the graded notebook, and the one handed back as feedback.

For each submission (read once; the file itself is never written):

1. an unreadable file, one over the size limit, a file that is no notebook or another chapter's
   notebook is refused with that reason;
2. the chapter's check cells are put back by cell id (edited ones overwritten, deleted ones
   re-inserted), each with its hidden tests, the course's private tests for that exercise
   (``book_kit.grading.private_tests``), and a first line that sets the seed of its drawn inputs
   (``book_kit.grading.secrets``): the kernel sees them only when that cell runs; their
   ``expected=`` values are taken out (:func:`without_expected`);
3. outputs are cleared, and the chapter's demonstration-only cells (tagged
   ``skip-when-grading``: timing loops, say) are left out.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import os
from pathlib import Path

from book_kit.notebook import convention
from book_kit.publishing import workbook

CHECKS_WITH_EXPECTED = ("check", "check_frameworks")


class _NoExpected(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr in CHECKS_WITH_EXPECTED:
            for keyword in node.keywords:
                if keyword.arg == "expected":
                    keyword.value = ast.Constant(None)
        return node


def without_expected(source: str, cell_id: str = "?") -> str:
    """A check cell's code with every ``expected=...`` of its checks replaced by ``None``.

    When grading, the grader judges against the chapter's own answers, so the kernel needs no
    right answer; computed there, it would be the submission's to read (a replaced check could
    send ``expected`` as its answer). Comments go (the code is only run, never shown).

    Example
    -------
    >>> without_expected("exercise.check(f, expected=2 * 4, args=(4,))")
    'exercise.check(f, expected=None, args=(4,))'
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"check cell {cell_id} is not valid Python: {e}") from None
    return ast.unparse(_NoExpected().visit(tree))


def _restored_check_cell(chapter_cell, first_line: str = "", extra: str = "",
                         graded: bool = True):
    import nbformat

    source = chapter_cell.source
    if extra:  # before the cell's last line (``exercise.done(points)``)
        lines = source.rstrip("\n").split("\n")
        source = "\n".join(lines[:-1] + [extra.rstrip("\n"), lines[-1]])
    if graded:
        source = without_expected(source, chapter_cell.id)
    if first_line:
        source = f"{first_line}\n{source}"
    cell = nbformat.v4.new_code_cell(source)
    cell.id = chapter_cell.id
    cell.metadata = copy.deepcopy(chapter_cell.metadata)
    cell.metadata.pop("execution", None)
    return cell


def graded_notebook(chapter_nb, submission_nb, draws: dict[str, str] | None = None,
                    private: dict[str, str] | None = None, graded: bool = True):
    """The submission's cells, outputs cleared, with the chapter's check cells restored.

    Parameters
    ----------
    chapter_nb, submission_nb : nbformat.NotebookNode
        The chapter (its check cells, hidden tests included) and the submission.
    draws : dict, optional
        Exercise id -> the line that seeds its drawn inputs (first line of its check cell).
    private : dict, optional
        Exercise id -> the course's private tests, added to its check cell.
    graded : bool
        Check cells as the kernel runs them (:func:`without_expected`); False keeps them as
        the chapter writes them (for feedback).

    Returns
    -------
    nbformat.NotebookNode
        A new notebook; neither argument is changed.
    """
    draws, private = draws or {}, private or {}
    restored = {c.id: _restored_check_cell(c, draws.get(convention.exercise_id(c), ""),
                                           private.get(convention.exercise_id(c), ""), graded)
                for c in convention.check_cells(chapter_nb)}
    skipped = convention.skipped_when_grading(chapter_nb)
    cells = []
    for cell in submission_nb.cells:
        cid = cell.get("id")
        if cid in restored:
            cells.append(restored.pop(cid))
        elif cid == workbook.HEADER_ID or convention.is_check_cell(cell) or cid in skipped:
            continue  # the header, a check cell of some other chapter, or a demonstration
        else:
            cell = copy.deepcopy(cell)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            cells.append(cell)
    # deleted check cells go back after the chapter cell that preceded them
    chapter_order = [c.id for c in chapter_nb.cells]
    for cid in [c for c in chapter_order if c in restored]:
        position = len(cells)
        for earlier in reversed(chapter_order[: chapter_order.index(cid)]):
            index = next((i for i, c in enumerate(cells) if c.get("id") == earlier), None)
            if index is not None:
                position = index + 1
                break
        cells.insert(position, restored.pop(cid))
    nb = copy.deepcopy(submission_nb)
    nb.cells = cells
    return nb


def feedback_notebook(chapter_nb, submission_nb):
    """The notebook as graded, its check cells without their hidden tests (they stay hidden)."""
    nb = graded_notebook(chapter_nb, submission_nb, graded=False)
    for cell in convention.check_cells(nb):
        cell.source = workbook.strip_solutions(cell.source, cell.id)
    return nb


@dataclasses.dataclass
class Submission:
    """A submission, read once: its notebook, or why it cannot be graded."""
    path: Path
    nb: object = None
    problem: str | None = None


def belongs_to(chapter_nb, chapter_name: str, submission_nb) -> str | None:
    """None if the submission is this chapter's workbook, else why not."""
    declared = submission_nb.metadata.get("book_kit", {}).get("workbook", {}).get("chapter")
    if declared and declared != chapter_name:
        return f"this is the workbook of another chapter ({declared}), not {chapter_name}"
    chapter_ids = {c.id for c in chapter_nb.cells}
    shared = chapter_ids & {c.get("id") for c in submission_nb.cells}
    if len(shared) < max(1, len(chapter_ids) // 2):
        return (f"this notebook does not look like the workbook of {chapter_name} "
                f"(only {len(shared)} of its {len(chapter_ids)} cells are there)")
    return None


def read_submission(chapter_nb, chapter_name: str, path: Path, max_mb: float = 50) -> Submission:
    """Read a submission once: a :class:`Submission` with its notebook or the reason it has none.

    Parameters
    ----------
    chapter_nb : nbformat.NotebookNode
        The chapter it should be the workbook of.
    chapter_name : str
        The chapter's file name (in messages).
    path : Path
        The submission (only read).
    max_mb : float
        A larger file is refused unread (``--max-notebook-mb``).

    Returns
    -------
    Submission
    """
    import nbformat

    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as e:
        return Submission(path, problem=f"could not read the submission: {e}")
    if size > max_mb * 2**20:
        return Submission(path, problem=f"the submission is {size / 2**20:.0f} MB, over the "
                                        f"{max_mb:g} MB a notebook may have (clear its outputs "
                                        "and hand it in again)")
    try:
        data = path.read_bytes()
    except OSError as e:
        return Submission(path, problem=f"could not read the submission: {e}")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # not JSON, not a notebook, an unknown format version ...
        return Submission(path, problem=f"the submission is not a valid notebook: "
                                        f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    return Submission(path, nb, belongs_to(chapter_nb, chapter_name, nb))
