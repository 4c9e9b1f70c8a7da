"""How a chapter notebook marks its exercises, in one place (as nbgrader's ``nbgraderformat``).

- A solution sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, inside a
  function body (workbooks replace it; :mod:`book_kit.publishing.workbook`).
- Lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are hidden tests: dropped
  from workbooks, put back when grading.
- A check cell's id ends in ``-check`` (``ex1-check``); its exercise is its nbgrader
  ``grade_id``, else the id without the suffix (``ex1``).
- Tags: ``raises-exception`` on check cells (*Run All* goes on past a wrong answer),
  ``nbval-ignore-output`` on cells whose output differs run to run (timings), and
  ``skip-when-grading`` on cells that only demonstrate (timing loops): grading leaves them out.
"""

from __future__ import annotations

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_SUFFIX = "-check"
RAISES_EXCEPTION = "raises-exception"  # JupyterLab's and nbval's tag
IGNORE_OUTPUT = "nbval-ignore-output"  # nbval's tag


def tags(cell) -> list[str]:
    """A cell's tags (``[]`` when it has none).

    Example
    -------
    >>> tags({"metadata": {"tags": ["raises-exception"]}})
    ['raises-exception']
    """
    return list(cell.get("metadata", {}).get("tags", []))


def exercise_name(cell_id: str) -> str:
    """``"ex1-check"`` -> ``"ex1"``: the exercise a check cell checks."""
    return cell_id[: -len(CHECK_SUFFIX)]


def is_check_cell(cell) -> bool:
    """Whether ``cell`` is an exercise's check cell (a code cell whose id ends in ``-check``)."""
    return cell.get("cell_type") == "code" and str(cell.get("id", "")).endswith(CHECK_SUFFIX)


def check_cells(nb) -> list:
    """The notebook's check cells, in order."""
    return [c for c in nb.cells if is_check_cell(c)]


# A chapter cell with this tag only demonstrates (timing loops, say): grading leaves it out. The
# reference run leaves it out too, so an exercise that needed one would fail the chapter's own
# solutions (course.reference_answers says so), and a test checks no later cell uses a name such
# a cell defines.
SKIP_WHEN_GRADING = "skip-when-grading"


def exercise_id(check_cell) -> str:
    """A check cell's exercise: its nbgrader ``grade_id``, else the id without ``-check``."""
    return str(check_cell.metadata.get("nbgrader", {}).get("grade_id")
               or exercise_name(check_cell.id))


def exercises(chapter_nb) -> dict[str, str]:
    """Check cell id -> exercise id, in the chapter's order."""
    return {c.id: exercise_id(c) for c in check_cells(chapter_nb)}


def skipped_when_grading(chapter_nb) -> set[str]:
    """The ids of the chapter's cells tagged ``skip-when-grading``."""
    return {c.id for c in chapter_nb.cells if SKIP_WHEN_GRADING in c.metadata.get("tags", [])}
