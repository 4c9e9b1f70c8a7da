"""In the graded kernel: what a check sends to the grader, as messages of the cell running it.

When ``BOOK_KIT_GRADING`` is set, a check (``book_kit.exercises``) judges nothing: it keeps each
answer (a value as numbers, a failure as its message, a trained model as its ``.keras`` file),
stamped with the id of the execute request that is running, until the grader's cell runner takes
them: every execute request it sends asks for :data:`COLLECT` as a user expression, so they come
back in that request's reply, on the shell channel (no flood of output can cut it). The runner,
outside the sandbox, keeps only answers stamped with the request of a *check* cell, and files
them under that cell's exercise (``book_kit.grading.cell_runner``): no file, nothing the kernel
writes or changes later, no answer made while any other cell ran counts. What code running
*during* the check cell can still add is judged against the chapter's own answers on inputs drawn
at grading time (``book_kit.grading.secrets``), and an answer sent twice fails its exercise.

No pickle: the grader reads plain JSON.
"""

from __future__ import annotations

import base64
import os
import tempfile

import numpy as np

ENV = "BOOK_KIT_GRADING"
# The user expression the cell runner sends with every cell: the answers kept so far, as JSON
COLLECT = "__import__('book_kit.grading.record', fromlist=['collect']).collect()"
_pending: list[dict] = []
SHOWN = "shown"
DRAWN = "an input drawn at grading time"  # how the label of a drawn input starts
MAX_VALUES = 100_000       # numbers per answer
MAX_MODEL_BYTES = 12 * 2**20  # a trained model's .keras file, at most (base64 must fit a message)


def grading() -> bool:
    """Whether checks should send their answers to the grader rather than judge them."""
    return bool(os.environ.get(ENV))


def close_rule(rtol: float, atol: float, what: str = "your answer", hint: str = "") -> dict:
    """How an answer is judged: equal to the reference within tolerance.

    Parameters
    ----------
    rtol, atol : float
        The tolerance, as in ``numpy.allclose``.
    what, hint : str
        How the message names the answer, and the hint it adds.

    Returns
    -------
    dict
        The rule, sent with the answer (JSON); the grader applies the chapter's, never a
        submission's.

    Example
    -------
    >>> close_rule(1e-5, 1e-6, "W")["kind"]
    'close'
    """
    return {"kind": "close", "rtol": rtol, "atol": atol, "what": what, "hint": hint}


def at_least_rule(bound: float, what: str, hint: str = "") -> dict:
    """How an answer is judged: one number at least ``bound`` (parameters as in :func:`close_rule`).

    Example
    -------
    >>> at_least_rule(0.975, "validation accuracy")["bound"]
    0.975
    """
    return {"kind": "at_least", "bound": bound, "what": what, "hint": hint}


def model_rule(bound: float, on: str, what: str, hint: str = "") -> dict:
    """How a trained model is judged: the grader's own accuracy of it on ``on`` (a data set of
    ``book_kit.grading.outcomes``) is at least ``bound``.

    Example
    -------
    >>> model_rule(0.97, "mnist-test", "test accuracy")["on"]
    'mnist-test'
    """
    return {"kind": "model", "bound": bound, "on": on, "what": what, "hint": hint}


def encode(value) -> dict:
    """A value as plain data: ``{"shape": [...], "data": [...]}``; raises ValueError if not numbers.

    Example
    -------
    >>> encode([1, 2])
    {'shape': [2], 'data': [1.0, 2.0]}
    """
    from book_kit.frameworks.arrays import to_numpy

    if value is None:
        raise ValueError("is None: did the function forget to `return` its result?")
    array = np.asarray(to_numpy(value))
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"should be numbers, but it is {type(value).__name__} "
                         f"holding {array.dtype}")
    if array.size > MAX_VALUES:
        raise ValueError(f"has {array.size} numbers; an answer has at most {MAX_VALUES}")
    return {"shape": list(array.shape), "data": array.astype(float).ravel().tolist()}


def encode_model(model) -> dict:
    """A Keras model as its ``.keras`` file (base64): what the grader evaluates itself.

    Raises ValueError for anything that is not a Keras model or cannot be saved.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"should be a Keras model, but it is {type(model).__name__}")
    folder = tempfile.mkdtemp(prefix="book_kit-model-")
    path = os.path.join(folder, "model.keras")
    try:
        model.save(path)
        size = os.path.getsize(path)
        if size > MAX_MODEL_BYTES:
            raise ValueError(f"is {size / 2**20:.0f} MB saved; a model handed in has at most "
                             f"{MAX_MODEL_BYTES // 2**20} MB")
        with open(path, "rb") as f:
            return {"keras": base64.b64encode(f.read()).decode("ascii")}
    finally:
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)


def _request_id() -> str | None:
    try:
        from IPython import get_ipython

        return get_ipython().kernel.get_parent()["header"]["msg_id"]
    except Exception:  # not in a kernel
        return None


def send(entry: dict) -> None:
    """Keep one answer for the grader, stamped with the execute request that is running."""
    _pending.append({**entry, "request": _request_id()})


def collect() -> str:
    """The answers kept since the last call, as JSON (the cell runner's user expression)."""
    import json

    taken = list(_pending)
    _pending.clear()
    return json.dumps(taken)


def record(title: str, case: str | None, part: str, produce, rule: dict,
           encoder=encode, what: str = "your answer") -> None:
    """Call ``produce()`` and send its value (or why it failed) for the grader to judge.

    Parameters
    ----------
    title : str
        The exercise's title (the grader files answers by the check cell, not by this).
    case : str or None
        None for the shown example, else the hidden test's label.
    part : str
        A framework's name in a side-by-side exercise, else ``""``.
    produce : callable
        Computes the answer (the student's code runs here).
    rule : dict
        How the answer is judged (the chapter's run's rule is the one applied).
    encoder : callable
        :func:`encode` for values, :func:`encode_model` for trained models.
    what : str
        How a message names the answer ("TensorFlow's answer"): a None gets the same diagnosis
        as in the notebook.
    """
    from book_kit.exercises.verdicts import ExerciseFailed, NotAttempted, compare_values

    entry = {"title": title, "case": case or SHOWN, "part": part, "rule": rule}
    try:
        value = produce()
        if value is None:  # raises, with the diagnosis a student sees in the notebook
            compare_values(None, 0.0, what=what)
        entry["value"] = encoder(value)
    except NotAttempted as e:
        entry["error"] = e.short
    except (ExerciseFailed, ValueError) as e:
        entry["error"] = str(e)[:1000]
    send(entry)
