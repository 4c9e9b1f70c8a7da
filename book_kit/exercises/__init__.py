"""Exercise checks: one fixed line when an answer is right, a friendly hint when it is wrong.

What a chapter's check cells use, as ``from book_kit import exercises as ex``::

    exercise = ex.Exercise("Exercise 1 (double)")
    exercise.check(double, expected=8, args=(4,))
    exercise.done(2)

The modules behind it: ``checks`` (the :class:`Exercise` API, ``call``, ``summary``),
``verdicts`` (judging one value, shared with the grader) and ``diagnoses`` (the hint for a
mistake, told from its symptom: a None gradient, a tensor for a number, a wrong axis).
"""

from __future__ import annotations

from book_kit.exercises.checks import Exercise, call, install_friendly_failures, seed_draws, summary
from book_kit.exercises.verdicts import ExerciseFailed, NotAttempted, compare_values, format_value

__all__ = ["Exercise", "ExerciseFailed", "NotAttempted", "call", "compare_values",
           "format_value", "install_friendly_failures", "seed_draws", "summary"]
