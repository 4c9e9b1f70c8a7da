"""A hostile class graded by the CLI, as root and as an ordinary user: nothing a submission does
reaches outside its own copy, and nothing it does inside its kernel decides its grade.

The mini chapter (NumPy only) keeps each submission to seconds. Every way of taking the points
without the work that the grading issue lists is a student here: answers sent from other cells,
from a thread and from a replaced check, a lookup table of the chapter's inputs, 3 GB of writes,
a 300 MB notebook, a student whose name is a spreadsheet formula.
"""

import contextlib
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from book_kit.grading.gradebook import _unsafe_cell

import ordinary_user
from class_helpers import MINI, answer, blank_workbook, insert_before, right
from conftest import ROOT

SNOOP = """\
import json, os, pathlib, socket

evidence = {{}}


def attempt(name, action):
    try:
        evidence[name] = "succeeded: " + repr(action())[:200]
    except BaseException as e:
        evidence[name] = f"failed: {{type(e).__name__}}: {{e}}"


attempt("read another submission", lambda: open({other!r}).read())
attempt("read the chapter", lambda: open({chapter!r}).read())
attempt("read /etc/shadow", lambda: open("/etc/shadow").read())
attempt("read a file in the grader's home", lambda: open({home_file!r}).read())
attempt("write outside", lambda: open({outside!r}, "w").write("was here"))
attempt("connect to the grader's machine",
        lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
attempt("look up a host", lambda: socket.getaddrinfo("pypi.org", 443))
evidence["secret"] = os.environ.get("BOOK_KIT_TEST_SECRET")
evidence["environment"] = sorted(os.environ)
evidence["uid"] = os.getuid()
evidence["capabilities"] = [line.split()[1] for line in open("/proc/self/status")
                            if line.startswith(("CapPrm", "CapEff", "CapAmb"))]
evidence["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
pathlib.Path("evidence.json").write_text(json.dumps(evidence))
"""

STORM = """\
import json, os, pathlib, signal, time

children = []
try:
    for _ in range(3000):
        # spawned, not forked: a fork copies the kernel's page tables (a GB of them), hundreds
        # of forks took the cell past its time limit on a loaded machine; the limit is the same
        children.append(os.posix_spawn("/bin/sleep", ["sleep", "30"], {}))
except OSError as e:
    stopped = f"{type(e).__name__}: {e}"
else:
    stopped = "never"
# the evidence first: a loaded machine may stop this cell at its time limit while it waits
pathlib.Path("evidence.json").write_text(json.dumps({"forked": len(children), "stopped": stopped}))
time.sleep(3)  # hold them while the next submission runs beside this one
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""

BIG_FILE = """\
import json, pathlib
written = 0
try:
    with open("big.bin", "wb") as f:
        for _ in range(1024):
            f.write(b"x" * 2**20)
            written += 2**20
except OSError as e:
    problem = f"{type(e).__name__}: {e}"
pathlib.Path("evidence.json").write_text(json.dumps({"written": written, "problem": problem}))
"""

LEFTOVER = """\
import subprocess, sys
# a daemon, in a session of its own, that outlives its kernel unless the sandbox takes it down
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "book-kit-leftover-marker"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

PATCHER = """\
import builtins, io, sys
import numpy
import book_kit.exercises as checks

numpy.allclose = lambda *args, **kwargs: True
builtins.print = lambda *args, **kwargs: None
get_ipython().showtraceback = lambda *args, **kwargs: None
sys.stdout = io.StringIO()
checks.compare_values = lambda *args, **kwargs: None
checks.Exercise.check = checks.Exercise.check_frameworks = lambda self, *args, **kwargs: None
"""

# Answers sent from a cell that is no check cell, claimed in an answers file of the old design,
# and sent by a hook while the next check cell runs (beside that cell's own answers)
FORGER = """\
import json
from book_kit.grading import record

def forged(title, case, value):
    return {"title": title, "case": case, "part": "", "value": {"shape": [], "data": [value]},
            "rule": {"kind": "at_least", "bound": -1e9, "what": "x"}}

for case, value in (("shown", 8.0), ("x = -1.5", -3.0)):
    record.send(forged("Exercise 1 (double)", case, value))
with open(".book_kit_answers.jsonl", "a") as f:
    f.write(json.dumps({"exercise": "Exercise 1 (double)", **forged("", "shown", 8.0)}) + "\\n")

def during_the_next_check(info):  # an IPython hook sees every later cell's source
    if "Exercise 2 (mean of squares)" in info.raw_cell:
        for case, value in (("shown", 14 / 3), ("values = [-5, 0, 5, 0]", 12.5)):
            record.send(forged("Exercise 2 (mean of squares)", case, value))

get_ipython().events.register("pre_run_cell", during_the_next_check)
"""

# A replaced check that sends the check's own `expected` as the answer (when grading, the check
# cells get expected=None: the kernel never computes the right answers)
SENDER = """\
import book_kit.exercises as checks
from book_kit.grading import record

def send_expected(self, answer, *, expected=None, hidden=None, **kwargs):
    record.record(self.title, hidden, "", lambda: expected, record.close_rule(0, 0))

def send_expected_frameworks(self, answers, *, expected=None, hidden=None, **kwargs):
    for part in answers:
        record.record(self.title, hidden, part, lambda: expected, record.close_rule(0, 0))

checks.Exercise.check = send_expected
checks.Exercise.check_frameworks = send_expected_frameworks
"""

# The chapter's shown and fixed hidden inputs, answered from a table: no computing at all
TABLE = {
    "ex1-solution": "def double(x):\n    return {4: 8, -1.5: -3.0}[x]",
    "ex2-solution": "def mean_of_squares(values):\n"
                    "    return {(1, 2, 3): 14 / 3, (-5, 0, 5, 0): 12.5}[tuple(values)]",
    "ex3-solution": "def ones_numpy(n):\n    return {3: [1.0, 1.0, 1.0]}[n]\n\n\n"
                    "def ones_list(n):\n    return {3: [1.0, 1.0, 1.0]}[n]",
}

# 3 GB in 200 files of 15 MB, each under the largest file allowed (--max-file-mb 16)
DISK_FILLER = """\
import json, pathlib
written, problem = 0, "never"
try:
    for i in range(200):
        with open(f"fill-{i}.bin", "wb") as f:
            for _ in range(15):
                f.write(b"x" * 2**20)
                written += 2**20
except OSError as e:
    problem = f"{type(e).__name__}: {e}"
for i in range(200):  # room again for what the cells after it write
    pathlib.Path(f"fill-{i}.bin").unlink(missing_ok=True)
pathlib.Path("evidence.json").write_text(json.dumps({"written": written, "problem": problem}))
"""


def _make_class(folder, outside, chapter_copy, port, home_file):
    """What a class hands in, the honest and the hostile."""
    subs = {}
    subs["correct"] = right(blank_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    partly = right(blank_workbook(), "ex1-solution")
    subs["partly"] = answer(partly, "ex2-solution", "def mean_of_squares(values):\n"
                                                     "    return np.mean(values)")
    subs["empty"] = blank_workbook()
    subs["other_chapter"] = blank_workbook(ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb")
    subs["hard_coded"] = right(answer(answer(
        blank_workbook(), "ex1-solution", "def double(x):\n    return 8"),
        "ex2-solution", "def mean_of_squares(values):\n    return 14 / 3"), "ex3-solution")
    subs["endless_loop"] = right(answer(blank_workbook(), "ex1-solution",
                                          "def double(x):\n    while True:\n        pass"),
                                  "ex2-solution", "ex3-solution")
    subs["ignores_interrupts"] = right(answer(
        blank_workbook(), "ex1-solution", "def double(x):\n    while True:\n        try:\n"
        "            while True:\n                pass\n        except KeyboardInterrupt:\n"
        "            pass"), "ex2-solution", "ex3-solution")
    killer = right(blank_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    subs["kernel_killer"] = insert_before(killer, "ex2-md", "import os\nos._exit(1)")
    subs["memory_hog"] = right(answer(blank_workbook(), "ex2-solution",
                                        "def mean_of_squares(values):\n"
                                        "    hoard = [bytearray(10**8) for _ in range(300)]"
                                        "  # 30 GB\n"
                                        "    return np.mean(np.square(values))"),
                                "ex1-solution", "ex3-solution")
    vandal = right(blank_workbook(), "ex2-solution", "ex3-solution")
    subs["vandal"] = answer(vandal, "ex1-solution", f"""\
import os, pathlib
def double(x):
    for victim in pathlib.Path({str(folder)!r}).glob("*.ipynb"):
        victim.write_text("{{}}")        # rewrite the other submissions
    pathlib.Path({str(outside)!r}).write_text("was here")
    os.remove({str(chapter_copy)!r})    # and the chapter itself
    return 2 * x""")
    all_right = ("ex1-solution", "ex2-solution", "ex3-solution")
    snoop = SNOOP.format(other=str(folder / "correct.ipynb"), chapter=str(chapter_copy),
                         home_file=str(home_file), outside=str(outside), port=port)
    subs["snoop"] = insert_before(right(blank_workbook(), *all_right), "ex1-md", snoop)
    subs["fork_storm"] = insert_before(right(blank_workbook(), *all_right), "ex1-md", STORM)
    subs["output_flood"] = insert_before(right(blank_workbook(), *all_right), "ex1-md",
                                          'for _ in range(50):\n    print("x" * 2**20)')
    subs["big_file"] = insert_before(right(blank_workbook(), *all_right), "ex1-md", BIG_FILE)
    subs["leaves_a_process"] = insert_before(right(blank_workbook(), *all_right), "ex1-md",
                                             LEFTOVER)
    edits = answer(blank_workbook(), "ex1-check", 'print("✔ Exercise 1 (double): correct!")')
    edits.cells = [c for c in edits.cells if c.get("id") != "ex2-check"]
    subs["edits_checks"] = right(edits, "ex3-solution")
    subs["monkey_patcher"] = insert_before(right(blank_workbook(), "ex3-solution"), "ex1-md",
                                           PATCHER)
    subs["forger"] = insert_before(right(blank_workbook(), "ex3-solution"), "ex2-md", FORGER)
    subs["expected_sender"] = insert_before(blank_workbook(), "ex1-md", SENDER)
    table = blank_workbook()
    for cell, source in TABLE.items():
        answer(table, cell, source)
    subs["lookup_table"] = table
    subs["disk_filler"] = insert_before(right(blank_workbook(), *all_right), "ex1-md", DISK_FILLER)
    for name, nb in subs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "not_json.ipynb").write_text("{ this is not a notebook")
    with open(folder / "huge.ipynb", "wb") as f:  # 300 MB (sparse: it takes no disk)
        f.truncate(300 * 2**20)
    # nbgrader's layout, and two students who named their files the same
    for student in ("ada", "grace", FORMULA):
        target = folder / "submitted" / student / "ps1" / "mini_chapter.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(blank_workbook() if student == "grace"
                       else right(blank_workbook(), *all_right),
                       target)
    return sorted(folder.glob("*.ipynb")) + sorted(folder.glob("submitted/*/*/*.ipynb"))


FORMULA = "=HYPERLINK(1)"  # a student folder named like a spreadsheet formula
NOT_ATTEMPTED = (False, "is not attempted yet")
DRAWN = "wrong on a hidden test (an input drawn at grading time (1 of"
STOPPED = (False, "not run: an earlier cell stopped the kernel")
EXPECTED = {  # student -> (ex1, ex2, ex3): passed, and words each failure message must contain
    "correct": [(True, "")] * 3,
    "partly": [(True, ""), (False, "is 2, expected 4.667"), (False, "not attempted yet")],
    "empty": [NOT_ATTEMPTED] * 3,
    "other_chapter": [(False, "another chapter (ch03_1_tensors_and_gradients.ipynb)")] * 3,
    "hard_coded": [(False, "right on the shown example, wrong on a hidden test (x = -1.5)"),
                   (False, "wrong on a hidden test (values = [-5, 0, 5, 0])"), (True, "")],
    "lookup_table": [(False, DRAWN), (False, DRAWN), (False, DRAWN)],
    "expected_sender": [(False, "is None")] * 3,
    "disk_filler": [(True, "")] * 3,
    "huge": [(False, "the submission is 300 MB, over the 50 MB a notebook may have")] * 3,
    FORMULA: [(True, "")] * 3,
    "endless_loop": [(False, "timed out"), (True, ""), (True, "")],
    "ignores_interrupts": [(False, "timed out"), (False, "ignored the interrupt"),
                           (False, "ignored the interrupt")],
    "kernel_killer": [(True, ""), STOPPED, STOPPED],
    "memory_hog": [(True, ""), (False, "MemoryError"), (True, "")],
    "vandal": [(False, "No such file or directory"), (True, ""), (True, "")],
    "snoop": [(True, "")] * 3,
    "fork_storm": [(True, "")] * 3,
    "output_flood": [(True, "")] * 3,
    "big_file": [(True, "")] * 3,
    "leaves_a_process": [(True, "")] * 3,
    "edits_checks": [NOT_ATTEMPTED, NOT_ATTEMPTED, (True, "")],
    "monkey_patcher": [(False, "no answer was sent"), (False, "no answer was sent"),
                       (False, "no answer was sent")],
    "forger": [NOT_ATTEMPTED, (False, "an answer was sent twice in one check"), (True, "")],
    "not_json": [(False, "not a valid notebook")] * 3,
    "ada": [(True, "")] * 3,
    "grace": [NOT_ATTEMPTED] * 3,
}


def _leftovers() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if b"book-kit-leftover-marker" in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            pass
    return found


def _grade_class(tmp_path, as_user: bool):
    """Grade the whole class with the CLI, as root or as an ordinary user; check everything."""
    if not as_user:
        return _grade_class_in(tmp_path, as_user)
    # a folder the ordinary user owns, outside root's 0700 pytest folder
    base = Path(tempfile.mkdtemp(prefix="book_kit-user-test-", dir="/tmp"))
    os.chown(base, NOBODY, NOBODY)
    try:
        return _grade_class_in(base, as_user)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _grade_class_in(base: Path, as_user: bool):
    folder, out, keep = base / "submissions", base / "grades", base / "work"
    chapter = base / "chapter" / MINI.name  # a copy: the vandal aims at it
    for path in (folder, chapter.parent):
        path.mkdir()
    chapter.write_bytes(MINI.read_bytes())
    outside = base / "outside.txt"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0)
    env = {**os.environ, "BOOK_KIT_TEST_SECRET": "the instructor's token"}
    home = base / "home" if as_user else Path(os.path.expanduser("~"))
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    home_file = home / f".book_kit_test_secret-{os.getpid()}"
    home_file.write_text("the instructor's notes")
    home_file.chmod(0o600)
    submissions = _make_class(folder, outside, chapter, listener.getsockname()[1], home_file)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in submissions}
    chapter_before = hashlib.sha256(chapter.read_bytes()).hexdigest()
    python = sys.executable
    command = ["-m", "book_kit.cli", "grade", "--chapter", str(chapter), *map(str, submissions),
               "--out", str(out), "-j", "2", "--timeout", "10", "--memory-mb", "1500",
               "--max-file-mb", "16", "--max-disk-mb", "128", "--keep-work", str(keep)]
    prefix = []
    user_python = contextlib.ExitStack()  # the user's Python's folder, removed at the end
    if as_user:
        for path in base.rglob("*"):
            os.chown(path, NOBODY, NOBODY)
        # a Python the user can run, with book_kit and this venv's packages where the user can
        # read them: never through the checkout, whose folders may be closed to others (a clone
        # in `mktemp -d`); tests/ordinary_user.py
        user = user_python.enter_context(ordinary_user.python_for(NOBODY))
        python = user.python
        env.update(user.env)
        print("as an ordinary user:", user.how)
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    start = time.perf_counter()
    free_before = shutil.disk_usage(base).free
    try:
        result = subprocess.run([*prefix, python, *command], capture_output=True, text=True,
                                timeout=900, env=env, cwd=base)
    finally:
        home_file.unlink()
        user_python.close()
    free_after = shutil.disk_usage(base).free
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout, f"\ngraded {len(submissions)} submissions with -j 2 in {elapsed:.0f} s")

    # nothing a submission did reached outside its private copy
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in submissions} == before
    assert hashlib.sha256(chapter.read_bytes()).hexdigest() == chapter_before
    assert not outside.exists()
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    assert _leftovers() == []

    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["student", "exercise", "passed", "message"]
    got = {}
    for row in rows:  # a name that starts like a formula is written with a ' before it
        got.setdefault(_unsafe_cell(row["student"]), []).append(row)
    assert set(got) == set(EXPECTED)
    wrong = []
    for student, expected in EXPECTED.items():
        assert [r["exercise"] for r in got[student]] == ["ex1", "ex2", "ex3"], student
        for row, (passed, words) in zip(got[student], expected):
            if (row["passed"] == "yes") != passed or words not in row["message"] or \
                    passed != (row["message"] == ""):
                wrong.append((student, row["exercise"], row["passed"], row["message"], words))
    assert not wrong, "\n".join(map(str, wrong))
    assert (out / "gradebook.csv").stat().st_size < 20_000  # the 50 MB of prints are not in it

    snoop = json.loads((keep / "snoop" / "evidence.json").read_text())
    print(json.dumps(snoop, indent=1))
    for attempt in ("read another submission", "read the chapter", "read /etc/shadow",
                    "read a file in the grader's home", "connect to the grader's machine",
                    "look up a host"):
        assert snoop[attempt].startswith("failed"), (attempt, snoop[attempt])
    # "write outside" may succeed inside, where the path is the sandbox's own /tmp (which holds
    # a PYTHONPATH folder as a user): what counts is that the real file was never written
    assert snoop["secret"] is None
    assert set(snoop["environment"]) <= ALLOWED_ENVIRONMENT, snoop["environment"]
    assert snoop["uid"] != 0 or as_user  # as a user, the namespace's root is that user
    assert snoop["capabilities"] == ["0000000000000000"] * 3, snoop["capabilities"]
    assert len(snoop["processes"]) < 10  # its own, not the machine's
    storm = json.loads((keep / "fork_storm" / "evidence.json").read_text())
    print("fork storm:", storm)
    assert 100 < storm["forked"] < 512 and "Resource temporarily unavailable" in storm["stopped"]
    big = json.loads((keep / "big_file" / "evidence.json").read_text())
    assert big["written"] == 16 * 2**20 and "File too large" in big["problem"], big
    # 3 GB asked for: the writes failed inside the sandbox at its 128 MB, the rest was graded,
    # and the machine's disk never held them (the sandbox's home is a tmpfs)
    filler = json.loads((keep / "disk_filler" / "evidence.json").read_text())
    print("disk filler:", filler, f"free disk {free_before / 2**30:.2f} -> "
          f"{free_after / 2**30:.2f} GB")
    assert 64 * 2**20 < filler["written"] <= 128 * 2**20, filler
    assert "No space left on device" in filler["problem"], filler
    assert free_before - free_after < 500 * 2**20  # other work on the machine writes too
    # a student named like a formula is text in the class files, not a formula
    for name in ("gradebook.csv", "scores.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert f"'{FORMULA}" in text and f",{FORMULA}" not in text and \
            not text.startswith(FORMULA), name
    return result


NOBODY = 65534

ALLOWED_ENVIRONMENT = {
    "HOME", "USER", "LOGNAME", "LANG", "PATH", "TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
    "KERAS_HOME", "IPYTHONDIR", "PYTHONDONTWRITEBYTECODE", "BOOK_KIT_GRADING",
    "BOOK_KIT_STATIC_PLOTS", "BOOK_KIT_DATA_DIR", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS", "PYTHONPATH", "JPY_SESSION_NAME", "PWD",
    # set by IPython for its own output
    "PAGER", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GIT_PAGER", "MPLBACKEND", "TERM",
    "PYDEVD_USE_FRAME_EVAL",
}


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="grading as root needs root")
def test_grading_a_hostile_class_as_root(tmp_path):
    _grade_class(tmp_path, as_user=False)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="switching to an ordinary user needs root and a Python anyone can run")
def test_grading_a_hostile_class_as_an_ordinary_user(tmp_path):
    _grade_class(tmp_path, as_user=True)
