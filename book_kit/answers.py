"""Answers as plain data: written by a graded kernel, judged by the grader's own process.

When grading, ``BOOK_KIT_ANSWERS`` names a file in the submission's working copy. Every check
(``book_kit.exercises``) then *records* what the student's code returned, instead of judging it:
one JSON line per answer, keyed by exercise title, case (``"shown"`` or a hidden test's label)
and part (a framework's name, or ``""``). Values are numbers in a flat list with their shape;
a failure is its message. No pickle: reading a submission's answers runs none of its code.

The chapter's own solutions are recorded the same way; that run's *rule* for each answer (the
tolerance, or the bound it must reach) is the one the grader applies. A submission's recorded
rules are ignored, and nothing it patches in its kernel takes part in :func:`judge`.

Example
-------
>>> reference = read(Path("chapter_answers.jsonl"))      # from the chapter's solutions
>>> student = read(Path("work/.book_kit_answers.jsonl"))
>>> ok, message = judge(reference["Exercise 1 (double)"], student.get("Exercise 1 (double)", {}))
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np

ENV = "BOOK_KIT_ANSWERS"
FILE_NAME = ".book_kit_answers.jsonl"
SHOWN = "shown"
MAX_BYTES = 16 * 2**20     # an answers file larger than this is not read
MAX_VALUES = 100_000       # numbers per answer


# --- in the kernel ---------------------------------------------------------------------------

def recording() -> bool:
    """Whether checks should record answers (grading) rather than judge them."""
    return bool(os.environ.get(ENV))


def close_rule(rtol: float, atol: float, what: str = "your answer", hint: str = "") -> dict:
    """How a recorded answer is judged: equal to the reference within tolerance.

    Parameters
    ----------
    rtol, atol : float
        The tolerance, as in ``exercises.check``.
    what, hint : str
        How the message names the answer, and the hint it adds.

    Returns
    -------
    dict
        The rule, stored with the answer (JSON).

    Example
    -------
    >>> close_rule(1e-5, 1e-6, "W")["kind"]
    'close'
    """
    return {"kind": "close", "rtol": rtol, "atol": atol, "what": what, "hint": hint}


def at_least_rule(bound: float, what: str, hint: str = "") -> dict:
    """How a recorded answer is judged: a number at least ``bound`` (the parameters otherwise
    as in :func:`close_rule`); returns the rule as a dict.

    Example
    -------
    >>> at_least_rule(0.975, "validation accuracy")["bound"]
    0.975
    """
    return {"kind": "at_least", "bound": bound, "what": what, "hint": hint}


def encode(value) -> dict:
    """A value as plain data: ``{"shape": [...], "data": [...]}``; raises ValueError if not numbers."""
    from book_kit.arrays import to_numpy

    if value is None:
        raise ValueError("is None: did the function forget to `return` its result?")
    array = np.asarray(to_numpy(value))
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"should be numbers, but it is {type(value).__name__} holding {array.dtype}")
    if array.size > MAX_VALUES:
        raise ValueError(f"has {array.size} numbers; an answer has at most {MAX_VALUES}")
    return {"shape": list(array.shape), "data": array.astype(float).ravel().tolist()}


def record(exercise: str, case: str | None, part: str, produce, rule: dict) -> None:
    """Call ``produce()`` and append its value (or why it failed) to the answers file."""
    from book_kit.verdicts import ExerciseFailed, NotAttempted

    entry = {"exercise": exercise, "case": case or SHOWN, "part": part, "rule": rule}
    try:
        entry["value"] = encode(produce())
    except NotAttempted as e:
        entry["error"] = e.short
    except (ExerciseFailed, ValueError) as e:
        entry["error"] = str(e)[:1000]
    with open(os.environ[ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


# --- in the grader ---------------------------------------------------------------------------

def read(path: Path) -> dict[str, dict[tuple[str, str], dict]]:
    """``{exercise: {(case, part): entry}}`` from an answers file; a later entry wins.

    The file is the submission's: a symlink, a FIFO or a file over ``MAX_BYTES`` is refused, and
    lines that are not well-formed answers are skipped.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return {}
        text = f.read(MAX_BYTES).decode("utf-8", errors="replace")
    answers: dict[str, dict[tuple[str, str], dict]] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            key = (str(entry["case"]), str(entry["part"]))
            exercise = str(entry["exercise"])
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(entry, dict):
            answers.setdefault(exercise, {})[key] = entry
    return answers


def _decode(value) -> np.ndarray:
    shape = [int(n) for n in value["shape"]]
    data = np.asarray([float(x) for x in value["data"]], dtype=float)
    if len(shape) > 32 or math.prod(shape) != data.size:
        raise ValueError("malformed")
    return data.reshape(shape)


def _verdict(reference: dict, student: dict) -> str | None:
    """None if the student's answer satisfies the reference's rule; else why not."""
    from book_kit.verdicts import ExerciseFailed, compare_values, format_value

    rule = reference["rule"]
    if "error" in student:
        return str(student["error"])[:1000]
    try:
        got = _decode(student["value"])
    except (KeyError, TypeError, ValueError):
        return "the recorded answer is not readable"
    what = rule.get("what", "your answer")
    hint = f" Hint: {rule['hint']}" if rule.get("hint") else ""
    if rule["kind"] == "at_least":
        if got.size != 1 or not np.isfinite(got).all():
            return f"{what} should be one finite number, got {format_value(got)}."
        if float(got.reshape(())) < rule["bound"]:
            return f"{what} is {format_value(got)}; it should be at least {rule['bound']:g}.{hint}"
        return None
    try:
        compare_values(got, _decode(reference["value"]), what=what, rtol=rule["rtol"],
                atol=rule["atol"], hint=rule.get("hint", ""))
    except ExerciseFailed as e:
        return str(e)
    return None


def judge(reference: dict[tuple[str, str], dict], student: dict[tuple[str, str], dict],
          missing: str = "no answer was recorded") -> tuple[bool, str, float]:
    """Judge one exercise: every (case, part) of the reference must be answered and right.

    Returns ``(passed, message, fraction)``: the message names each wrong part once (its first
    problem, the shown example before hidden tests) and is empty when the exercise passed;
    ``fraction`` is the share of its parts (frameworks) right in every case, for partial credit.
    """
    problems: dict[str, str] = {}
    order = list(dict.fromkeys(part for _, part in reference))  # as the chapter's check lists them
    keys = sorted(reference, key=lambda k: (order.index(k[1]), k[0] != SHOWN))
    for case, part in keys:  # a part's shown example first: once wrong, nothing more is said
        if part in problems:
            continue
        entry = student.get((case, part))
        problem = missing if entry is None else _verdict(reference[(case, part)], entry)
        if problem is None:
            continue
        if case != SHOWN:
            right = "right on the shown example, " if (SHOWN, part) in reference else ""
            problem = f"{right}wrong on a hidden test ({case}): {problem}"
        problems[part] = f"{part}: {problem}" if part else problem
    message = "; ".join(problems[p] for p in order if p in problems)
    return not problems, message, (len(order) - len(problems)) / len(order) if order else 0.0
