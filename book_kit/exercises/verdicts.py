"""Judging one value: equal to the expected one within tolerance, or why not, in a sentence.

``book_kit.exercises`` (the checks a chapter calls) and ``book_kit.answers`` (the grader, judging
recorded answers in its own process) both judge with these, so a student gets the same verdict
in the notebook and in the gradebook.
"""

from __future__ import annotations

import math

import numpy as np

from book_kit.exercises.diagnoses import diagnose_value
from book_kit.frameworks.arrays import to_numpy as _to_numpy

# ExerciseFailed, NotAttempted, compare_values and format_value are public as book_kit.exercises.*
__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL"]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6


class ExerciseFailed(AssertionError):
    """A wrong (or missing) answer; the message is written for the student."""


class NotAttempted(ExerciseFailed):
    """The solution still raises NotImplementedError."""

    def __init__(self, name: str, *, title: str = "", several: bool = False):
        # several: ``name`` lists more than one function ("f() and g()")
        self.name = name
        self.short = f"{name} {'are' if several else 'is'} not attempted yet"
        super().__init__(f"{title + ': ' if title else ''}{self.short}: replace "
                         "`raise NotImplementedError()` with your code, run that cell, then run "
                         "this check again.")


def compare_values(got, expected, *, what: str = "your answer", rtol: float = DEFAULT_RTOL,
            atol: float = DEFAULT_ATOL, check_dtype: bool = False, hint: str = "") -> np.ndarray:
    """Raise ExerciseFailed unless ``got`` equals ``expected`` within tolerance; return it as NumPy.

    Tolerance: |got - expected| <= atol + rtol * |expected|, element by element. A value wrong in
    a recognisable way (None, a list of tensors, a wrong shape, a bool) gets the diagnosis of
    :func:`book_kit.exercises.diagnoses.diagnose_value`: its likely cause and what to change.

    Parameters
    ----------
    got : value
        The student's answer: a number, array, list, or any framework's tensor.
    expected : value
        The right answer.
    what : str
        How to name the answer in a message ("TensorFlow's answer" also picks TensorFlow's
        causes for a None).
    rtol, atol : float
        The tolerance.
    check_dtype : bool
        Also require the same dtype.
    hint : str
        Added to any failure's message as " Hint: ...".

    Returns
    -------
    numpy.ndarray
        ``got`` as NumPy.

    Example
    -------
    >>> compare_values(np.float32(2.0000001), 2.0)
    array(2., dtype=float32)
    >>> compare_values(None, 1.0, what="TensorFlow's answer")
    Traceback (most recent call last):
    ExerciseFailed: TensorFlow's answer is None: in TensorFlow, `tape.gradient(y, x)` is None
    when ...
    """
    hint = f" Hint: {hint}" if hint else ""

    def failed(default: str) -> ExerciseFailed:
        diagnosis = diagnose_value(got, what=what, expected=expected)
        return ExerciseFailed(f"{diagnosis or default}{hint}")

    if got is None:
        raise failed(f"{what} is None: did the function forget to `return` its result?")
    try:
        got_array = _to_numpy(got, what)
    except ValueError as e:
        raise failed(str(e)) from None
    want = np.asarray(_to_numpy(expected, "the expected value"))
    if got_array.dtype == object or not np.issubdtype(got_array.dtype, np.number) and \
            got_array.dtype != bool:
        raise failed(f"{what} should be numbers, but it is {type(got).__name__} "
                     f"holding {got_array.dtype}.")
    if got_array.shape != want.shape:
        raise failed(f"{what} has shape {tuple(got_array.shape)}, expected {tuple(want.shape)}.")
    if check_dtype and got_array.dtype != want.dtype:
        raise ExerciseFailed(f"{what} has dtype {got_array.dtype}, expected {want.dtype}.{hint}")
    got_float = got_array.astype(float)
    if not np.all(np.isfinite(got_float)):
        kind = "NaN" if np.isnan(got_float).any() else "infinity"
        raise ExerciseFailed(f"{what} contains {kind}: a division by zero, a log of 0, or a "
                             f"learning rate so large that training diverged?{hint}")
    if not np.allclose(got_float, want.astype(float), rtol=rtol, atol=atol):
        # a bool where numbers are expected is diagnosed; other wrong numbers say how far off
        raise failed(f"{what} is {format_value(got_array)}, expected {format_value(want)} "
                     f"(tolerance atol={atol:g}, rtol={rtol:g}).")
    return got_array


def format_value(value, digits: int = 4) -> str:
    """A short, stable text for a number or small array (used in tables and messages)."""
    array = np.asarray(_to_numpy(value))
    if array.size == 1:
        number = float(array.reshape(()))
        return "nan" if math.isnan(number) else f"{number:.{digits}g}"
    flat = ", ".join(f"{float(v):.{digits}g}" for v in array.reshape(-1)[:6])
    more = ", ..." if array.size > 6 else ""
    return f"[{flat}{more}] shape {tuple(array.shape)}"
