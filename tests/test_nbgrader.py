"""The chapters work in an nbgrader course unchanged: nbgrader's own ``generate_assignment`` and
``autograde`` on a chapter give every student the same points as ``book-kit grade``.

nbgrader scores a check cell 0 if it raises or writes to stderr, full points if it runs clean, and
the number it ends with for partial credit; every check cell ends with
``exercise.done(points)`` for that (book_kit/exercises/checks.py)."""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from book_kit import exercises
from book_kit.grading import course as grading_course
from book_kit.grading.config import Settings
from book_kit.publishing import workbook

from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("ch*.ipynb"))
BIN = Path(sys.executable).parent


def _check_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


@pytest.mark.parametrize("path", CHAPTERS + [ROOT / "tests" / "grading" / "mini_chapter.ipynb"],
                         ids=lambda p: p.stem)
def test_every_check_cell_ends_with_its_own_points(path):
    cells = _check_cells(path)
    for cell in cells:
        last = cell.source.rstrip().splitlines()[-1]
        match = re.match(r"exercise\.done\(([\d.]+)\)", last)
        assert match, f"{cell.id} should end with exercise.done(points), not {last!r}"
        assert float(match.group(1)) == float(cell.metadata["nbgrader"]["points"]), cell.id


def test_done_shows_the_verdict_outside_nbgrader_and_scores_under_it(monkeypatch, capsys):
    def numpy_ones():
        return [1, 1, 1]

    def list_ones():
        return [1, 2, 3]

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    ones = exercises.Exercise("E (ones)")
    with pytest.raises(exercises.ExerciseFailed):
        ones.check_frameworks({"NumPy": numpy_ones, "list": list_ones}, expected=[1, 1, 1])
    assert ones.done(3) is None

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    ones = exercises.Exercise("E (ones)")
    ones.check_frameworks({"NumPy": numpy_ones, "list": list_ones},
                          expected=[1, 1, 1])  # prints the failure instead of raising
    assert "1 of 2 not right yet" in capsys.readouterr().out
    assert ones.done(3) == 1.5
    # a part right on the example but wrong on a hidden test earns nothing
    double = exercises.Exercise("F (double)")
    double.check(lambda x: 8, expected=8, args=(4,))
    double.check(lambda x: 8, expected=-3, args=(-1.5,), hidden="x = -1.5")
    assert double.done(2) == 0.0
    right = exercises.Exercise("G (double)")
    right.check(lambda x: 2 * x, expected=8, args=(4,))
    assert right.done(2) == 2


def _nbgrader(course, *args):
    # nbgrader runs `alembic` from PATH
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_CONFIG_DIR": str(course / ".jupyter"),
           "JUPYTER_DATA_DIR": str(course / ".jupyter-data")}
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_nbgrader_autogrades_a_chapter_with_the_same_points_as_book_kit(tmp_path):
    chapter = ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb"
    course = tmp_path / "course"
    (course / "source" / "ch03_1").mkdir(parents=True)
    (course / "source" / "ch03_1" / chapter.name).write_bytes(chapter.read_bytes())
    students = ("solved", "partial", "blank")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'book_kit'\n"
        "c.CourseDirectory.db_assignments = [dict(name='ch03_1')]\n"
        f"c.CourseDirectory.db_students = {[dict(id=s) for s in students]!r}\n"
        # as the README advises: nbgrader's 30 s cut the timing cell short on a loaded machine
        "c.Execute.timeout = 300\n")
    _nbgrader(course, "generate_assignment", "ch03_1", "--force")
    released = course / "release" / "ch03_1" / chapter.name
    ours = nbformat.reads(workbook.workbook_text(chapter), as_version=4)
    theirs = nbformat.read(released, as_version=4)
    # nbgrader's student version and ours ask the same: the same cells (ours adds a header that
    # says how to use a workbook, after the Colab badge), solutions taken out
    assert [c.id for c in ours.cells[:2]] == ["colab-badge", "book-kit-workbook-header"]
    assert [c.id for c in theirs.cells] == [c.id for c in ours.cells if c.id != ours.cells[1].id]
    assert "BEGIN HIDDEN TESTS" not in released.read_text()

    def submit(student, nb):
        path = course / "submitted" / student / "ch03_1" / chapter.name
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        return path

    solved = nbformat.read(chapter, as_version=4)
    partial = nbformat.read(released, as_version=4)
    answers = {c.id: c.source for c in solved.cells}
    for cell in partial.cells:
        if cell.id in ("ex1-solution", "ex2-solution", "ex3-solution"):
            cell.source = answers[cell.id]
    fix = {c.id: c for c in partial.cells}
    fix["ex1-solution"].source = re.sub(r"def gradient_jax\(x\):.*", "def gradient_jax(x):\n"
                                        "    return 0.0\n", fix["ex1-solution"].source, flags=re.S)
    fix["ex3-solution"].source = fix["ex3-solution"].source.replace("t[0] = 10.0", "pass")
    paths = [submit("solved", solved), submit("partial", partial),
             submit("blank", nbformat.read(released, as_version=4))]

    _nbgrader(course, "autograde", "ch03_1", "--force")
    _nbgrader(course, "export")
    with open(course / "grades.csv", encoding="utf-8") as f:
        theirs = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}

    rows = grading_course.grade(chapter, paths, tmp_path / "out", Settings(jobs=2),
                                progress=False)
    ours = {s: sum(r.points for r in rows if r.student == s) for s in students}
    assert ours == {"solved": 11, "partial": 2 + 3 + 2, "blank": 0}, rows
    assert theirs == ours
