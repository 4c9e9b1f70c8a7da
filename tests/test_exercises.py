"""Checks: one fixed line when right; one clear message per kind of mistake; no tracebacks."""

import numpy as np
import pytest

from book_kit import exercises as ex
from book_kit.exercises import checks

RIGHT_LINE = "✔ Exercise X: correct!\n"
SHOWN_ONLY = ("✔ Exercise X: right on the shown example (hidden tests run when your work is "
              "graded)\n")


def test_right_answer_prints_one_fixed_line_that_says_what_it_covered(capsys):
    exercise = ex.Exercise("Exercise X")
    exercise.check(lambda: np.float32(2.0000001), expected=2.0)
    assert capsys.readouterr().out == ""  # the verdict comes at the end of the cell
    exercise.done(1)
    assert capsys.readouterr().out == SHOWN_ONLY  # a workbook: its hidden tests are not there
    exercise = ex.Exercise("Exercise X")
    exercise.check(lambda: 2.0, expected=2.0)
    exercise.check(lambda: 3.0, expected=3.0, hidden="x = 3")
    exercise.done(1)
    assert capsys.readouterr().out == RIGHT_LINE  # a chapter: hidden tests ran too


def test_a_failure_names_its_exercise():
    with pytest.raises(ex.ExerciseFailed, match=r"^Exercise 4 \(steps\): the 10 losses"):
        ex.Exercise("Exercise 4 (steps)").check([1.0], expected=[2.0], what="the 10 losses")


@pytest.mark.parametrize("answer, expected, words", [
    (lambda: None, 1.0, "is None: did the function forget to `return`"),
    (lambda: np.ones(3), np.ones((3, 1)),
     r"has shape \(3,\), expected \(3, 1\) \(same numbers, different shape"),
    (lambda: np.ones(2), np.ones(3), r"has shape \(2,\), expected \(3,\)\."),
    (lambda: np.array([1.0, np.nan]), [1.0, 1.0], "contains NaN"),
    (lambda: np.array([np.inf]), [1.0], "contains infinity"),
    (lambda: 2.5, 2.0, r"is 2.5, expected 2 \(tolerance atol=1e-06, rtol=1e-05\)"),
    (lambda: "two", 2.0, "should be numbers"),
])
def test_each_mistake_gets_its_own_message(answer, expected, words, capsys):
    with pytest.raises(ex.ExerciseFailed, match=words):
        ex.Exercise("Exercise X").check(answer, expected=expected, hint="think again")
    assert capsys.readouterr().out == ""  # no "correct" line


def test_hint_is_added():
    with pytest.raises(ex.ExerciseFailed, match="Hint: use the chain rule"):
        ex.Exercise("E").check(1.0, expected=2.0, hint="use the chain rule")


def test_wrong_dtype_when_asked():
    with pytest.raises(ex.ExerciseFailed, match="dtype int64, expected float32"):
        ex.Exercise("E").check(np.array([1, 2]), expected=np.array([1, 2], dtype="float32"),
                               check_dtype=True)


def test_not_attempted_is_not_an_error_of_the_student():
    def solution():
        raise NotImplementedError()

    with pytest.raises(ex.NotAttempted, match=r"solution\(\) is not attempted yet: replace"):
        ex.Exercise("E").check(solution, expected=1.0)


def test_exception_in_student_code_names_their_line_not_a_traceback():
    def solution(x):
        y = x @ np.ones((3, 3))  # shapes do not fit
        return y

    with pytest.raises(ex.ExerciseFailed) as caught:
        ex.Exercise("E").check(solution, expected=1.0, args=(np.ones((2, 2)),))
    message = str(caught.value)
    assert message.startswith("E: solution() raised ValueError: matmul")
    assert "line" in message and "y = x @ np.ones((3, 3))" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("make", [
    lambda: __import__("torch").tensor([1.0, 2.0], requires_grad=True),
    lambda: __import__("tensorflow").Variable([1.0, 2.0]),
    lambda: __import__("jax.numpy").numpy.asarray([1.0, 2.0]),
    lambda: [1.0, 2.0],
])
def test_tensors_of_every_framework_are_accepted(make, capsys):
    exercise = ex.Exercise("Exercise X")
    exercise.check(make(), expected=np.array([1.0, 2.0]))
    exercise.done(1)
    assert capsys.readouterr().out == SHOWN_ONLY


def test_side_by_side_table_and_verdicts(capsys):
    def good(x):
        return 2 * x

    def wrong(x):
        return 3 * x

    def todo(x):
        raise NotImplementedError()

    with pytest.raises(ex.ExerciseFailed) as caught:
        ex.Exercise("Exercise Y").check_frameworks(
            {"TensorFlow": good, "PyTorch": wrong, "JAX": todo}, expected=4.0, args=(2.0,))
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["framework", "got", "expected", "verdict"]
    assert table[2].split() == ["TensorFlow", "matches", "4", "✔"]
    assert table[3].split() == ["PyTorch", "6", "4", "✘"]
    assert table[4].split() == ["JAX", "-", "4", "○"]  # not started is not wrong
    message = str(caught.value)
    assert "2 of 3 not right yet" in message and "PyTorch's answer is 6, expected 4" in message
    assert "JAX: todo() is not attempted yet" in message


def test_side_by_side_not_started_is_calm_until_something_is_wrong(capsys):
    """Right or not attempted, none wrong: a calm NotAttempted naming what is left."""
    def todo(x):
        raise NotImplementedError()

    def todo_too(x):
        raise NotImplementedError()

    exercise = ex.Exercise("Exercise Z")
    with pytest.raises(ex.NotAttempted) as caught:
        exercise.check_frameworks({"NumPy": lambda x: 2 * x, "PyTorch": todo, "JAX": todo_too},
                                  expected=4.0, args=(2.0,))
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()[2:]] == \
        ["✔", "○", "○"]
    assert str(caught.value).startswith(
        "Exercise Z: todo() and todo_too() are not attempted yet: replace")
    assert exercise.not_attempted and exercise.right is None
    assert exercise.status() == "○ not attempted yet"


def test_side_by_side_all_right_ends_with_the_fixed_line(capsys):
    exercise = ex.Exercise("Exercise X")
    exercise.check_frameworks({"NumPy": lambda: np.float64(1.0)}, expected=1.0)
    exercise.done(1)
    assert capsys.readouterr().out.endswith(SHOWN_ONLY)


def test_in_jupyter_a_failure_shows_its_message_without_traceback(tmp_path):
    """After the chapter's first cell (book_kit.setup_notebook()): importing does not do it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import book_kit\nbook_kit.setup_notebook()\nfrom book_kit import exercises as ex\n"
        "ex.Exercise('Exercise Z').check(1.0, expected=2.0, hint='double it')")]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "ExerciseFailed"
    text = "\n".join(error.traceback)
    assert "Exercise Z: your answer is 1, expected 2" in text and "Hint: double it" in text
    assert "File " not in text and "exercises.py" not in text  # no frames, no library paths


def test_summary_lists_every_exercise_and_fails_unless_all_are_right(capsys):
    checks._exercises.clear()
    a, b, c, d = (ex.Exercise(f"Exercise {n}") for n in "ABCD")
    a.check(lambda: 2, expected=2)
    a.done(1)
    with pytest.raises(ex.ExerciseFailed):
        b.check(lambda: 3, expected=2)
    c.check(lambda: 1, expected=1)
    with pytest.raises(ex.ExerciseFailed):  # right on the example, wrong on a hidden test
        c.check(lambda: 1, expected=5, hidden="other input")
    with pytest.raises(ex.ExerciseFailed, match="3 of 4 exercises not right yet: Exercise B; "
                                                "Exercise C; Exercise D"):
        ex.summary()
    table = capsys.readouterr().out
    assert "Exercise A  ✔ right" in table and "Exercise B  ✘ not right yet" in table
    assert "Exercise D  - not checked yet" in table
    for exercise, value in ((ex.Exercise("Exercise B"), 2), (ex.Exercise("Exercise C"), 5),
                            (ex.Exercise("Exercise D"), 0)):  # each check cell run again
        exercise.check(lambda: value, expected=value)
        exercise.done(1)
    ex.summary()
    checks._exercises.clear()


def test_when_grading_checks_keep_answers_for_the_grader_and_judge_nothing(monkeypatch, capsys):
    import json

    from book_kit.grading import record

    monkeypatch.setenv(record.ENV, "1")
    record.collect()
    exercise = ex.Exercise("Exercise G")
    exercise.check(lambda: 3.0, expected=None)  # wrong, and nothing says so in the kernel
    exercise.check_frameworks({"A": lambda: 1.0, "B": lambda: None}, expected=None, hidden="h")
    assert exercise.done(1) is None and capsys.readouterr().out == ""
    sent = json.loads(record.collect())
    assert [(e["case"], e["part"]) for e in sent] == [("shown", ""), ("h", "A"), ("h", "B")]
    assert sent[0]["value"] == {"shape": [], "data": [3.0]} and "is None" in sent[2]["error"]
    assert json.loads(record.collect()) == []  # taken once


def test_an_unattempted_exercise_is_shown_calmly_and_a_wrong_one_in_red():
    """In Jupyter a student who has not started is not wrong: "not attempted yet" is a plain
    line (no red error box), a wrong answer is red, and the summary is calm until something is
    wrong."""
    import nbformat
    from nbclient import NotebookClient

    cells = ["import book_kit\nbook_kit.setup_notebook()\nfrom book_kit import exercises as ex\n"
             "def double(x):\n    raise NotImplementedError()",
             "exercise = ex.Exercise('Exercise 1 (double)')\n"
             "exercise.check(double, expected=8, args=(4,))\nexercise.done(1)",
             "ex.summary()",
             "def double(x):\n    return x + 2",
             "exercise = ex.Exercise('Exercise 1 (double)')\n"
             "exercise.check(double, expected=6, args=(3,))\nexercise.done(1)",
             "ex.summary()"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c, metadata={"tags": ["raises-exception"]})
                for c in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    unattempted, calm_summary, wrong, red_summary = (nb.cells[i].outputs for i in (1, 2, 4, 5))
    for outputs in (unattempted, calm_summary):
        assert not [o for o in outputs if o.output_type == "error"], outputs
    text = "".join(o.get("text", "") for o in unattempted)
    assert text.startswith("○ ") and "not attempted yet" in text
    assert "○ not attempted yet" in "".join(o.get("text", "") for o in calm_summary)
    for outputs in (wrong, red_summary):
        errors = [o for o in outputs if o.output_type == "error"]
        assert errors and "\x1b[31m✘" in errors[0].traceback[0]
