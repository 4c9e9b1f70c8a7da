"""Trained models judged by what they do: the grader's own accuracy, on data the model never saw.

An exercise whose answer is a training outcome (an accuracy) hands in the trained model itself
(``Exercise.check_model``; the kernel sends its ``.keras`` file). The grader then runs
``python -m book_kit.grading.outcomes JOB.json`` in a second, fresh sandbox that runs none of the
submission's code: Keras loads each file in safe mode with no custom objects (a model built from
the student's own class, or with a ``Lambda`` layer, is refused with that reason), and its
accuracy is computed here from its predictions, on:

- ``"mnist-test"``: the 10,000 MNIST test digits, whose labels the submission's sandbox does not
  have (``book_kit.grading.course`` gives it a copy of MNIST with the test labels withheld);
- ``"blobs"``: new points of the chapter's two classes, drawn from the exercise's seed.

So a model whose ``fit`` or ``evaluate`` reports numbers it did not earn scores what it predicts.
The same function measures the accuracy in a chapter or workbook (``accuracy``), where the data
are the reader's own.

Example
-------
>>> accuracy(model, "blobs", seed=3)   # needs a trained Keras model   # doctest: +SKIP
0.998

Any object with Keras's ``predict`` is judged the same way; one that says class 0 for every
point gets half the blobs right:

>>> class Zeros:
...     def predict(self, inputs, batch_size=None, verbose=0):
...         return np.zeros((len(inputs), 1))
>>> accuracy(Zeros(), "blobs", seed=3)
0.5
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

DATASETS = ("mnist-test", "blobs")
BLOB_POINTS = 500  # per class


class EvaluationError(ValueError):
    """The model could not be evaluated; the message says why, for the student."""


def evaluation_data(on: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The inputs and labels a model is judged on (see the module's docstring).

    Parameters
    ----------
    on : str
        One of :data:`DATASETS`.
    seed : int
        The exercise's seed (used by ``"blobs"``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Inputs (float32) and integer labels.
    """
    if on == "mnist-test":
        from book_kit.datasets import load_mnist

        _, (images, labels) = load_mnist()
        return images.reshape(len(images), 784).astype("float32") / 255, labels.astype(int)
    if on == "blobs":
        from book_kit.synthetic import make_blobs

        inputs, targets = make_blobs(BLOB_POINTS, seed=int(seed) % 2**32)
        return inputs, targets.reshape(-1).astype(int)
    raise EvaluationError(f"unknown evaluation data {on!r}; known: {', '.join(DATASETS)}")


def _predicted_classes(model, inputs: np.ndarray) -> np.ndarray:
    shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if shape and None not in shape and int(np.prod(shape)) == inputs[0].size:
        inputs = inputs.reshape((len(inputs), *shape))
    try:
        scores = np.asarray(model.predict(inputs, batch_size=1000, verbose=0))
    except Exception as e:
        raise EvaluationError(f"the model could not predict the evaluation data "
                              f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    scores = scores.reshape(len(inputs), -1)
    if not np.isfinite(scores).all():
        raise EvaluationError("the model's predictions contain NaN or infinity")
    if scores.shape[1] == 1:  # one output: a score for the positive class
        return (scores[:, 0] > 0.5).astype(int)
    return scores.argmax(axis=1)


def accuracy(model, on: str, seed: int = 0) -> float:
    """The share of ``on``'s examples that ``model`` classifies right.

    Parameters
    ----------
    model : keras.Model
        A trained model (one output per class, or one score for a binary task).
    on : str
        The data (see :func:`evaluation_data`).
    seed : int
        The exercise's seed.

    Returns
    -------
    float
    """
    inputs, labels = evaluation_data(on, seed)
    return float(np.mean(_predicted_classes(model, inputs) == labels))


def load_safely(path: Path):
    """A ``.keras`` file as a model, in safe mode and with no custom objects, else
    EvaluationError."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        detail = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise EvaluationError(
            "the trained model could not be loaded without running your own code: build it "
            "from Keras's own layers (keras.Sequential or keras.Model with keras.layers; no "
            f"subclass of your own, no Lambda layer). Keras said: {detail}") from None


def evaluate_files(jobs: list[dict]) -> list[dict]:
    """Each ``{"file", "on", "seed"}`` job's ``{"accuracy"}`` or ``{"error"}``."""
    results = []
    for job in jobs:
        try:
            model = load_safely(Path(job["file"]))
            results.append({"accuracy": accuracy(model, job["on"], job["seed"])})
        except EvaluationError as e:
            results.append({"error": str(e)})
        except Exception as e:  # a file that breaks Keras in a way of its own
            results.append({"error": f"the trained model could not be evaluated "
                                     f"({type(e).__name__}: {str(e)[:200]})"})
    return results


def main(argv=None) -> None:
    """``python -m book_kit.grading.outcomes JOB.json``: print each model's result as JSON.

    Parameters
    ----------
    argv : list of str, optional
        ``[path of the job file]``; default ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else argv
    jobs = json.loads(Path(argv[0]).read_text())
    results = evaluate_files(jobs)
    sys.stdout.write("\n" + json.dumps(results) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no framework clean-up to wait for


if __name__ == "__main__":
    main()
