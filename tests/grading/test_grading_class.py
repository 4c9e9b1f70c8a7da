"""Grading a class as an instructor does: points, the class files, feedback, a cached re-grade,
shards, what feedback reveals, the course's private tests; a real chapter; limits of time."""

import csv
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from book_kit.grading import course
from book_kit.grading.config import Settings
from book_kit.publishing import workbook

from class_helpers import MINI, answer, blank_workbook, insert_before, right, solved
from conftest import ROOT


@pytest.mark.slow
def test_grading_a_real_chapter(tmp_path):
    chapter = ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb"
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes(chapter.read_bytes())  # the chapter itself answers every exercise
    blank = tmp_path / "blank.ipynb"
    blank.write_text(workbook.workbook_text(chapter))
    hard_coded = nbformat.reads(workbook.workbook_text(chapter), as_version=4)
    nbformat.write(answer(hard_coded, "ex1-solution", "\n\n".join(
        f"def gradient_{name}(x):\n    return 4.75" for name in ("tf", "torch", "jax"))),
        tmp_path / "hard_coded.ipynb")
    # the lookup table: the public chapter's shown and hidden inputs, no autodiff
    table = nbformat.reads(workbook.workbook_text(chapter), as_version=4)
    nbformat.write(answer(table, "ex1-solution", "\n".join(
        f"gradient_{name} = lambda x: {{1.5: 4.75, -0.7: -0.53, 2.0: 10.0}}[x]"
        for name in ("tf", "torch", "jax"))), tmp_path / "lookup_table.ipynb")
    rows = course.grade(chapter, [solved, blank, tmp_path / "hard_coded.ipynb",
                                  tmp_path / "lookup_table.ipynb"], tmp_path / "out",
                        Settings(jobs=2), progress=False)
    by = {(r.student, r.exercise): r for r in rows}
    assert all(by[("solved", e)].passed for e in ("ex1", "ex2", "ex3", "ex4")), rows
    assert not any(by[("blank", e)].passed for e in ("ex1", "ex2", "ex3", "ex4"))
    assert by[("blank", "ex4")].message == "fixed_training_step() is not attempted yet"
    assert by[("blank", "ex1")].message.startswith("TensorFlow: gradient_tf() is not attempted "
                                                   "yet; PyTorch: gradient_torch() is not "
                                                   "attempted")
    assert not by[("hard_coded", "ex1")].passed
    assert by[("hard_coded", "ex1")].message.startswith(
        "TensorFlow: right on the shown example, wrong on a hidden test (x = -0.7)")
    assert not by[("lookup_table", "ex1")].passed and by[("lookup_table", "ex1")].points == 0
    assert "wrong on a hidden test (an input drawn at grading time" in \
        by[("lookup_table", "ex1")].message
    json.loads(json.dumps([dataclass_row.__dict__ for dataclass_row in rows]))


def test_no_sandbox_means_no_grading_unless_asked(tmp_path, monkeypatch, capsys):
    from book_kit.grading import sandbox

    # a bwrap that fails the way it does where user namespaces are disabled
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(fake))
    monkeypatch.setattr(sandbox, "_probe", {})
    reason = sandbox.why_unavailable()
    assert "No permissions to create a new namespace" in reason and "user namespaces" in reason
    sub = tmp_path / "a.ipynb"
    nbformat.write(right(blank_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"), sub)
    with pytest.raises(course.UsageError, match="--no-sandbox"):
        course.grade(MINI, [sub], tmp_path / "out", Settings(), progress=False)
    assert not (tmp_path / "out" / "gradebook.csv").exists()
    rows = course.grade(MINI, [sub], tmp_path / "out", Settings(sandbox=False),
                         progress=False)
    assert [r.passed for r in rows] == [True, True, True]
    assert "--no-sandbox: submissions run with your own permissions" in capsys.readouterr().err


def test_a_notebook_over_its_time_is_stopped_and_what_it_answered_still_counts(tmp_path):
    slow = insert_before(right(blank_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"),
                          "ex2-md", "import time\ntime.sleep(30)")  # within its cell's time
    nbformat.write(slow, tmp_path / "slow.ipynb")
    start = time.perf_counter()
    rows = course.grade(MINI, [tmp_path / "slow.ipynb"], tmp_path / "out",
                         Settings(timeout=40, notebook_timeout=12), progress=False)
    assert time.perf_counter() - start < 60
    assert [r.passed for r in rows] == [True, False, False]
    assert rows[1].message.startswith("not run: grading stopped after 12 s")


def test_a_class_gets_points_scores_feedback_and_a_cached_regrade(tmp_path):
    """Honest, partial, empty, late, two students with the same file name, one who never handed
    in: every output file, then a second grading that runs nothing."""
    inbox = tmp_path / "inbox"
    for folder in ("morning", "evening"):
        (inbox / folder).mkdir(parents=True)
    nbformat.write(right(blank_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"),
                   inbox / "honest.ipynb")
    partial = answer(right(blank_workbook(), "ex1-solution"), "ex3-solution",
                     "def ones_numpy(n):\n    return np.ones(n)\n\n\ndef ones_list(n):\n"
                     "    return list(range(1, n + 1))")
    partial.cells.insert(1, nbformat.v4.new_markdown_cell("my notes <script>steal()</script>"))
    nbformat.write(partial, inbox / "partial.ipynb")
    nbformat.write(blank_workbook(), inbox / "morning" / "hw.ipynb")
    nbformat.write(right(blank_workbook(), "ex1-solution"), inbox / "evening" / "hw.ipynb")
    late = tmp_path / "course" / "submitted" / "grace" / "ps1" / "mini_chapter.ipynb"
    late.parent.mkdir(parents=True)
    nbformat.write(insert_before(right(blank_workbook(), "ex1-solution", "ex2-solution",
                                         "ex3-solution"), "ex1-md", "# grace's own notes"), late)
    # the deadline is tomorrow: files written now are on time, grace's timestamp is after it
    deadline = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) \
        + datetime.timedelta(days=1)
    handed_in = deadline + datetime.timedelta(hours=8)
    (late.parent / "timestamp.txt").write_text(handed_in.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    config = tmp_path / "grading.toml"
    config.write_text(f'timeout = 30\njobs = 2\ndeadline = {deadline:%Y-%m-%dT%H:%M:%SZ}\n'
                      'roster = ["honest", "partial", "morning/hw", "evening/hw", '
                      '"grace", "alan"]\n'
                      '[points]\nex2 = 4\n')
    submissions = sorted(map(str, inbox.rglob("*.ipynb"))) + [str(late)]
    out = tmp_path / "grades"

    def grade(*extra, out=out, command=("grade", "--chapter", str(MINI), *submissions)):
        result = subprocess.run([sys.executable, "-m", "book_kit.cli", *command, "--out", str(out),
                                 *extra], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    first = grade("--config", str(config))
    assert "5 submissions run, 0 unchanged" in first.stderr, first.stderr[-500:]
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "exercise", "passed", "message", "points", "max_points",
                             "submission", "late"]
    points = {(r["student"], r["exercise"]): (r["points"], r["max_points"]) for r in rows}
    assert points[("partial", "ex3")] == ("1", "2")  # one of its two parts right
    assert points[("partial", "ex2")] == ("0", "4")  # the configuration's points
    assert points[("honest", "ex2")] == ("4", "4")
    assert {r["student"] for r in rows} == {"honest", "partial", "morning/hw", "evening/hw",
                                            "grace", "alan"}
    assert all(r["message"] == "no submission" for r in rows if r["student"] == "alan")
    with open(out / "scores.csv", encoding="utf-8") as f:
        scores = {r["student"]: r for r in csv.DictReader(f)}
    assert list(next(iter(scores.values()))) == ["student", "ex1", "ex2", "ex3", "total", "max",
                                                 "percent", "late"]
    assert scores["honest"]["total"] == "8" and scores["honest"]["percent"] == "100.0"
    assert scores["partial"]["total"] == "3" and scores["partial"]["percent"] == "37.5"
    assert scores["grace"]["late"] == "yes" and scores["honest"]["late"] == "no"
    assert scores["alan"]["total"] == "0" and scores["morning/hw"]["total"] == "0"
    assert scores["evening/hw"]["total"] == "2"
    page = (out / "gradebook.html").read_text()
    assert "pass rate" in page and "<svg" in page and "sortable" in page
    assert "67 % passed" in page  # ex1: honest, partial, evening/hw, grace of 6
    feedback = {p.name: p.read_text() for p in (out / "feedback").glob("*.html")}
    assert set(feedback) == {"honest.html", "partial.html", "morning_hw.html", "evening_hw.html",
                             "grace.html", "alan.html"}
    mine = feedback["partial.html"]
    assert "3 of 8 points" in mine and "list: the answer" in mine
    assert "honest" not in mine and "grace" not in mine  # nobody else's
    assert "BEGIN HIDDEN TESTS" not in mine and "x = -1.5" not in mine  # hidden tests stay hidden
    assert "my notes" in mine and "<script>steal()" not in mine  # its HTML is shown as text
    assert "Submitted after the deadline" in feedback["grace.html"]

    second = grade("--config", str(config))  # nothing changed: nothing runs
    assert "0 submissions run, 5 unchanged" in second.stderr, second.stderr[-500:]
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        assert list(csv.DictReader(f)) == rows

    # the class in two slices, as two machines would grade it, then merged: the same files
    for k in (1, 2):
        grade("--config", str(config), "--shard", f"{k}/2", out=tmp_path / f"shard{k}")
    sizes = [len(list((tmp_path / f"shard{k}" / "feedback").glob("*.html"))) for k in (1, 2)]
    assert sorted(sizes) == [3, 3]
    grade(out=tmp_path / "merged", command=("grade", "merge", str(tmp_path / "shard1"),
                                            str(tmp_path / "shard2")))
    for name in ("gradebook.csv", "scores.csv", "gradebook.html"):
        assert (tmp_path / "merged" / name).read_text() == (out / name).read_text(), name
    assert {p.name for p in (tmp_path / "merged" / "feedback").iterdir()} == set(feedback)


def test_feedback_reveals_only_what_the_course_decides_and_private_tests_count(tmp_path):
    """``reveal_hidden = "nothing"``: a failed hidden test is said to fail, not which; the
    course's own tests, from a file outside the repository, are run and judged like the
    chapter's, and never shown."""
    hard_coded = right(answer(blank_workbook(), "ex1-solution", "def double(x):\n"
                              "    return 0 if x == 5 else 2 * x"),
                       "ex2-solution", "ex3-solution")  # right everywhere but on x = 5
    honest = solved()
    for name, nb in (("hard_coded", hard_coded), ("honest", honest)):
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    tests = tmp_path / "course" / "course_tests.py"
    tests.parent.mkdir()
    tests.write_text("# %% ex1\nexercise.check(double, expected=10, args=(5,), "
                     "hidden='the course: x = 5')\n")
    (tmp_path / "course" / "grading.toml").write_text(
        'tests = "course_tests.py"\nreveal_hidden = "nothing"\n'
        'secret = "this course\'s own secret"\n')
    for flags in ([], ["--reveal-hidden", "label"]):
        out = tmp_path / ("grades" + "-".join(flags))
        result = subprocess.run(
            [sys.executable, "-m", "book_kit.cli", "grade", "--chapter", str(MINI),
             str(tmp_path / "hard_coded.ipynb"), str(tmp_path / "honest.ipynb"), "--out", str(out),
             "--config", str(tmp_path / "course" / "grading.toml"), *flags],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        with open(out / "gradebook.csv", encoding="utf-8") as f:
            rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}
        assert all(rows[("honest", e)]["passed"] == "yes" for e in ("ex1", "ex2", "ex3"))
        message = rows[("hard_coded", "ex1")]["message"]
        page = (out / "feedback" / "hard_coded.html").read_text()
        if flags:
            assert message.startswith("right on the shown example, wrong on a hidden test "
                                      "(the course: x = 5): double() is 0, expected 10"), message
        else:
            assert message == "right on the shown example, wrong on a hidden test", message
            assert "x = 5" not in page
        assert "course_tests" not in page and "the course: x = 5" not in page.split("<body>")[0]
        assert not (out / ".book_kit-secret").exists()  # the course's secret, not a fresh one


def test_no_kernel_outlives_a_grading_without_the_sandbox(tmp_path):
    """--no-sandbox: a kernel whose runner is killed, and a daemon it starts, die too."""
    leftover = insert_before(solved(), "ex1-md", "import subprocess, sys\n"
                             "subprocess.Popen([sys.executable, '-c', 'import time; "
                             "time.sleep(600)', 'book-kit-no-sandbox-marker'], "
                             "start_new_session=True)")
    endless = insert_before(solved(), "ex2-md", "import time\ntime.sleep(600)")
    nbformat.write(leftover, tmp_path / "leftover.ipynb")
    nbformat.write(endless, tmp_path / "endless.ipynb")
    rows = course.grade(MINI, [tmp_path / "leftover.ipynb", tmp_path / "endless.ipynb"],
                        tmp_path / "out", Settings(sandbox=False, jobs=2, timeout=600,
                                                   notebook_timeout=25), progress=False)
    assert [r.passed for r in rows if r.student == "leftover"] == [True, True, True]
    time.sleep(1)
    survivors = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        try:  # a kernel of a grading that is over: its home folder is gone
            home = next((v[5:] for v in (entry / "environ").read_bytes().split(b"\0")
                         if v.startswith(b"HOME=")), b"").decode()
        except OSError:
            home = ""
        orphan = b"ipykernel_launcher" in cmdline and "book_kit-grade-" in home and \
            not os.path.exists(home)
        if b"book-kit-no-sandbox-marker" in cmdline or orphan:
            survivors.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    assert survivors == []


@pytest.mark.slow
def test_a_grader_killed_mid_run_loses_nothing_but_what_it_was_running(tmp_path):
    """Each verdict is cached as soon as it is known: killing the grader (a shard's, say) loses
    only the submissions it was running, its sandboxes die with it, and the re-run resumes."""
    import signal

    paths = []
    for i in range(4):
        nb = insert_before(solved(), "ex1-md", f"# student {i}")
        paths.append(tmp_path / f"student{i}.ipynb")
        nbformat.write(nb, paths[-1])
    out = tmp_path / "grades"
    command = [sys.executable, "-m", "book_kit.cli", "grade", "--chapter", str(MINI),
               *map(str, paths), "--out", str(out), "--quiet"]
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list((out / ".cache").glob("*.json"))) < 1:
        time.sleep(0.2)
    os.kill(grader.pid, signal.SIGKILL)  # the grader alone: not its process group
    grader.wait()
    done = len(list((out / ".cache").glob("*.json")))
    assert 1 <= done < 4
    time.sleep(2)
    for entry in Path("/proc").iterdir():  # its runners (and so their sandboxes) died with it
        try:
            cmdline = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        orphan = parent in (1, grader.pid)  # a runner whose grader is gone
        assert not (b"book_kit.grading.cell_runner" in cmdline and orphan), cmdline
    again = subprocess.run(command[:-1], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{4 - done} submissions run, {done} unchanged" in again.stderr
    with open(out / "scores.csv", encoding="utf-8") as f:
        assert [r["total"] for r in csv.DictReader(f)] == ["6"] * 4
