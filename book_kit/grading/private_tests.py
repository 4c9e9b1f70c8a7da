"""A course's own hidden tests, kept outside the repository and never shown to students.

``grading.toml``: ``tests = "course_tests.py"``, a Python file in cells marked the way Jupytext's
"percent" format marks them, one per exercise (its nbgrader ``grade_id``)::

    # %% ex1
    for x in (0.25, 3.5):
        exercise.check_frameworks({"TensorFlow": gradient_tf, "PyTorch": gradient_torch,
                                   "JAX": gradient_jax}, expected=3 * x**2 - 2, args=(x,),
                                  hidden=f"the course's x = {x}")

Each cell's code is added to its exercise's check cell when grading, after the chapter's hidden
tests (``exercise`` is that cell's exercise), so it runs and is judged like them: the chapter's
own solutions run it too, for the reference answers. Feedback pages never show it.
"""

from __future__ import annotations

import re
from pathlib import Path

_MARK = re.compile(r"^# %%[ \t]+(\S+)[ \t]*$", re.MULTILINE)


class PrivateTestsError(ValueError):
    """The file of private tests cannot be used; the message says what to change."""


def load(path: Path | None, exercises: list[str]) -> dict[str, str]:
    """Exercise id -> its private tests' code, from the file at ``path`` ({} for None).

    Parameters
    ----------
    path : Path or None
        The course's file of tests.
    exercises : list of str
        The chapter's exercise ids (a cell for any other is refused, with the known ones).

    Returns
    -------
    dict

    Example
    -------
    >>> load(None, ["ex1"])
    {}
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PrivateTestsError(f"cannot read the course's tests {path}: {e}") from None
    marks = list(_MARK.finditer(text))
    if not marks:
        raise PrivateTestsError(f"{path} has no cell: start each exercise's tests with a line "
                                f"'# %% EXERCISE' (one of {', '.join(exercises)})")
    tests: dict[str, str] = {}
    for i, mark in enumerate(marks):
        name = mark.group(1)
        if name not in exercises:
            raise PrivateTestsError(f"{path}: '# %% {name}' names no exercise of this chapter; "
                                    f"known: {', '.join(exercises)}")
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        code = text[mark.end():end].strip("\n")
        try:
            compile(code, f"{path}:{name}", "exec")
        except SyntaxError as e:
            raise PrivateTestsError(f"{path}, cell {name}: {e}") from None
        tests[name] = (tests.get(name, "") + "\n" + code).strip("\n")
    return tests
