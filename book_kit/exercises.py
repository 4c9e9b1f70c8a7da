"""Exercise checks: one fixed line when an answer is right, a friendly hint when it is wrong.

A check *raises* ``ExerciseFailed`` (an AssertionError) on a wrong answer, so nbval sees the
failure in strict and lax mode alike, and prints exactly one fixed line when right, so the stored
output of a check cell is the same on every machine. In Jupyter the failure shows as its message
alone: no traceback through book_kit or a framework's internals.

Answers may be NumPy arrays, numbers, or tensors of TensorFlow, PyTorch or JAX. Solutions live in
functions (the workbook replaces their bodies with ``raise NotImplementedError()``), and checks call
them, so an unanswered exercise fails at its check cell with "not attempted yet".

Hidden tests (``hidden="x = -0.7"``) check the same function on inputs the workbook does not
show: silent when right, so a chapter's stored output does not change. When grading
(``book_kit.answers``), every check records the student's answers instead of judging them, and
the grader judges them in its own process.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import traceback
from pathlib import Path

import numpy as np

from book_kit import answers as _answers
from book_kit.arrays import to_numpy as _to_numpy
from book_kit.tables import print_table
# judging a value: shared with the grader (book_kit.answers); part of this module's API too
from book_kit.verdicts import (DEFAULT_ATOL, DEFAULT_RTOL, ExerciseFailed, NotAttempted,
                               compare_values, format_value)

__all__ = ["ExerciseFailed", "NotAttempted", "call", "check", "check_at_least", "check_frameworks",
           "check_true", "compare_values", "format_value", "install_friendly_failures",
           "partial_credit", "passed", "summary"]

RIGHT = "✔"
WRONG = "✘"
MATCHES = "matches"  # a right answer's "got" in a side-by-side table

# Each exercise's latest verdict in this kernel, for summary(): its shown example sets it, a
# hidden test can only take it back.
_verdicts: dict[str, bool] = {}


def passed(exercise: str) -> None:
    """The one fixed line a check prints when the answer is right."""
    _verdicts[exercise] = True
    print(f"{RIGHT} {exercise}: correct!")


def _failed(exercise: str, error: ExerciseFailed) -> ExerciseFailed:
    _verdicts[exercise] = False
    return error


# --- nbgrader's autograder -------------------------------------------------------------------
# nbgrader gives a check cell 0 points if it raises and reads a number it ends with as partial
# credit. So under its autograder a check prints a wrong answer's message instead of raising, and
# the cell's last line, ``partial_credit(points)``, turns the share of parts (frameworks) right in
# every case into points: the same share ``book-kit grade`` gives.

def _autograding() -> bool:
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


# The exercise being checked, and for each of its parts whether it was right in every case so far.
_ledger: dict = {"exercise": None, "parts": {}}


def _score(exercise: str, part: str, right: bool) -> None:
    if _ledger["exercise"] != exercise:
        _ledger.update(exercise=exercise, parts={})
    _ledger["parts"][part] = _ledger["parts"].get(part, True) and right


def _fail(exercise: str, error: ExerciseFailed, parts: tuple[str, ...] = ("",)) -> None:
    """Raise ``error`` for a wrong answer; under nbgrader's autograder, print it instead."""
    _failed(exercise, error)
    for part in parts:
        _score(exercise, part, False)
    if not _autograding():
        raise error
    print(f"{WRONG} {error}")


def partial_credit(points: float) -> float | None:
    """The points the check cell just run earns, for nbgrader's partial credit.

    The last line of every check cell. It shows nothing (returns None) except under nbgrader's
    autograder (``NBGRADER_EXECUTION=autograde``), where it returns ``points`` times the share of
    the exercise's parts right in the shown example and every hidden test, and nbgrader reads that
    number as the cell's score. ``book-kit grade`` does not use it: it judges recorded answers.

    Parameters
    ----------
    points : float
        The cell's nbgrader ``points`` (a test checks the two agree).

    Returns
    -------
    float or None
        The points earned under nbgrader's autograder, else None.

    Example
    -------
    >>> check_frameworks("Exercise 1 (gradient)", {"TensorFlow": grad_tf, "JAX": grad_jax},
    ...                  expected=4.75, args=(1.5,))
    >>> partial_credit(3)  # nothing shown outside nbgrader
    """
    parts = _ledger["parts"]
    _ledger.update(exercise=None, parts={})
    if not _autograding():
        return None
    return round(points * sum(parts.values()) / len(parts), 4) if parts else 0.0


def summary(exercises: list[str]) -> None:
    """Every exercise's status in one table (the last cell of a chapter and its workbook).

    A check cell is tagged ``raises-exception``, so *Run All* goes on past a wrong answer to
    the next exercise; this cell then lists them all and, if any is not right yet, fails itself
    (so ``pytest --nbval-lax`` still fails a wrong notebook).

    Example
    -------
    >>> summary(["Exercise 1 (double)", "Exercise 2 (mean of squares)"])
    """
    if _answers.recording():  # grading: the grader judges, from the recorded answers
        return
    status = {True: f"{RIGHT} right", False: f"{WRONG} not right yet", None: "- not checked yet"}
    print_table(["exercise", "status"], [(e, status[_verdicts.get(e)]) for e in exercises])
    missing = [e for e in exercises if not _verdicts.get(e)]
    if missing:
        raise ExerciseFailed(f"{len(missing)} of {len(exercises)} exercises not right yet: "
                             + "; ".join(missing) + ". Their check cells above say why.")


# --- calling the student's code --------------------------------------------------------------

_LIBRARY_DIRS = (str(Path(__file__).resolve().parent), "site-packages", "<frozen",
                 str(Path(sysconfig.get_paths()["stdlib"]).resolve()))


def _student_frame(tb) -> str:
    """'(in f, line 3: y = x @ W)' — the last frame in the student's code, not in a library."""
    frames = [f for f in traceback.extract_tb(tb)
              if not any(d in str(Path(f.filename).resolve()) or f.filename.startswith(d)
                         for d in _LIBRARY_DIRS)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, line {frame.lineno}: {frame.line.strip()})" if frame.line else ""


def _short(message: str, limit: int = 300) -> str:
    first = (str(message).strip().splitlines() or [""])[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _name(function) -> str:
    name = getattr(function, "__name__", "")
    return f"{name}()" if name and not name.startswith(("<", "_")) else "your answer"


def call(function, *args, what: str | None = None, **kwargs):
    """Call the student's function; turn any failure into a message for the student."""
    name = what or _name(function)
    if not callable(function):
        raise ExerciseFailed(f"{name} should be a function, but it is {type(function).__name__}.")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        # name the function that still raises it, however deep the check called it
        frames = traceback.extract_tb(sys.exc_info()[2])
        raiser = frames[-1].name if frames else ""
        raise NotAttempted(f"{raiser}()" if raiser.isidentifier() and not raiser.startswith("_")
                           else name) from None
    except ExerciseFailed:
        raise
    except Exception as e:
        where = _student_frame(sys.exc_info()[2])
        raise ExerciseFailed(f"{name} raised {type(e).__name__}: {_short(e)}{where}") from None


# --- comparing values ------------------------------------------------------------------------

# --- the checks chapters call ----------------------------------------------------------------

def _hidden_failure(exercise: str, hidden: str, error: ExerciseFailed) -> ExerciseFailed:
    return ExerciseFailed(f"{exercise}: right on the shown example, wrong on a hidden test "
                          f"({hidden}): {error}")


def check(exercise: str, answer, expected, *, args: tuple = (), kwargs: dict | None = None,
          what: str | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
          atol: float = DEFAULT_ATOL, check_dtype: bool = False, hidden: str | None = None) -> None:
    """Check one answer: a value, or a function called with ``args`` whose result is compared.

    Parameters
    ----------
    exercise : str
        The exercise's title, e.g. ``"Exercise 1 (double)"`` (the same in its hidden tests).
    answer : callable or value
        The student's function (called as ``answer(*args, **kwargs)``) or a value.
    expected : value
        The right result; compared with ``|got - expected| <= atol + rtol * |expected|``.
    hidden : str, optional
        The label of a hidden test (e.g. ``"x = -0.7"``): prints nothing when right.

    Example
    -------
    >>> check("Exercise 1 (double)", double, 8, args=(4,))
    ✔ Exercise 1 (double): correct!
    """
    if callable(answer):
        what = what or _name(answer)
    what = what or "your answer"

    def produce():
        return call(answer, *args, what=what, **(kwargs or {})) if callable(answer) else answer

    if _answers.recording():
        _answers.record(exercise, hidden, "", produce, _answers.close_rule(rtol, atol, what, hint))
        return
    try:
        compare_values(produce(), expected, what=what, rtol=rtol, atol=atol,
                       check_dtype=check_dtype,
                hint=hint)
    except ExerciseFailed as e:
        return _fail(exercise, _hidden_failure(exercise, hidden, e) if hidden else e)
    _score(exercise, "", True)
    if not hidden:
        passed(exercise)


def check_at_least(exercise: str, answer, bound: float, *, what: str, args: tuple = (),
                   name: str | None = None, hint: str = "", hidden: str | None = None) -> None:
    """Check that a number (an accuracy, say) reaches ``bound``.

    ``answer`` is the number, or a function called with ``args`` that returns it; ``name``
    names the student's code in a failure ("choose_optimizer() is not attempted yet").

    Example
    -------
    >>> check_at_least("Exercise 2 (accuracy)", accuracy_with, 0.99, args=(choose_optimizer,),
    ...                name="choose_optimizer()", what="validation accuracy")
    ✔ Exercise 2 (accuracy): correct!
    """
    def produce():
        return call(answer, *args, what=name or _name(answer)) if callable(answer) else answer

    if _answers.recording():
        _answers.record(exercise, hidden, "", produce, _answers.at_least_rule(bound, what, hint))
        return
    try:
        number = float(_to_numpy(produce()))
        if not number >= bound:
            raise ExerciseFailed(f"{what} is {number:.4f}; it should be at least {bound:g}."
                                 + (f" Hint: {hint}" if hint else ""))
    except ExerciseFailed as e:
        return _fail(exercise, _hidden_failure(exercise, hidden, e) if hidden else e)
    _score(exercise, "", True)
    if not hidden:
        passed(exercise)


def check_true(exercise: str, condition: bool, message: str) -> None:
    """For properties a comparison cannot express (e.g. "every weight is >= 0").

    When grading, the condition itself is the recorded answer; prefer :func:`check` or
    :func:`check_at_least`, whose answers are values the grader judges.
    """
    if _answers.recording():
        _answers.record(exercise, None, "", lambda: bool(condition),
                        _answers.close_rule(0, 0, "the property", message))
        return
    if not condition:
        return _fail(exercise, ExerciseFailed(message))
    _score(exercise, "", True)
    passed(exercise)


def check_frameworks(exercise: str, answers: dict, expected, *, args: tuple = (),
                     kwargs: dict | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
                     atol: float = DEFAULT_ATOL, hidden: str | None = None) -> None:
    """Side by side: the same exercise answered in several frameworks, one table of results.

    ``answers`` maps a framework's name to the student's function (or value); every one is
    compared with the same ``expected``. The table is printed either way; then one fixed line if
    all are right, or ExerciseFailed naming the wrong ones. A hidden test prints nothing when
    every framework is right.

    Example
    -------
    >>> check_frameworks("Exercise 1 (gradient)", {"TensorFlow": grad_tf, "JAX": grad_jax},
    ...                  expected=4.75, args=(1.5,))
    """
    def producer(answer, framework):
        return lambda: call(answer, *args, what=_name(answer), **(kwargs or {})) \
            if callable(answer) else answer

    if _answers.recording():
        for framework, answer in answers.items():
            _answers.record(exercise, hidden, framework, producer(answer, framework),
                            _answers.close_rule(rtol, atol, "the answer", hint))
        return
    rows, problems, wrong = [], [], []
    for framework, answer in answers.items():
        got_text = "-"
        try:
            value = producer(answer, framework)()
            if value is not None:
                with np.errstate(all="ignore"):
                    try:
                        got_text = format_value(value)
                    except Exception:
                        got_text = type(value).__name__
            compare_values(value, expected, what=f"{framework}'s answer", rtol=rtol, atol=atol)
            # Right within tolerance: its last digits depend on the CPU, so the stored table
            # (compared by nbval on every machine) says so instead of printing them.
            got_text, verdict = MATCHES, RIGHT
        except ExerciseFailed as e:
            verdict = WRONG
            problems.append(f"  {framework}: {e}")
            wrong.append(framework)
        rows.append((framework, got_text, format_value(expected), verdict))
        if verdict == RIGHT:
            _score(exercise, framework, True)
    if not hidden:
        print_table(["framework", "got", "expected", ""], rows)
    if problems:
        where = f"wrong on a hidden test ({hidden})" if hidden else "not right yet"
        return _fail(exercise, ExerciseFailed(
            f"{exercise}: {len(problems)} of {len(rows)} {where}.\n" + "\n".join(problems)
            + (f"\nHint: {hint}" if hint else "")), parts=tuple(wrong))
    if not hidden:
        passed(exercise)


# --- how a failure looks in Jupyter ----------------------------------------------------------

def _show_failure(shell, etype, value, tb, tb_offset=None):
    # The message is the whole story for a student; the traceback through this module is noise.
    text = str(value)
    stb = [f"\x1b[31m{WRONG} {line}\x1b[0m" if i == 0 else line
           for i, line in enumerate(text.splitlines() or [etype.__name__])]
    shell._showtraceback(etype, value, stb)
    shell._last_traceback = stb


def install_friendly_failures() -> None:
    """In IPython, show a wrong answer as its message alone (no traceback through book_kit).

    A chapter's first cell calls it through ``book_kit.setup_notebook()``; importing this module
    changes nothing. Outside IPython it does nothing.

    Example
    -------
    >>> install_friendly_failures()   # in a notebook
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((ExerciseFailed,), _show_failure)

