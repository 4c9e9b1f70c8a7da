"""The README's commands run as written: every command of its "Set up" and "Command line"
sections is either run here (in a scratch copy of the book where it writes files) or named with
the test that runs it and why it is not run again here. A command added to those sections
without either fails this test, so the README cannot drift from what works."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from book_kit.cli import COMMANDS

from conftest import ROOT

BIN = Path(sys.executable).parent
SECTIONS = ("## Set up", "## Command line")
COMMAND_START = re.compile(r"^(make|book-kit|\.venv/bin/book-kit|python benchmarks/|"
                           r"BOOK_KIT_DATA_MIRROR=\S+ make)\b")

# README command -> the command lines run for it (in a scratch copy of chapters/ and notebooks/)
RUN = {
    "book-kit --version": [["book-kit", "--version"]],
    "book-kit COMMAND --help": [["book-kit", *command.split(), "--help"] for command in COMMANDS],
    "book-kit info [--ask-frameworks]": [["book-kit", "info"]],
    "book-kit data list | fetch [NAME...] | verify": [
        ["book-kit", "data", "list"], ["book-kit", "data", "fetch", "mnist"],
        ["book-kit", "data", "verify"]],
    "book-kit student [CHAPTER...] [--out notebooks] [--check]": [
        ["book-kit", "student", "--check"], ["book-kit", "student", "--out", "fresh-workbooks"]],
    "book-kit workspace [--dir my-work] [--fresh NAME...]": [
        ["book-kit", "workspace"], ["book-kit", "workspace", "--dir", "my-work", "--fresh",
                                    "ch03_1"]],
    ".venv/bin/book-kit workspace --fresh ch03_1": [["book-kit", "workspace", "--fresh",
                                                     "ch03_1"]],
    ".venv/bin/book-kit workspace --dir elsewhere --fresh ch03_1": [
        ["book-kit", "workspace", "--dir", "elsewhere"],
        ["book-kit", "workspace", "--dir", "elsewhere", "--fresh", "ch03_1"]],
}

# README command -> (the test that runs it, why not here)
INSIDE_MAKE_TEST = "this test is part of `make test`: it cannot run `make test` again"
COVERED = {
    "make test": ("", INSIDE_MAKE_TEST),
    "make quick": ("", INSIDE_MAKE_TEST + " (`make quick` is its fast part)"),
    "make install": ("", "`make test` runs it first"),
    "make lint": ("", "`make test` runs it first (its lint prerequisite)"),
    'make test PYTEST_ARGS="-k backends"': ("", INSIDE_MAKE_TEST),
    "make test CHROMIUM=/path/to/chromium": ("", INSIDE_MAKE_TEST),
    "BOOK_KIT_DATA_MIRROR=/path/to/datasets make test": ("", INSIDE_MAKE_TEST + "; CI runs it "
                                                         "so, .ci/run"),
    "make lab": ("tests/test_lab.py::test_make_lab_serves_the_chapter_notebooks",
                 "a server that runs until stopped"),
    'make lab LAB_ARGS="--port 9999 --no-browser"': (
        "tests/test_lab.py::test_make_lab_serves_the_chapter_notebooks",
        "that test passes its port and token through LAB_ARGS"),
    "make lab WORK=elsewhere": ("tests/test_lab.py::test_make_lab_serves_the_chapter_notebooks",
                                "a server that runs until stopped"),
    "BOOK_KIT_DATA_MIRROR=/path/to/datasets make lab": (
        "tests/test_lab.py::test_make_lab_serves_the_chapter_notebooks",
        "a server that runs until stopped"),
    "make site": ("tests/test_site.py::test_the_site_is_built_from_the_stored_outputs_without_"
                  "running_anything", "builds the site, as `book-kit site` does"),
    "book-kit site [--out build/site]": (
        "tests/test_site.py::test_the_site_is_built_from_the_stored_outputs_without_running_"
        "anything", "the site test builds it and opens every page in Chromium"),
    "make bench": ("tests/test_bench.py::test_quick_benchmark_writes_results",
                   "ten minutes of measurement; the test runs its quick form"),
    "book-kit bench [--quick]": ("tests/test_bench.py::test_quick_benchmark_writes_results",
                                 "ten minutes of measurement; the test runs `--quick`"),
    "book-kit grade merge DIR... --out DIR": (
        "tests/grading/test_grading_class.py::test_a_class_gets_points_scores_feedback_and_a_"
        "cached_regrade", "needs graded shards: that test grades two and merges them"),
    "python benchmarks/load.py [--defaults]": ("", "minutes of measurement under load: a "
                                               "benchmark, kept out of the tests on purpose"),
    "python benchmarks/suite.py [--fresh-clone]": ("", "runs `make test` itself"),
}
GRADE = re.compile(r"^book-kit grade --chapter CHAPTER SUBMISSION\.\.\. --out DIR ")
GRADE_TEST = "tests/grading/test_grading_class.py::test_grading_a_real_chapter"
BENCH_GRADING = re.compile(r"^python benchmarks/grading\.py ")


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    found = []
    for heading in SECTIONS:
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        spans = re.findall(r"`([^`]+)`", section)
        spans += [line.split("#")[0].strip() for block in re.findall(r"```bash\n(.*?)```",
                                                                      section, re.S)
                  for line in block.splitlines()]
        found += [" ".join(s.split()) for s in spans if COMMAND_START.match(" ".join(s.split()))
                  and len(s.split()) > 1]  # "`make`" alone names the tool, not a command
    return sorted(set(found))


def test_every_readme_command_is_run_or_covered():
    commands = _readme_commands()
    assert "book-kit --version" in commands and "make test" in commands  # the parse works
    unknown = [c for c in commands if c not in RUN and c not in COVERED
               and not GRADE.match(c) and not BENCH_GRADING.match(c)]
    assert not unknown, f"run these here (RUN) or name their test (COVERED): {unknown}"
    for test, _why in COVERED.values():
        if test:
            path, name = test.split("::")
            assert f"def {name}(" in (ROOT / path).read_text(), f"no such test: {test}"
    path, name = GRADE_TEST.split("::")
    assert f"def {name}(" in (ROOT / path).read_text()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A scratch copy of the book (chapters/, notebooks/, pyproject.toml): commands that write
    files write them there, never into this checkout or a reader's my-work/."""
    root = tmp_path_factory.mktemp("book")
    for folder in ("chapters", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


@pytest.mark.parametrize("readme_command", sorted(RUN))
def test_the_readme_command_runs(readme_command, scratch, tmp_path):
    env = {**os.environ, "BOOK_KIT_DATA_DIR": str(tmp_path / "data")}  # a scratch data cache
    for argv in RUN[readme_command]:
        result = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=scratch, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (argv, result.stdout[-2000:], result.stderr[-2000:])
