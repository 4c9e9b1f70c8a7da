"""Checks: one fixed line when right; one clear message per kind of mistake; no tracebacks."""

import numpy as np
import pytest

from book_kit import exercises as ex

RIGHT_LINE = "✔ Exercise X: correct!\n"


def test_right_answer_prints_one_fixed_line(capsys):
    ex.check("Exercise X", lambda: np.float32(2.0000001), 2.0)
    assert capsys.readouterr().out == RIGHT_LINE


@pytest.mark.parametrize("answer, expected, words", [
    (lambda: None, 1.0, "is None: did the function forget to `return`"),
    (lambda: np.ones(3), np.ones((3, 1)), r"has shape \(3,\), expected \(3, 1\) \(same numbers, different shape"),
    (lambda: np.ones(2), np.ones(3), r"has shape \(2,\), expected \(3,\)\."),
    (lambda: np.array([1.0, np.nan]), [1.0, 1.0], "contains NaN"),
    (lambda: np.array([np.inf]), [1.0], "contains infinity"),
    (lambda: 2.5, 2.0, r"is 2.5, expected 2 \(tolerance atol=1e-06, rtol=1e-05\)"),
    (lambda: "two", 2.0, "should be numbers"),
])
def test_each_mistake_gets_its_own_message(answer, expected, words, capsys):
    with pytest.raises(ex.ExerciseFailed, match=words):
        ex.check("Exercise X", answer, expected, hint="think again")
    assert capsys.readouterr().out == ""  # no "correct" line


def test_hint_is_added():
    with pytest.raises(ex.ExerciseFailed, match="Hint: use the chain rule"):
        ex.check("E", 1.0, 2.0, hint="use the chain rule")


def test_wrong_dtype_when_asked():
    with pytest.raises(ex.ExerciseFailed, match="dtype int64, expected float32"):
        ex.check("E", np.array([1, 2]), np.array([1, 2], dtype="float32"), check_dtype=True)


def test_not_attempted_is_not_an_error_of_the_student():
    def solution():
        raise NotImplementedError()

    with pytest.raises(ex.NotAttempted, match=r"solution\(\) is not attempted yet: replace"):
        ex.check("E", solution, 1.0)


def test_exception_in_student_code_names_their_line_not_a_traceback():
    def solution(x):
        y = x @ np.ones((3, 3))  # shapes do not fit
        return y

    with pytest.raises(ex.ExerciseFailed) as caught:
        ex.check("E", solution, 1.0, args=(np.ones((2, 2)),))
    message = str(caught.value)
    assert message.startswith("solution() raised ValueError: matmul")
    assert "line" in message and "y = x @ np.ones((3, 3))" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("make", [
    lambda: __import__("torch").tensor([1.0, 2.0], requires_grad=True),
    lambda: __import__("tensorflow").Variable([1.0, 2.0]),
    lambda: __import__("jax.numpy").numpy.asarray([1.0, 2.0]),
    lambda: [1.0, 2.0],
])
def test_tensors_of_every_framework_are_accepted(make, capsys):
    ex.check("Exercise X", make(), np.array([1.0, 2.0]))
    assert capsys.readouterr().out == RIGHT_LINE


def test_side_by_side_table_and_verdicts(capsys):
    def good(x):
        return 2 * x

    def wrong(x):
        return 3 * x

    def todo(x):
        raise NotImplementedError()

    with pytest.raises(ex.ExerciseFailed) as caught:
        ex.check_frameworks("Exercise Y", {"TensorFlow": good, "PyTorch": wrong, "JAX": todo},
                            expected=4.0, args=(2.0,))
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["framework", "got", "expected"]
    assert table[2].split() == ["TensorFlow", "matches", "4", "✔"]
    assert table[3].split() == ["PyTorch", "6", "4", "✘"]
    assert table[4].split() == ["JAX", "-", "4", "✘"]
    message = str(caught.value)
    assert "2 of 3 not right yet" in message and "PyTorch's answer is 6, expected 4" in message
    assert "JAX: todo() is not attempted yet" in message


def test_side_by_side_all_right_ends_with_the_fixed_line(capsys):
    ex.check_frameworks("Exercise X", {"NumPy": lambda: np.float64(1.0)}, expected=1.0)
    assert capsys.readouterr().out.endswith(RIGHT_LINE)


def test_in_jupyter_a_failure_shows_its_message_without_traceback(tmp_path):
    """After the chapter's first cell (book_kit.setup_notebook()): importing does not do it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import book_kit\nbook_kit.setup_notebook()\nfrom book_kit import exercises as ex\n"
        "ex.check('Exercise Z', 1.0, 2.0, hint='double it')")]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "ExerciseFailed"
    text = "\n".join(error.traceback)
    assert "your answer is 1, expected 2" in text and "Hint: double it" in text
    assert "File " not in text and "exercises.py" not in text  # no frames, no library paths


def test_summary_lists_every_exercise_and_fails_unless_all_are_right(capsys):
    from book_kit import exercises as ex

    ex._verdicts.clear()
    ex.check("Exercise A", lambda: 2, 2)
    with pytest.raises(ex.ExerciseFailed):
        ex.check("Exercise B", lambda: 3, 2)
    ex.check("Exercise C", lambda: 1, 1)
    with pytest.raises(ex.ExerciseFailed):  # right on the example, wrong on a hidden test
        ex.check("Exercise C", lambda: 1, 5, hidden="other input")
    with pytest.raises(ex.ExerciseFailed, match="3 of 4 exercises not right yet: Exercise B; "
                                                "Exercise C; Exercise D"):
        ex.summary(["Exercise A", "Exercise B", "Exercise C", "Exercise D"])
    table = capsys.readouterr().out
    assert "Exercise A  ✔ right" in table and "Exercise B  ✘ not right yet" in table
    assert "Exercise D  - not checked yet" in table
    ex.check("Exercise B", lambda: 2, 2)  # fixed and checked again
    ex.check("Exercise C", lambda: 5, 5)
    ex.check("Exercise D", lambda: 0, 0)
    ex.summary(["Exercise A", "Exercise B", "Exercise C", "Exercise D"])
    ex._verdicts.clear()
