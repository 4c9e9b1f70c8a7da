"""Grading a class of made-up submissions, hostile ones included, on a mini chapter (NumPy only,
so a submission takes seconds) and once on a real chapter."""

import csv
import hashlib
import json
import subprocess
import sys
import time

import nbformat
import pytest

from book_kit import grading, workbook
from conftest import ROOT

MINI = ROOT / "tests" / "grading" / "mini_chapter.ipynb"
as_root = pytest.mark.skipif(not grading.sandbox_available(), reason="isolating submissions needs root")


def _workbook(chapter=MINI):
    return nbformat.reads(workbook.workbook_text(chapter), as_version=4)


def _answer(nb, cell_id, source):
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    cell.source = source
    return nb


def _insert_before(nb, cell_id, source):
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.insert(index, cell)
    return nb


RIGHT = {
    "ex1-solution": "def double(x):\n    return x + x",
    "ex2-solution": "def mean_of_squares(values):\n    return np.mean(np.asarray(values) ** 2)",
    "ex3-solution": "def ones_numpy():\n    return np.ones(3)\n\n\ndef ones_list():\n    return [1, 1, 1]",
}


def _right(nb, *cells):
    for cell in cells:
        _answer(nb, cell, RIGHT[cell])
    return nb


def _make_class(folder, outside, chapter_copy):
    """Eleven submissions: what a class hands in, the honest and the hostile."""
    subs = {}
    subs["correct"] = _right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    partly = _right(_workbook(), "ex1-solution")
    subs["partly"] = _answer(partly, "ex2-solution", "def mean_of_squares(values):\n"
                                                     "    return np.mean(values)")
    subs["empty"] = _workbook()
    subs["other_chapter"] = _workbook(ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb")
    subs["endless_loop"] = _right(_answer(_workbook(), "ex1-solution",
                                          "def double(x):\n    while True:\n        pass"),
                                  "ex2-solution", "ex3-solution")
    killer = _right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    subs["kernel_killer"] = _insert_before(killer, "ex2-md", "import os\nos._exit(1)")
    subs["memory_hog"] = _right(_answer(_workbook(), "ex2-solution",
                                        "def mean_of_squares(values):\n"
                                        "    big = np.ones((4, 10**9))  # 32 GB\n"
                                        "    return np.mean(np.square(values))"),
                                "ex1-solution", "ex3-solution")
    vandal = _right(_workbook(), "ex2-solution", "ex3-solution")
    subs["vandal"] = _answer(vandal, "ex1-solution", f"""\
import os, pathlib
def double(x):
    for victim in pathlib.Path({str(folder)!r}).glob("*.ipynb"):
        victim.write_text("{{}}")        # rewrite the other submissions
    pathlib.Path({str(outside)!r}).write_text("was here")
    os.remove({str(chapter_copy)!r})    # and the chapter itself
    return 2 * x""")
    edits = _answer(_workbook(), "ex1-check", 'print("✔ Exercise 1 (double): correct!")')
    edits.cells = [c for c in edits.cells if c.get("id") != "ex2-check"]
    subs["edits_checks"] = _right(edits, "ex3-solution")
    patcher = _insert_before(_right(_workbook(), "ex3-solution"), "ex1-md", """\
import book_kit.exercises as checks
def always_right(title, *args, **kwargs):
    print(f"✔ {title}: correct!")
checks.check = checks.check_frameworks = always_right
ex = checks""")
    subs["monkey_patcher"] = patcher
    for name, nb in subs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "not_json.ipynb").write_text("{ this is not a notebook")
    return sorted(folder.glob("*.ipynb"))


EXPECTED = {  # student -> (ex1, ex2, ex3) passed, and words each failure message must contain
    "correct": [(True, ""), (True, ""), (True, "")],
    "partly": [(True, ""), (False, "is 2, expected 4.667"), (False, "not attempted yet")],
    "empty": [(False, "not attempted yet")] * 3,
    "other_chapter": [(False, "another chapter (ch03_1_tensors_and_gradients.ipynb)")] * 3,
    "endless_loop": [(False, "timed out"), (True, ""), (True, "")],
    "kernel_killer": [(True, ""), (False, "an earlier cell stopped the kernel"),
                      (False, "an earlier cell stopped the kernel")],
    "memory_hog": [(True, ""), (False, "MemoryError"), (True, "")],
    "vandal": [(False, "Read-only file system"), (True, ""), (True, "")],
    "edits_checks": [(False, "not attempted yet"), (False, "not attempted yet"), (True, "")],
    "monkey_patcher": [(False, "not attempted yet"), (False, "not attempted yet"), (True, "")],
    "not_json": [(False, "not a valid notebook")] * 3,
}


@pytest.mark.slow
@as_root
def test_grading_a_hostile_class(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    chapter = tmp_path / "chapter" / MINI.name  # a copy: the vandal aims at it
    chapter.parent.mkdir()
    chapter.write_bytes(MINI.read_bytes())
    submissions = _make_class(folder, outside, chapter)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in submissions}
    chapter_before = hashlib.sha256(chapter.read_bytes()).hexdigest()
    out = tmp_path / "grades"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "book_kit.cli", "grade", "--chapter", str(chapter), *map(str, submissions),
         "--out", str(out), "-j", "2", "--timeout", "10", "--memory-mb", "3000"],
        capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout, f"\ngraded {len(submissions)} submissions with -j 2 in {elapsed:.0f} s")

    # nothing a submission did reached outside its private copy
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in submissions}
    assert after == before
    assert hashlib.sha256(chapter.read_bytes()).hexdigest() == chapter_before
    assert not outside.exists()

    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "exercise", "passed", "message"]
    got = {}
    for row in rows:
        got.setdefault(row["student"], []).append(row)
    assert set(got) == set(EXPECTED)
    for student, expected in EXPECTED.items():
        exercises = [r["exercise"] for r in got[student]]
        assert exercises == ["ex1", "ex2", "ex3"], student
        for row, (passed, words) in zip(got[student], expected):
            assert (row["passed"] == "yes") == passed, (student, row)
            assert words in row["message"], (student, row, got)
            assert passed == (row["message"] == ""), (student, row)
    html = (out / "gradebook.html").read_text()
    assert "monkey_patcher" in html and "Exercise 2 (mean of squares)" in html
    summary = result.stdout
    assert "correct         3/3    ✔    ✔    ✔" in summary
    assert "empty           0/3    ✘    ✘    ✘" in summary


def test_usage_errors_exit_non_zero(tmp_path):
    def grade(*args):
        return subprocess.run([sys.executable, "-m", "book_kit.cli", "grade", *args],
                              capture_output=True, text=True, timeout=120)

    sub = tmp_path / "a.ipynb"
    nbformat.write(_workbook(), sub)
    missing = grade("--chapter", str(tmp_path / "nope.ipynb"), str(sub), "--out", str(tmp_path))
    assert missing.returncode == 2 and "no chapter notebook" in missing.stderr
    no_checks = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), no_checks)
    plain = grade("--chapter", str(no_checks), str(sub), "--out", str(tmp_path))
    assert plain.returncode == 2 and "no check cells" in plain.stderr
    twins = tmp_path / "other"
    twins.mkdir()
    nbformat.write(_workbook(), twins / "a.ipynb")
    same = grade("--chapter", str(MINI), str(sub), str(twins / "a.ipynb"), "--out", str(tmp_path))
    assert same.returncode == 2 and "same name: a" in same.stderr
    assert grade("--chapter", str(MINI)).returncode == 2  # argparse: no submissions


def test_restored_checks_replace_edited_ones_and_come_back_where_deleted():
    chapter = nbformat.read(MINI, as_version=4)
    sub = _workbook()
    _answer(sub, "ex1-check", "print('trust me')")
    sub.cells = [c for c in sub.cells if c.get("id") != "ex2-check"]
    graded = grading.graded_notebook(chapter, sub)
    ids = [c.get("id") for c in graded.cells]
    assert ids.index("ex2-check") == ids.index("ex2-solution") + 1
    ex1 = next(c for c in graded.cells if c.get("id") == "ex1-check")
    assert "trust me" not in ex1.source and "_bk_fresh" in ex1.source
    assert ex1.outputs[0]["text"] == "✔ Exercise 1 (double): correct!\n"
    assert workbook.HEADER_ID not in ids
    assert all(not c.get("outputs") for c in graded.cells
               if c.cell_type == "code" and not workbook.is_check_cell(c))


@pytest.mark.slow
def test_grading_a_real_chapter(tmp_path):
    chapter = ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb"
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes(chapter.read_bytes())  # the chapter itself answers every exercise
    blank = tmp_path / "blank.ipynb"
    blank.write_text(workbook.workbook_text(chapter))
    rows = grading.grade(chapter, [solved, blank], tmp_path / "out", grading.Settings(jobs=2),
                         progress=False)
    by = {(r.student, r.exercise): r for r in rows}
    assert all(by[("solved", e)].passed for e in ("ex1", "ex2", "ex3", "ex4"))
    assert not any(by[("blank", e)].passed for e in ("ex1", "ex2", "ex3", "ex4"))
    assert "not attempted yet" in by[("blank", "ex4")].message
    assert "TensorFlow: gradient_tf() is not attempted yet" in by[("blank", "ex1")].message
    json.loads(json.dumps([dataclass_row.__dict__ for dataclass_row in rows]))
