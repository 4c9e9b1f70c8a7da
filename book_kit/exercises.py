"""Exercise checks: one fixed line when an answer is right, a friendly hint when it is wrong.

A check *raises* ``ExerciseFailed`` (an AssertionError) on a wrong answer, so nbval sees the
failure in strict and lax mode alike, and prints exactly one fixed line when right, so the stored
output of a check cell is the same on every machine. In Jupyter the failure shows as its message
alone: no traceback through book_kit or a framework's internals.

Answers may be NumPy arrays, numbers, or tensors of TensorFlow, PyTorch or JAX. Solutions live in
functions (the workbook replaces their bodies with ``raise NotImplementedError()``), and checks call
them, so an unanswered exercise fails at its check cell with "not attempted yet".
"""

from __future__ import annotations

import math
import os
import sys
import sysconfig
import traceback
from pathlib import Path

import numpy as np

from book_kit.arrays import to_numpy

RIGHT = "✔"
WRONG = "✘"
MATCHES = "matches"  # a right answer's "got" in a side-by-side table

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6


class ExerciseFailed(AssertionError):
    """A wrong (or missing) answer; the message is written for the student."""


class NotAttempted(ExerciseFailed):
    """The solution still raises NotImplementedError."""


def passed(exercise: str) -> None:
    """The one fixed line a check prints when the answer is right."""
    print(f"{RIGHT} {exercise}: correct!")


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
        raise NotAttempted(f"{name} is not attempted yet: replace `raise NotImplementedError()` "
                           "with your code, run that cell, then run this check again.") from None
    except ExerciseFailed:
        raise
    except Exception as e:
        where = _student_frame(sys.exc_info()[2])
        raise ExerciseFailed(f"{name} raised {type(e).__name__}: {_short(e)}{where}") from None


# --- comparing values ------------------------------------------------------------------------

def compare(got, expected, *, what: str = "your answer", rtol: float = DEFAULT_RTOL,
            atol: float = DEFAULT_ATOL, check_dtype: bool = False, hint: str = "") -> np.ndarray:
    """Raise ExerciseFailed unless ``got`` equals ``expected`` within tolerance; return it as NumPy.

    Tolerance: |got - expected| <= atol + rtol * |expected|, element by element.
    """
    hint = f" Hint: {hint}" if hint else ""
    if got is None:
        raise ExerciseFailed(f"{what} is None: did the function forget to `return` its result?{hint}")
    try:
        got_array = to_numpy(got, what)
    except ValueError as e:
        raise ExerciseFailed(f"{e}{hint}") from None
    want = np.asarray(to_numpy(expected, "the expected value"))
    if got_array.dtype == object or not np.issubdtype(got_array.dtype, np.number) and \
            got_array.dtype != bool:
        raise ExerciseFailed(f"{what} should be numbers, but it is {type(got).__name__} "
                             f"holding {got_array.dtype}.{hint}")
    if got_array.shape != want.shape:
        squeezable = got_array.size == want.size
        extra = " (same numbers, different shape: check reshape / keepdims / [:, None])" \
            if squeezable else ""
        raise ExerciseFailed(f"{what} has shape {tuple(got_array.shape)}, expected "
                             f"{tuple(want.shape)}{extra}.{hint}")
    if check_dtype and got_array.dtype != want.dtype:
        raise ExerciseFailed(f"{what} has dtype {got_array.dtype}, expected {want.dtype}.{hint}")
    got_float = got_array.astype(float)
    if not np.all(np.isfinite(got_float)):
        kind = "NaN" if np.isnan(got_float).any() else "infinity"
        raise ExerciseFailed(f"{what} contains {kind}: a division by zero, a log of 0, or a "
                             f"learning rate so large that training diverged?{hint}")
    if not np.allclose(got_float, want.astype(float), rtol=rtol, atol=atol):
        raise ExerciseFailed(f"{what} is {format_value(got_array)}, expected "
                             f"{format_value(want)} (tolerance atol={atol:g}, rtol={rtol:g}).{hint}")
    return got_array


def format_value(value, digits: int = 4) -> str:
    """A short, stable text for a number or small array (used in tables and messages)."""
    array = np.asarray(to_numpy(value))
    if array.size == 1:
        number = float(array.reshape(()))
        return "nan" if math.isnan(number) else f"{number:.{digits}g}"
    flat = ", ".join(f"{float(v):.{digits}g}" for v in array.reshape(-1)[:6])
    more = ", ..." if array.size > 6 else ""
    return f"[{flat}{more}] shape {tuple(array.shape)}"


# --- the checks chapters call ----------------------------------------------------------------

def check(exercise: str, answer, expected, *, args: tuple = (), kwargs: dict | None = None,
          what: str | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
          atol: float = DEFAULT_ATOL, check_dtype: bool = False) -> None:
    """Check one answer: a value, or a function called with ``args`` whose result is compared."""
    if callable(answer):
        what = what or _name(answer)
        answer = call(answer, *args, what=what, **(kwargs or {}))
    compare(answer, expected, what=what or "your answer", rtol=rtol, atol=atol,
            check_dtype=check_dtype, hint=hint)
    passed(exercise)


def check_true(exercise: str, condition: bool, message: str) -> None:
    """For properties a comparison cannot express (e.g. "every weight is >= 0")."""
    if not condition:
        raise ExerciseFailed(message)
    passed(exercise)


def check_frameworks(exercise: str, answers: dict, expected, *, args: tuple = (),
                     kwargs: dict | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
                     atol: float = DEFAULT_ATOL) -> None:
    """Side by side: the same exercise answered in several frameworks, one table of results.

    ``answers`` maps a framework's name to the student's function (or value); every one is
    compared with the same ``expected``. The table is printed either way; then one fixed line if
    all are right, or ExerciseFailed naming the wrong ones.
    """
    rows, problems = [], []
    for framework, answer in answers.items():
        got_text = "-"
        try:
            value = call(answer, *args, what=f"{framework}: {_name(answer)}",
                         **(kwargs or {})) if callable(answer) else answer
            if value is not None:
                with np.errstate(all="ignore"):
                    try:
                        got_text = format_value(value)
                    except Exception:
                        got_text = type(value).__name__
            compare(value, expected, what=f"{framework}'s answer", rtol=rtol, atol=atol)
            # Right within tolerance: its last digits depend on the CPU, so the stored table
            # (compared by nbval on every machine) says so instead of printing them.
            got_text, verdict = MATCHES, RIGHT
        except ExerciseFailed as e:
            verdict = WRONG
            problems.append(f"  {framework}: {e}")
        rows.append((framework, got_text, format_value(expected), verdict))
    if not os.environ.get("BOOK_KIT_GRADING"):  # graders compare only the verdict line
        print_table(["framework", "got", "expected", ""], rows)
    if problems:
        raise ExerciseFailed(f"{exercise}: {len(problems)} of {len(rows)} not right yet.\n"
                             + "\n".join(problems) + (f"\nHint: {hint}" if hint else ""))
    passed(exercise)


def print_table(header: list[str], rows: list[tuple]) -> None:
    """A plain-text table (plain text so nbval compares it exactly)."""
    table = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths).rstrip())


# --- how a failure looks in Jupyter ----------------------------------------------------------

def _show_failure(shell, etype, value, tb, tb_offset=None):
    # The message is the whole story for a student; the traceback through this module is noise.
    text = str(value)
    stb = [f"\x1b[31m{WRONG} {line}\x1b[0m" if i == 0 else line
           for i, line in enumerate(text.splitlines() or [etype.__name__])]
    shell._showtraceback(etype, value, stb)
    shell._last_traceback = stb


def _install_friendly_failures() -> None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((ExerciseFailed,), _show_failure)


_install_friendly_failures()
