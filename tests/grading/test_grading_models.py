"""Trained models are judged by what they predict, measured by the grader in a sandbox of its
own, never by the numbers their own methods report; MNIST's test labels stay outside the
submission's sandbox."""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from class_helpers import MINI_KERAS, answer, blank_workbook

HONEST = """\
def build_classifier():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model"""

# A Sequential of its own whose fit and evaluate report numbers it never earned
SUBCLASS_LIAR = """\
class Confident(keras.Sequential):
    def fit(self, *args, **kwargs):
        history = keras.callbacks.History()
        history.history = {"accuracy": [0.99]}
        return history

    def evaluate(self, *args, **kwargs):
        return [0.01, 0.99]


def build_classifier():
    model = Confident([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model"""

# Keras's own Sequential, its fit replaced on the object: it is never trained
UNTRAINED_LIAR = """\
class Reported:
    history = {"accuracy": [0.99]}


def build_classifier():
    model = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(1, activation="sigmoid",
                                                 kernel_initializer="zeros")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit = lambda *args, **kwargs: Reported()
    return model"""

# Trained for real, but with a Lambda layer: loading it would run the student's code
LAMBDA = """\
def build_classifier():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1),
                              keras.layers.Lambda(lambda t: keras.ops.sigmoid(t))])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model"""

EXPECTED = {  # student -> (passed, words in the message)
    "honest": (True, ""),
    "subclass_liar": (False, "could not be loaded without running your own code"),
    "untrained_liar": (False, "the accuracy on 1,000 new points is 0.5000; it should be at "
                              "least 0.97"),
    "lambda_layer": (False, "could not be loaded without running your own code"),
    "unanswered": (False, "build_classifier() is not attempted yet"),
}


NOBODY = 65534


@pytest.mark.slow
@pytest.mark.parametrize("as_user", [False, True], ids=["as_root", "as_an_ordinary_user"])
def test_a_model_scores_what_the_grader_measures_not_what_it_reports(tmp_path, as_user):
    if os.geteuid() != 0:
        pytest.skip("grading as root, or switching to an ordinary user, needs root")
    base = Path(tempfile.mkdtemp(prefix="book_kit-user-models-", dir="/tmp")) if as_user \
        else tmp_path
    try:
        _grade_models(base, as_user)
    finally:
        if as_user:
            shutil.rmtree(base, ignore_errors=True)


def _grade_models(tmp_path, as_user):
    import ordinary_user

    sources = {"honest": HONEST, "subclass_liar": SUBCLASS_LIAR,
               "untrained_liar": UNTRAINED_LIAR, "lambda_layer": LAMBDA}
    paths = []
    for name, source in sources.items():
        nbformat.write(answer(blank_workbook(MINI_KERAS), "ex1-solution", source),
                       tmp_path / f"{name}.ipynb")
        paths.append(tmp_path / f"{name}.ipynb")
    nbformat.write(blank_workbook(MINI_KERAS), tmp_path / "unanswered.ipynb")
    paths.append(tmp_path / "unanswered.ipynb")
    chapter = tmp_path / MINI_KERAS.name
    chapter.write_bytes(MINI_KERAS.read_bytes())
    command = ["-m", "book_kit.cli", "grade", "--chapter", str(chapter), *map(str, paths),
               "--out", str(tmp_path / "out"), "-j", "2"]
    env = dict(os.environ)
    if not as_user:
        result = subprocess.run([sys.executable, *command], capture_output=True, text=True,
                                timeout=900, env=env)
    else:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        env["HOME"] = str(tmp_path)
        with ordinary_user.python_for(NOBODY) as user:
            env.update(user.env)
            result = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                     "--clear-groups", user.python, *command],
                                    capture_output=True, text=True, timeout=900, env=env,
                                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    wrong = [(s, rows[s]["passed"], rows[s]["message"]) for s, (passed, words) in EXPECTED.items()
             if (rows[s]["passed"] == "yes") != passed or words not in rows[s]["message"]]
    assert not wrong, wrong


def test_the_submissions_sandbox_gets_mnist_without_its_test_labels(tmp_path, monkeypatch):
    from book_kit import datasets
    from book_kit.grading import course, run

    chapter = course.Chapter(tmp_path / "ch.ipynb", b"", nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("book_kit.load_mnist()")]), {}, {}, {}, {}, "s")
    folder, withheld = course.sandbox_data(chapter, tmp_path / "data")
    assert withheld == "mnist:y_test"
    real = datasets.load("mnist")
    with np.load(folder / "mnist.npz") as copy:
        assert (copy["x_test"] == real["x_test"]).all() and \
            (copy["y_train"] == real["y_train"]).all()
        agree = float(np.mean(copy["y_test"] == real["y_test"]))
    assert agree < 0.2  # random digits: a tenth agree by chance
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(folder))
    monkeypatch.setenv(run.WITHHELD_ENV, withheld)
    (_, _), (_, labels) = datasets.load_mnist()  # loads, as the chapter's cells need
    assert labels.shape == (10000,) and float(np.mean(labels == real["y_test"])) < 0.2
