"""Judging: a submission's answers against the chapter's own, one :class:`Verdict` per exercise.

Answers arrive as the cell runner collected them (``book_kit.grading.cell_runner``): for each
exercise (its nbgrader ``grade_id``), the entries its check cell sent while it ran, each keyed by
case (``"shown"`` or a hidden test's label) and part (a framework's name, or ``""``). The
chapter's own solutions, run the same way on the same drawn inputs, give the reference entries;
the reference's *rule* (tolerance, bound, data set) is the one applied, never a submission's.

Example
-------
>>> from book_kit.grading.record import close_rule, encode
>>> rule = close_rule(1e-5, 1e-8)
>>> reference = {"ex1": [{"case": "shown", "part": "", "value": encode(8.0), "rule": rule},
...                      {"case": "x = -0.7", "part": "", "value": encode(-1.4), "rule": rule}]}
>>> submission = {"ex1": [{"case": "shown", "part": "", "value": encode(8.0)},
...                       {"case": "x = -0.7", "part": "", "value": encode(1.4)}]}
>>> verdict = judge("ex1", reference["ex1"], submission.get("ex1", []))
>>> verdict.passed, verdict.fraction, verdict.message
(False, 0.0, 'right on the shown example, wrong on a hidden test (x = -0.7): ...')
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from book_kit.grading.record import DRAWN, SHOWN

REVEAL = ("label", "nothing")
# What went wrong on a drawn input (``Exercise.draw``) is never said: the message could show the
# input (a KeyError names it), and a class re-graded with the same secret draws the same inputs


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One exercise of one submission, judged."""
    exercise: str    # the check cell's nbgrader grade_id, e.g. "ex1"
    passed: bool
    fraction: float  # of its parts (frameworks) right in every case: partial credit
    message: str     # why not, for the student ("" when passed)


def keyed(entries: list[dict]) -> tuple[dict[tuple[str, str], dict], list[tuple[str, str]]]:
    """``({(case, part): entry}, [keys sent more than once])`` from a check cell's entries."""
    by_key: dict[tuple[str, str], dict] = {}
    twice = []
    for entry in entries:
        try:
            key = (str(entry["case"]), str(entry["part"]))
        except (KeyError, TypeError):
            continue
        if key in by_key:
            twice.append(key)
        by_key.setdefault(key, entry)
    return by_key, twice


def decode(value) -> np.ndarray:
    """A value sent as ``{"shape", "data"}`` back as an array; ValueError if malformed."""
    shape = [int(n) for n in value["shape"]]
    data = np.asarray([float(x) for x in value["data"]], dtype=float)
    if len(shape) > 32 or math.prod(shape) != data.size:
        raise ValueError("malformed")
    return data.reshape(shape)


def _verdict(reference: dict, student: dict) -> str | None:
    """None if the student's answer satisfies the reference's rule; else why not."""
    from book_kit.exercises.verdicts import ExerciseFailed, compare_values, format_value

    rule = reference["rule"]
    if "error" in student:
        return str(student["error"])[:1000]
    try:
        got = decode(student["value"])
    except (KeyError, TypeError, ValueError):
        return "the answer sent is not readable"
    what = rule.get("what", "your answer")
    hint = f" Hint: {rule['hint']}" if rule.get("hint") else ""
    if rule["kind"] in ("at_least", "model"):
        if got.size != 1 or not np.isfinite(got).all():
            return f"{what} should be one finite number, got {format_value(got)}."
        if float(got.reshape(())) < rule["bound"]:
            return f"{what} is {float(got.reshape(())):.4f}; it should be at least " \
                   f"{rule['bound']:g}.{hint}"
        return None
    try:
        compare_values(got, decode(reference["value"]), what=what, rtol=rule["rtol"],
                       atol=rule["atol"], hint=rule.get("hint", ""))
    except ExerciseFailed as e:
        return str(e)
    return None


def judge(exercise: str, reference: list[dict], student: list[dict],
          missing: str = "no answer was sent", reveal: str = "label") -> Verdict:
    """Judge one exercise: every (case, part) of the reference must be answered, once, and right.

    Parameters
    ----------
    exercise : str
        The exercise's ``grade_id``.
    reference, student : list of dict
        The entries the chapter's and the submission's check cell sent.
    missing : str
        What to say of an answer never sent (from how the cell ended).
    reveal : str
        ``"label"``: a failed hidden test is named by its label; ``"nothing"``: only that a
        hidden test failed.

    Returns
    -------
    Verdict
        The message names each wrong part once (its first problem, the shown example before
        hidden tests); ``fraction`` is the share of parts right in every case.
    """
    if reveal not in REVEAL:
        raise ValueError(f"reveal is one of {REVEAL}, not {reveal!r}")
    wanted, _ = keyed(reference)
    got, twice = keyed(student)
    order = list(dict.fromkeys(part for _, part in wanted))  # as the chapter's check lists them
    if twice:
        return Verdict(exercise, False, 0.0,
                       "an answer was sent twice in one check (something other than the check "
                       "sent answers), so none of this exercise's answers count")
    problems: dict[str, str] = {}
    keys = sorted(wanted, key=lambda k: (order.index(k[1]), k[0] != SHOWN))
    for case, part in keys:  # a part's shown example first: once wrong, nothing more is said
        if part in problems:
            continue
        entry = got.get((case, part))
        problem = missing if entry is None else _verdict(wanted[(case, part)], entry)
        if problem is None:
            continue
        if case != SHOWN:
            right = "right on the shown example, " if (SHOWN, part) in wanted else ""
            if reveal == "nothing":
                problem = f"{right}wrong on a hidden test"
            elif case.startswith(DRAWN):
                problem = f"{right}wrong on a hidden test ({case})"
            else:
                problem = f"{right}wrong on a hidden test ({case}): {problem}"
        problems[part] = f"{part}: {problem}" if part else problem
    message = "; ".join(problems[p] for p in order if p in problems)
    fraction = (len(order) - len(problems)) / len(order) if order else 0.0
    return Verdict(exercise, not problems, fraction, message)
