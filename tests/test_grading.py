"""Grading a class of made-up submissions, hostile ones included, on a mini chapter (NumPy only,
so a submission takes seconds) and once on a real chapter."""

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from book_kit import answers, grading, nbrun, workbook
from conftest import ROOT

MINI = ROOT / "tests" / "grading" / "mini_chapter.ipynb"


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
attempt("connect to the grader's machine", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
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
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError as e:
    stopped = f"{type(e).__name__}: {e}"
else:
    stopped = "never"
time.sleep(3)  # hold them while the next submission runs beside this one
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
pathlib.Path("evidence.json").write_text(json.dumps({"forked": len(children), "stopped": stopped}))
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
import book_kit.answers, book_kit.exercises as checks

numpy.allclose = lambda *args, **kwargs: True
builtins.print = lambda *args, **kwargs: None
get_ipython().showtraceback = lambda *args, **kwargs: None
sys.stdout = io.StringIO()
checks.compare = lambda *args, **kwargs: None
checks.check = checks.check_frameworks = lambda title, *args, **kwargs: None
"""

FORGER = """\
import json, os
# after the checks ran: claim the shown example's answer, and guess at a hidden test
with open(os.environ["BOOK_KIT_ANSWERS"], "a") as f:
    for case in ("shown", "x = 0", "hidden"):
        f.write(json.dumps({"exercise": "Exercise 1 (double)", "case": case, "part": "",
                            "value": {"shape": [], "data": [8.0]},
                            "rule": {"kind": "at_least", "bound": -1e9, "what": "x"}}) + "\\n")
"""


def _make_class(folder, outside, chapter_copy, port, home_file):
    """What a class hands in, the honest and the hostile."""
    subs = {}
    subs["correct"] = _right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    partly = _right(_workbook(), "ex1-solution")
    subs["partly"] = _answer(partly, "ex2-solution", "def mean_of_squares(values):\n"
                                                     "    return np.mean(values)")
    subs["empty"] = _workbook()
    subs["other_chapter"] = _workbook(ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb")
    subs["hard_coded"] = _right(_answer(_answer(
        _workbook(), "ex1-solution", "def double(x):\n    return 8"),
        "ex2-solution", "def mean_of_squares(values):\n    return 14 / 3"), "ex3-solution")
    subs["endless_loop"] = _right(_answer(_workbook(), "ex1-solution",
                                          "def double(x):\n    while True:\n        pass"),
                                  "ex2-solution", "ex3-solution")
    subs["ignores_interrupts"] = _right(_answer(
        _workbook(), "ex1-solution", "def double(x):\n    while True:\n        try:\n"
        "            while True:\n                pass\n        except KeyboardInterrupt:\n"
        "            pass"), "ex2-solution", "ex3-solution")
    killer = _right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution")
    subs["kernel_killer"] = _insert_before(killer, "ex2-md", "import os\nos._exit(1)")
    subs["memory_hog"] = _right(_answer(_workbook(), "ex2-solution",
                                        "def mean_of_squares(values):\n"
                                        "    hoard = [bytearray(10**8) for _ in range(300)]  # 30 GB\n"
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
    all_right = ("ex1-solution", "ex2-solution", "ex3-solution")
    snoop = SNOOP.format(other=str(folder / "correct.ipynb"), chapter=str(chapter_copy),
                         home_file=str(home_file), outside=str(outside), port=port)
    subs["snoop"] = _insert_before(_right(_workbook(), *all_right), "ex1-md", snoop)
    subs["fork_storm"] = _insert_before(_right(_workbook(), *all_right), "ex1-md", STORM)
    subs["output_flood"] = _insert_before(_right(_workbook(), *all_right), "ex1-md",
                                          'for _ in range(50):\n    print("x" * 2**20)')
    subs["big_file"] = _insert_before(_right(_workbook(), *all_right), "ex1-md", BIG_FILE)
    subs["leaves_a_process"] = _insert_before(_right(_workbook(), *all_right), "ex1-md", LEFTOVER)
    edits = _answer(_workbook(), "ex1-check", 'print("✔ Exercise 1 (double): correct!")')
    edits.cells = [c for c in edits.cells if c.get("id") != "ex2-check"]
    subs["edits_checks"] = _right(edits, "ex3-solution")
    subs["monkey_patcher"] = _insert_before(_right(_workbook(), "ex3-solution"), "ex1-md", PATCHER)
    subs["forger"] = _insert_before(_right(_workbook(), "ex3-solution"), "ex2-md", FORGER)
    for name, nb in subs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "not_json.ipynb").write_text("{ this is not a notebook")
    # nbgrader's layout, and two students who named their files the same
    for student in ("ada", "grace"):
        target = folder / "submitted" / student / "ps1" / "mini_chapter.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(_right(_workbook(), *all_right) if student == "ada" else _workbook(), target)
    return sorted(folder.glob("*.ipynb")) + sorted(folder.glob("submitted/*/*/*.ipynb"))


NOT_ATTEMPTED = (False, "is not attempted yet")
STOPPED = (False, "not run: an earlier cell stopped the kernel")
EXPECTED = {  # student -> (ex1, ex2, ex3): passed, and words each failure message must contain
    "correct": [(True, "")] * 3,
    "partly": [(True, ""), (False, "is 2, expected 4.667"), (False, "not attempted yet")],
    "empty": [NOT_ATTEMPTED] * 3,
    "other_chapter": [(False, "another chapter (ch03_1_tensors_and_gradients.ipynb)")] * 3,
    "hard_coded": [(False, "right on the shown example, wrong on a hidden test (x = -1.5)"),
                   (False, "wrong on a hidden test (values = [-5, 0, 5, 0])"), (True, "")],
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
    "monkey_patcher": [(False, "no answer was recorded"), (False, "no answer was recorded"),
                       (False, "no answer was recorded")],
    "forger": [NOT_ATTEMPTED, NOT_ATTEMPTED, (True, "")],
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
    base = tmp_path
    if as_user:  # a folder the ordinary user owns, outside root's 0700 pytest folder
        base = Path(tempfile.mkdtemp(prefix="book_kit-user-test-", dir="/tmp"))
        os.chown(base, NOBODY, NOBODY)
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
               "--max-file-mb", "16", "--keep-work", str(keep)]
    prefix = []
    if as_user:
        for path in base.rglob("*"):
            os.chown(path, NOBODY, NOBODY)
        # this machine's Python lives under /root, closed to others; Debian's is for anyone
        python = "/usr/bin/python3"
        # the packages of this venv; book_kit (installed in development mode, through a .pth
        # file that PYTHONPATH does not read) through a folder holding only a link to it
        (base / "pylib").mkdir()
        (base / "pylib" / "book_kit").symlink_to(ROOT / "book_kit")
        env.update(PYTHONPATH=f"{base / 'pylib'}{os.pathsep}{SITE_PACKAGES}",
                   # nbconvert's templates: under the venv, not under Debian's Python
                   JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    start = time.perf_counter()
    try:
        result = subprocess.run([*prefix, python, *command], capture_output=True, text=True,
                                timeout=900, env=env, cwd=base)
    finally:
        home_file.unlink()
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
    for row in rows:
        got.setdefault(row["student"], []).append(row)
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
    return result


NOBODY = 65534


SITE_PACKAGES = Path(nbformat.__file__).resolve().parents[1]
ALLOWED_ENVIRONMENT = {
    "HOME", "USER", "LOGNAME", "LANG", "PATH", "TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
    "KERAS_HOME", "IPYTHONDIR", "PYTHONDONTWRITEBYTECODE", "BOOK_KIT_ANSWERS",
    "BOOK_KIT_STATIC_PLOTS", "BOOK_KIT_DATA_DIR", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS", "PYTHONPATH", "JPY_SESSION_NAME", "PWD",
    # set by IPython for its own output
    "PAGER", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GIT_PAGER", "MPLBACKEND", "TERM", "PYDEVD_USE_FRAME_EVAL",
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
    twice = grade("--chapter", str(MINI), str(sub), str(sub), "--out", str(tmp_path))
    assert twice.returncode == 2 and "given twice" in twice.stderr
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
    assert "trust me" not in ex1.source and 'hidden="x = -1.5"' in ex1.source  # hidden tests too
    assert workbook.HEADER_ID not in ids
    assert all(not c.get("outputs") for c in graded.cells if c.cell_type == "code")


def test_students_are_named_by_nbgrader_folder_or_file_and_told_apart():
    names = grading.student_names([
        Path("/course/submitted/ada/ps1/ch03_1.ipynb"), Path("/inbox/bob.ipynb"),
        Path("/inbox/a/hw.ipynb"), Path("/inbox/b/hw.ipynb"), Path("/x/same/hw2.ipynb"),
        Path("/y/same/hw2.ipynb")])
    assert names == ["ada", "bob", "a/hw", "b/hw", "x/same/hw2", "y/same/hw2"]


def test_answers_are_judged_by_the_references_rule_not_the_submissions():
    rule = answers.close_rule(1e-5, 1e-6, "double()")
    reference = {("shown", ""): {"value": answers.encode(8.0), "rule": rule},
                 ("x = -1.5", ""): {"value": answers.encode(-3.0), "rule": rule}}
    lenient = {"kind": "at_least", "bound": -1e9, "what": "x"}
    student = {("shown", ""): {"value": answers.encode(8.0), "rule": lenient},
               ("x = -1.5", ""): {"value": answers.encode(8.0), "rule": lenient}}
    passed, message, fraction = answers.judge(reference, student)
    assert not passed and fraction == 0
    assert message.startswith("right on the shown example, wrong on a hidden test (x = -1.5): "
                              "double() is 8, expected -3")
    assert answers.judge(reference, {**student, ("x = -1.5", ""): {
        "value": answers.encode(-3.0)}}) == (True, "", 1.0)
    assert answers.judge(reference, {}, missing="timed out") == (False, "timed out", 0.0)
    garbled = {("shown", ""): {"value": {"shape": [2], "data": [1.0]}}}
    assert "not readable" in answers.judge(reference, garbled)[1]


def test_an_answers_file_that_is_a_link_or_a_pipe_is_not_read(tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text(json.dumps({"exercise": "E", "case": "shown", "part": "", "value": {}}) + "\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(secret)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    assert answers.read(secret) != {} and answers.read(link) == {} and answers.read(fifo) == {}


@pytest.mark.slow
def test_grading_a_real_chapter(tmp_path):
    chapter = ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb"
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes(chapter.read_bytes())  # the chapter itself answers every exercise
    blank = tmp_path / "blank.ipynb"
    blank.write_text(workbook.workbook_text(chapter))
    hard_coded = nbformat.reads(workbook.workbook_text(chapter), as_version=4)
    nbformat.write(_answer(hard_coded, "ex1-solution", "\n\n".join(
        f"def gradient_{name}(x):\n    return 4.75" for name in ("tf", "torch", "jax"))),
        tmp_path / "hard_coded.ipynb")
    rows = grading.grade(chapter, [solved, blank, tmp_path / "hard_coded.ipynb"], tmp_path / "out",
                         grading.Settings(jobs=2), progress=False)
    by = {(r.student, r.exercise): r for r in rows}
    assert all(by[("solved", e)].passed for e in ("ex1", "ex2", "ex3", "ex4")), rows
    assert not any(by[("blank", e)].passed for e in ("ex1", "ex2", "ex3", "ex4"))
    assert by[("blank", "ex4")].message == "fixed_training_step() is not attempted yet"
    assert by[("blank", "ex1")].message.startswith("TensorFlow: gradient_tf() is not attempted yet; "
                                                   "PyTorch: gradient_torch() is not attempted")
    assert not by[("hard_coded", "ex1")].passed
    assert by[("hard_coded", "ex1")].message.startswith(
        "TensorFlow: right on the shown example, wrong on a hidden test (x = -0.7)")
    json.loads(json.dumps([dataclass_row.__dict__ for dataclass_row in rows]))


def test_nbval_lax_still_passes_a_solved_notebook_and_fails_a_wrong_one(tmp_path):
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes(MINI.read_bytes())  # solutions and hidden tests
    wrong = tmp_path / "wrong.ipynb"
    nbformat.write(_answer(_right(_workbook(), "ex1-solution", "ex3-solution"), "ex2-solution",
                           "def mean_of_squares(values):\n    return np.mean(values)"), wrong)
    passed = nbrun.run_nbval(solved, lax=True, timeout=300)
    assert passed.returncode == 0, passed.stdout[-2000:]
    failed = nbrun.run_nbval(wrong, lax=True, timeout=300)
    assert failed.returncode == 1 and "mean_of_squares() is 2, expected 4.667" in failed.stdout


def test_no_sandbox_means_no_grading_unless_asked(tmp_path, monkeypatch, capsys):
    from book_kit import sandbox

    # a bwrap that fails the way it does where user namespaces are disabled
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(fake))
    monkeypatch.setattr(sandbox, "_probe", {})
    reason = sandbox.why_unavailable()
    assert "No permissions to create a new namespace" in reason and "user namespaces" in reason
    sub = tmp_path / "a.ipynb"
    nbformat.write(_right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"), sub)
    with pytest.raises(grading.UsageError, match="--no-sandbox"):
        grading.grade(MINI, [sub], tmp_path / "out", grading.Settings(), progress=False)
    assert not (tmp_path / "out" / "gradebook.csv").exists()
    rows = grading.grade(MINI, [sub], tmp_path / "out", grading.Settings(sandbox=False),
                         progress=False)
    assert [r.passed for r in rows] == [True, True, True]
    assert "--no-sandbox: submissions run with your own permissions" in capsys.readouterr().err


def test_a_notebook_over_its_time_is_stopped_and_what_it_answered_still_counts(tmp_path):
    slow = _insert_before(_right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"),
                          "ex2-md", "import time\ntime.sleep(30)")  # within its cell's time
    nbformat.write(slow, tmp_path / "slow.ipynb")
    start = time.perf_counter()
    rows = grading.grade(MINI, [tmp_path / "slow.ipynb"], tmp_path / "out",
                         grading.Settings(timeout=40, notebook_timeout=12), progress=False)
    assert time.perf_counter() - start < 60
    assert [r.passed for r in rows] == [True, False, False]
    assert rows[1].message.startswith("not run: grading stopped after 12 s")


def test_every_exercise_of_every_chapter_has_hidden_tests():
    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in workbook.check_cells(nbformat.read(chapter, as_version=4)):
            source = cell.source
            assert workbook.BEGIN_HIDDEN in source and "hidden=" in source.split(
                workbook.BEGIN_HIDDEN)[1], f"{chapter.name} {cell.id} has no hidden test"
            title = workbook.exercise_title(cell)
            assert source.count(f'"{title}"') >= 2, f"{chapter.name} {cell.id}: hidden tests " \
                "must use the exercise's title, so grading files their answers under it"


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
    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(chapter, as_version=4)
        skipped = grading.skipped_when_grading(nb)
        skipped_anywhere += len(skipped)
        code = [c for c in nb.cells if c.cell_type == "code"]
        only_there = set().union(*[_names(c.source)[0] for c in code if c.id in skipped]) - \
            set().union(*[_names(c.source)[0] for c in code if c.id not in skipped])
        for cell in code:
            if cell.id not in skipped:
                bound, read = _names(cell.source)
                used = only_there & (read - bound)
                assert not used, f"{chapter.name} {cell.id} uses {used}, from a skipped cell"
        graded = grading.graded_notebook(nb, nb)
        assert not skipped & {c.id for c in graded.cells}
        assert len(graded.cells) == len(nb.cells) - len(skipped)
    assert skipped_anywhere >= 3  # at least ch03_1's timing cells


def test_a_class_gets_points_scores_feedback_and_a_cached_regrade(tmp_path):
    """Honest, partial, empty, late, two students with the same file name, one who never handed
    in: every output file, then a second grading that runs nothing."""
    inbox = tmp_path / "inbox"
    for folder in ("morning", "evening"):
        (inbox / folder).mkdir(parents=True)
    nbformat.write(_right(_workbook(), "ex1-solution", "ex2-solution", "ex3-solution"),
                   inbox / "honest.ipynb")
    partial = _answer(_right(_workbook(), "ex1-solution"), "ex3-solution",
                      "def ones_numpy():\n    return np.ones(3)\n\n\ndef ones_list():\n"
                      "    return [1, 2, 3]")
    partial.cells.insert(1, nbformat.v4.new_markdown_cell("my notes <script>steal()</script>"))
    nbformat.write(partial, inbox / "partial.ipynb")
    nbformat.write(_workbook(), inbox / "morning" / "hw.ipynb")
    nbformat.write(_right(_workbook(), "ex1-solution"), inbox / "evening" / "hw.ipynb")
    late = tmp_path / "course" / "submitted" / "grace" / "ps1" / "mini_chapter.ipynb"
    late.parent.mkdir(parents=True)
    nbformat.write(_insert_before(_right(_workbook(), "ex1-solution", "ex2-solution",
                                         "ex3-solution"), "ex1-md", "# grace's own notes"), late)
    (late.parent / "timestamp.txt").write_text("2026-12-02 08:00:00.000000 UTC")
    config = tmp_path / "grading.toml"
    config.write_text('timeout = 30\njobs = 2\ndeadline = 2026-12-01T23:59:00Z\n'
                      'roster = ["honest", "partial", "morning/hw", "evening/hw", "grace", "alan"]\n'
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


def test_a_grading_toml_is_checked_and_flags_override_it(tmp_path):
    from book_kit import grading_config

    config = tmp_path / "grading.toml"
    config.write_text("timeout = 90\njobs = 3\ndeadline = 2026-12-01\n[points]\nex1 = 2.5\n")
    loaded = grading_config.load(config)
    settings = grading_config.settings(loaded, timeout=None, jobs=1)
    assert (settings.timeout, settings.jobs, settings.points) == (90, 1, {"ex1": 2.5})
    assert settings.deadline.hour == 23  # a date alone means the end of that day
    for text, words in [("timeout = 'long'", "timeout should be int"),
                        ("timout = 3", "unknown setting 'timout'"),
                        ("[points]\nex1 = -1", "points for ex1"), ("timeout = ", "not valid TOML")]:
        config.write_text(text)
        with pytest.raises(grading_config.ConfigError, match=words):
            grading_config.load(config)
    bad_shard = subprocess.run([sys.executable, "-m", "book_kit.cli", "grade", "--chapter",
                                str(MINI), str(MINI), "--out", str(tmp_path), "--shard", "3/2"],
                               capture_output=True, text=True, timeout=120)
    assert bad_shard.returncode == 2 and "1 <= K <= N" in bad_shard.stderr
