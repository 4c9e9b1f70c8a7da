"""Grading's stages one at a time: preparing the graded notebook, judging, the course's files."""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from book_kit.grading import course, judge, notebook, private_tests, record, secrets
from book_kit.notebook import convention, runner
from book_kit.publishing import workbook

from class_helpers import MINI, answer, blank_workbook, right
from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_restored_checks_replace_edited_ones_and_come_back_where_deleted():
    chapter = nbformat.read(MINI, as_version=4)
    sub = blank_workbook()
    answer(sub, "ex1-check", "print('trust me')")
    sub.cells = [c for c in sub.cells if c.get("id") != "ex2-check"]
    graded = notebook.graded_notebook(chapter, sub, {"ex1": secrets.draw_line(5)})
    ids = [c.get("id") for c in graded.cells]
    assert ids.index("ex2-check") == ids.index("ex2-solution") + 1
    ex1 = next(c for c in graded.cells if c.get("id") == "ex1-check")
    assert "trust me" not in ex1.source and "hidden='x = -1.5'" in ex1.source  # hidden tests too
    assert ex1.source.splitlines()[0] == secrets.draw_line(5)  # the seed, first
    assert "expected=None" in ex1.source and "expected=8" not in ex1.source
    assert workbook.HEADER_ID not in ids
    assert all(not c.get("outputs") for c in graded.cells if c.cell_type == "code")
    feedback = notebook.feedback_notebook(chapter, sub)
    shown = next(c for c in feedback.cells if c.get("id") == "ex1-check").source
    assert "expected=8" in shown and "x = -1.5" not in shown and "seed_draws" not in shown


def test_the_graded_kernel_never_computes_the_expected_answers():
    source = "exercise.check(f, expected=g(2), args=(2,))\nexercise.check_frameworks(" \
             "{'A': f}, expected=[1, 2])\nprint(expected_total(3))"
    stripped = notebook.without_expected(source)
    assert stripped.count("expected=None") == 2 and "g(2)" not in stripped
    assert "expected_total(3)" in stripped  # only the checks' own argument goes
    with pytest.raises(ValueError, match="not valid Python"):
        notebook.without_expected("exercise.check(", "ex9-check")


def test_every_check_passes_expected_by_keyword():
    import ast

    for chapter in [*CHAPTERS, MINI]:
        for cell in convention.check_cells(nbformat.read(chapter, as_version=4)):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr in notebook.CHECKS_WITH_EXPECTED:
                    assert (len(node.args) == 1
                            and any(k.arg == "expected" for k in node.keywords)), \
                        f"{chapter.name} {cell.id}: {ast.unparse(node)[:80]}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_has_fixed_and_drawn_hidden_tests_and_one_title(chapter):
    for cell in convention.check_cells(nbformat.read(chapter, as_version=4)):
        hidden = cell.source.split(convention.BEGIN_HIDDEN)[1]
        assert 'hidden="' in hidden or "hidden=f" in hidden, f"{cell.id}: no fixed hidden test"
        # inputs drawn at grading time, or a trained model the grader itself evaluates on data
        # the submission's sandbox never had (new points drawn from the secret, MNIST's test
        # labels)
        drawn = "exercise.draw(" in hidden and "hidden=case" in hidden
        assert drawn or "exercise.check_model(" in hidden, \
            f"{chapter.name} {cell.id}: no input drawn at grading time"
        assert cell.source.count("ex.Exercise(") == 1, f"{cell.id}: the title, once"
        assert cell.source.rstrip().splitlines()[-1].startswith("exercise.done(")


def _entry(case, value, part="", rule=None, **extra):
    return {"case": case, "part": part, "value": record.encode(value),
            "rule": rule or record.close_rule(1e-5, 1e-6, "double()"), **extra}


def test_answers_are_judged_by_the_references_rule_not_the_submissions():
    reference = [_entry("shown", 8.0), _entry("x = -1.5", -3.0)]
    lenient = {"kind": "at_least", "bound": -1e9, "what": "x"}
    student = [_entry("shown", 8.0, rule=lenient), _entry("x = -1.5", 8.0, rule=lenient)]
    verdict = judge.judge("ex1", reference, student)
    assert not verdict.passed and verdict.fraction == 0
    assert verdict.message.startswith("right on the shown example, wrong on a hidden test "
                                      "(x = -1.5): double() is 8, expected -3")
    assert judge.judge("ex1", reference, [student[0], _entry("x = -1.5", -3.0)]) == \
        judge.Verdict("ex1", True, 1.0, "")
    assert judge.judge("ex1", reference, [], missing="timed out") == \
        judge.Verdict("ex1", False, 0.0, "timed out")
    garbled = [{"case": "shown", "part": "", "value": {"shape": [2], "data": [1.0]}}]
    assert "not readable" in judge.judge("ex1", reference, garbled).message


def test_an_answer_sent_twice_fails_its_exercise_and_feedback_reveals_what_the_course_says():
    reference = [_entry("shown", 8.0), _entry(f"{record.DRAWN} (1 of 1)", 5.0),
                 _entry("x = 2", 4.0)]
    twice = [_entry("shown", 8.0), _entry("shown", 8.0), _entry(f"{record.DRAWN} (1 of 1)", 5.0),
             _entry("x = 2", 4.0)]
    verdict = judge.judge("ex1", reference, twice)
    assert not verdict.passed and "sent twice" in verdict.message
    wrong_drawn = [_entry("shown", 8.0), _entry(f"{record.DRAWN} (1 of 1)", 6.0),
                   _entry("x = 2", 4.0)]
    # what went wrong on a drawn input is never said (a message could show the input)
    assert judge.judge("ex1", reference, wrong_drawn).message == \
        f"right on the shown example, wrong on a hidden test ({record.DRAWN} (1 of 1))"
    wrong_fixed = [_entry("shown", 8.0), _entry(f"{record.DRAWN} (1 of 1)", 5.0),
                   _entry("x = 2", 9.0)]
    assert "(x = 2): double() is 9" in judge.judge("ex1", reference, wrong_fixed).message
    assert judge.judge("ex1", reference, wrong_fixed, reveal="nothing").message == \
        "right on the shown example, wrong on a hidden test"


def test_the_secret_draws_the_same_inputs_for_a_regrade_and_others_for_another_class(tmp_path):
    first = secrets.class_secret(None, tmp_path / "a")
    assert secrets.class_secret(None, tmp_path / "a") == first  # kept in the output folder
    assert oct((tmp_path / "a" / secrets.SECRET_FILE).stat().st_mode)[-3:] == "600"
    assert secrets.class_secret(None, tmp_path / "b") != first
    assert secrets.class_secret("course-wide secret text", tmp_path / "c") == \
        "course-wide secret text"
    assert not (tmp_path / "c" / secrets.SECRET_FILE).exists()
    from book_kit import exercises as ex

    def drawn(seed):
        if seed is not None:
            ex.seed_draws(seed)
        return ex.Exercise("E").draw(2, lambda rng: float(rng.uniform()))

    assert drawn(secrets.seed_for(first, "ex1")) == drawn(secrets.seed_for(first, "ex1"))
    assert drawn(secrets.seed_for(first, "ex1")) != drawn(secrets.seed_for(first, "ex2"))
    assert drawn(None) == drawn(None)  # outside grading: from the title, never changing


def test_private_tests_are_read_per_exercise_and_checked(tmp_path):
    tests = tmp_path / "course_tests.py"
    tests.write_text("# %% ex1\nexercise.check(double, expected=10, args=(5,), hidden='five')\n"
                     "# %% ex2\npass\n")
    loaded = private_tests.load(tests, ["ex1", "ex2", "ex3"])
    assert loaded == {"ex1": "exercise.check(double, expected=10, args=(5,), hidden='five')",
                      "ex2": "pass"}
    for text, words in [("# %% ex9\npass\n", "names no exercise"), ("pass\n", "has no cell"),
                        ("# %% ex1\nexercise.check(\n", "cell ex1")]:
        tests.write_text(text)
        with pytest.raises(private_tests.PrivateTestsError, match=words):
            private_tests.load(tests, ["ex1"])
    chapter = nbformat.read(MINI, as_version=4)
    graded = notebook.graded_notebook(chapter, chapter, private={"ex1": "print('course')"})
    source = next(c for c in graded.cells if c.get("id") == "ex1-check").source
    assert source.splitlines()[-2:] == ["print('course')", "exercise.done(2)"]


def test_students_are_named_by_nbgrader_folder_or_file_and_told_apart():
    from pathlib import Path

    names = course.student_names([
        Path("/course/submitted/ada/ps1/ch03_1.ipynb"), Path("/inbox/bob.ipynb"),
        Path("/inbox/a/hw.ipynb"), Path("/inbox/b/hw.ipynb"), Path("/x/same/hw2.ipynb"),
        Path("/y/same/hw2.ipynb")])
    assert names == ["ada", "bob", "a/hw", "b/hw", "x/same/hw2", "y/same/hw2"]


def test_class_files_are_safe_to_open_in_a_spreadsheet():
    from book_kit.grading.gradebook import _unsafe_cell, safe_cell

    for text in ("=HYPERLINK(1)", "+1+1", "-cmd", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(text) == "'" + text and _unsafe_cell(safe_cell(text)) == text
    for text in ("-2.5", "+3", "ada", "", "'quoted"):
        assert safe_cell(text) == text


def test_nbval_lax_still_passes_a_solved_notebook_and_fails_a_wrong_one(tmp_path):
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes(MINI.read_bytes())  # solutions and hidden tests
    wrong = tmp_path / "wrong.ipynb"
    nbformat.write(answer(right(blank_workbook(), "ex1-solution", "ex3-solution"), "ex2-solution",
                          "def mean_of_squares(values):\n    return np.mean(values)"), wrong)
    passed = runner.run_nbval(solved, lax=True, timeout=300)
    assert passed.returncode == 0, passed.stdout[-2000:]
    failed = runner.run_nbval(wrong, lax=True, timeout=300)
    assert failed.returncode == 1 and "mean_of_squares() is 2, expected 4.667" in failed.stdout


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds, names it reads), IPython magics and shell lines left out."""
    import ast
    tree = ast.parse("\n".join(line for line in source.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):  # a parameter: bound inside its function
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, read


def test_cells_left_out_when_grading_define_nothing_the_rest_uses():
    """Demonstration-only cells (timings) are skipped when grading; nothing else may need them."""
    skipped_anywhere = 0
    for chapter in CHAPTERS:
        nb = nbformat.read(chapter, as_version=4)
        skipped = convention.skipped_when_grading(nb)
        skipped_anywhere += len(skipped)
        code = [c for c in nb.cells if c.cell_type == "code"]
        only_there = set().union(*[_names(c.source)[0] for c in code if c.id in skipped]) - \
            set().union(*[_names(c.source)[0] for c in code if c.id not in skipped])
        for cell in code:
            if cell.id not in skipped:
                bound, read = _names(cell.source)
                used = only_there & (read - bound)
                assert not used, f"{chapter.name} {cell.id} uses {used}, from a skipped cell"
        graded = notebook.graded_notebook(nb, nb)
        assert not skipped & {c.id for c in graded.cells}
        assert len(graded.cells) == len(nb.cells) - len(skipped)
    assert skipped_anywhere >= 3  # at least ch03_1's timing cells


def test_usage_errors_exit_non_zero(tmp_path):
    def grade(*args):
        return subprocess.run([sys.executable, "-m", "book_kit.cli", "grade", *args],
                              capture_output=True, text=True, timeout=120)

    sub = tmp_path / "a.ipynb"
    nbformat.write(blank_workbook(), sub)
    missing = grade("--chapter", str(tmp_path / "nope.ipynb"), str(sub), "--out", str(tmp_path))
    assert missing.returncode == 2 and "no chapter notebook" in missing.stderr
    no_checks = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), no_checks)
    plain = grade("--chapter", str(no_checks), str(sub), "--out", str(tmp_path))
    assert plain.returncode == 2 and "no check cells" in plain.stderr
    twice = grade("--chapter", str(MINI), str(sub), str(sub), "--out", str(tmp_path))
    assert twice.returncode == 2 and "given twice" in twice.stderr
    assert grade("--chapter", str(MINI)).returncode == 2  # argparse: no submissions


def test_a_grading_toml_is_checked_and_flags_override_it(tmp_path):
    from book_kit.grading import config

    toml = tmp_path / "grading.toml"
    toml.write_text("timeout = 90\njobs = 3\ndeadline = 2026-12-01\nmax_notebook_mb = 20\n"
                    "secret = 'sixteen characters or more'\ntests = 'mine.py'\n"
                    "reveal_hidden = 'nothing'\n[points]\nex1 = 2.5\n")
    loaded = config.load(toml)
    settings = config.settings(loaded, timeout=None, jobs=1)
    assert (settings.timeout, settings.jobs, settings.points) == (90, 1, {"ex1": 2.5})
    assert settings.deadline.hour == 23  # a date alone means the end of that day
    assert settings.tests == tmp_path / "mine.py" and settings.reveal_hidden == "nothing"
    assert settings.max_notebook_mb == 20.0 and settings.max_disk_mb == 1024
    for text, words in [("timeout = 'long'", "timeout should be int"),
                        ("timout = 3", "unknown setting 'timout'"),
                        ("[points]\nex1 = -1", "points for ex1"), ("timeout = ", "not valid TOML"),
                        ("reveal_hidden = 'all'", "reveal_hidden is"),
                        ("secret = 'short'", "at least 16 characters")]:
        toml.write_text(text)
        with pytest.raises(config.ConfigError, match=words):
            config.load(toml)
    bad_shard = subprocess.run([sys.executable, "-m", "book_kit.cli", "grade", "--chapter",
                                str(MINI), str(MINI), "--out", str(tmp_path), "--shard", "3/2"],
                               capture_output=True, text=True, timeout=120)
    assert bad_shard.returncode == 2 and "1 <= K <= N" in bad_shard.stderr


def test_the_cache_key_covers_every_module_of_the_package():
    from book_kit.grading import cache

    sources = {p.relative_to(ROOT / "book_kit").as_posix() for p in cache.package_sources()}
    for module in ("exercises/checks.py", "exercises/verdicts.py", "grading/judge.py",
                   "grading/record.py", "grading/cell_runner.py", "grading/outcomes.py",
                   "frameworks/jax.py"):
        assert module in sources
    assert json.dumps(sorted(sources))  # plain names
    assert os.path.basename(__file__) not in sources
