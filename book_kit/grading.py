"""Grade student workbooks: each runs in a sandbox, its answers are judged outside it.

For each submission, in a private temporary folder (the submission itself is only ever read):

1. the notebook is read; an invalid file or another chapter's notebook fails every exercise with
   that reason;
2. the chapter's check cells, hidden tests included, are put back by cell id (edited ones
   overwritten, deleted ones re-inserted);
3. ``book_kit.cell_runner`` executes it cell by cell, in a kernel inside a bubblewrap sandbox
   (``book_kit.sandbox``: its own working copy, no network, an unprivileged user, limits), with a
   time limit per cell and per notebook;
4. there its checks only *record* what the student's functions return (``book_kit.answers``); the
   grader reads that plain data and judges it against the chapter's own solutions, recorded the
   same way, so nothing a submission does in its kernel decides a verdict but its answers.
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import json
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from book_kit import answers, gradebook, grading_cache, grading_config, nbrun, sandbox, workbook
from book_kit.gradebook import Row
from book_kit.grading_config import Settings


class UsageError(ValueError):
    """Grading could not start (bad chapter, no submissions, no sandbox ...): exit non-zero."""


# --- preparing the graded notebook -----------------------------------------------------------

def _restored_check_cell(chapter_cell):
    import nbformat

    cell = nbformat.v4.new_code_cell(chapter_cell.source)
    cell.id = chapter_cell.id
    return cell


# A chapter cell with this tag only demonstrates (timing loops, say): grading leaves it out. The
# reference run leaves it out too, so an exercise that needed one would fail the chapter's own
# solutions (reference_answers says so), and tests/test_grading.py checks no later cell uses a
# name such a cell defines.
SKIP_WHEN_GRADING = "skip-when-grading"


def skipped_when_grading(chapter_nb) -> set[str]:
    """The ids of the chapter's cells tagged ``skip-when-grading``."""
    return {c.id for c in chapter_nb.cells if SKIP_WHEN_GRADING in c.metadata.get("tags", [])}


def graded_notebook(chapter_nb, submission_nb):
    """The submission's cells, outputs cleared, with the chapter's check cells restored and its
    demonstration-only cells (tagged ``skip-when-grading`` in the chapter) left out."""
    checks = {c.id: c for c in workbook.check_cells(chapter_nb)}
    restored = {cid: _restored_check_cell(c) for cid, c in checks.items()}
    skipped = skipped_when_grading(chapter_nb)
    cells = []
    for cell in submission_nb.cells:
        cid = cell.get("id")
        if cid in restored:
            cells.append(restored.pop(cid))
        elif cid == workbook.HEADER_ID or workbook.is_check_cell(cell) or cid in skipped:
            continue  # the header, a check cell of some other chapter, or a demonstration
        else:
            cell = copy.deepcopy(cell)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            cells.append(cell)
    # deleted check cells go back after the chapter cell that preceded them
    chapter_order = [c.id for c in chapter_nb.cells]
    for cid in [c for c in chapter_order if c in restored]:
        position = len(cells)
        for earlier in reversed(chapter_order[: chapter_order.index(cid)]):
            index = next((i for i, c in enumerate(cells) if c.get("id") == earlier), None)
            if index is not None:
                position = index + 1
                break
        cells.insert(position, restored.pop(cid))
    nb = copy.deepcopy(submission_nb)
    nb.cells = cells
    return nb


def _belongs_to(chapter_nb, chapter_name: str, submission_nb) -> str | None:
    """None if the submission is this chapter's workbook, else why not."""
    declared = submission_nb.metadata.get("book_kit", {}).get("workbook", {}).get("chapter")
    if declared and declared != chapter_name:
        return f"this is the workbook of another chapter ({declared}), not {chapter_name}"
    chapter_ids = {c.id for c in chapter_nb.cells}
    shared = chapter_ids & {c.get("id") for c in submission_nb.cells}
    if len(shared) < max(1, len(chapter_ids) // 2):
        return (f"this notebook does not look like the workbook of {chapter_name} "
                f"(only {len(shared)} of its {len(chapter_ids)} cells are there)")
    return None


# --- running one notebook in a sandbox -------------------------------------------------------

@dataclasses.dataclass
class Run:
    """What a sandboxed run of a notebook left: the runner's report and the recorded answers."""
    cells: dict          # cell id -> {"status", "error"}
    stopped: str | None  # why the run ended early, if it did
    answers: dict        # exercise title -> {(case, part): entry}


def _kernel_env(home: str, data_dir: Path, jobs: int) -> dict:
    """The kernel's whole environment: this allow-list, nothing of the grader's own."""
    workdir = Path(home)
    env = {"HOME": str(workdir), "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                    "/usr/bin", "/bin"]),
           "TMPDIR": "/tmp", "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
           "XDG_CACHE_HOME": str(workdir / ".cache"), "KERAS_HOME": str(workdir / ".keras"),
           "IPYTHONDIR": str(workdir / ".ipython"), "PYTHONDONTWRITEBYTECODE": "1",
           answers.ENV: str(workdir / answers.FILE_NAME), "BOOK_KIT_STATIC_PLOTS": "1",
           "BOOK_KIT_DATA_DIR": str(data_dir), **nbrun.thread_settings(jobs)}
    if os.environ.get("PYTHONPATH"):  # the grader's own Python needs it, so its kernel does
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _kernel_argv(settings: Settings, uid: int | None) -> list[str]:
    argv = [sys.executable, "-m", "book_kit.sandbox_kernel",
            "--max-processes", str(settings.max_processes),
            "--max-file-mb", str(settings.max_file_mb)]
    if settings.memory_mb:
        argv += ["--memory-mb", str(settings.memory_mb)]
    if uid is not None:
        argv += ["--uid", str(uid)]
    return argv + ["-f", "{connection_file}"]


def _copy_safely(source: Path, target: Path, budget: int = 200 * 2**20) -> None:
    """Copy a working folder: regular files and folders only, never following a link."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(source):
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            _copy_safely(Path(entry.path), target / entry.name, budget)
        elif stat.S_ISREG(info.st_mode) and info.st_size <= budget:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as src, open(target / entry.name, "wb") as dst:
                shutil.copyfileobj(src, dst)


def run_sandboxed(nb, settings: Settings, slot: int = 0, keep_as: str | None = None) -> Run:
    """Execute ``nb`` in a sandboxed kernel; return its cells' outcomes and recorded answers."""
    import nbformat

    from book_kit import datasets

    private = Path(tempfile.mkdtemp(prefix="book_kit-grade-"))  # 0700: the grader's only
    try:
        workdir = private / "work"  # as root: the submission's user's, and no one else's
        for sub in ("tmp", ".kernel", ".cache", ".keras", ".ipython", ".config"):
            (workdir / sub).mkdir(parents=True)
        uid = sandbox.uid_for(slot) if settings.sandbox else None
        if uid is not None:
            for folder in [workdir, *workdir.iterdir()]:
                os.chown(folder, uid, uid)
            os.chmod(workdir, 0o700)
        notebook = private / "graded.ipynb"
        nbformat.write(nb, notebook)
        data_dir = datasets.data_dir()
        argv = _kernel_argv(settings, uid)
        if settings.sandbox:
            argv = sandbox.command(workdir, argv, slot=slot, data_dirs=[data_dir], private=private)
        job = {"notebook": str(notebook), "argv": argv, "workdir": str(workdir),
               "env": _kernel_env(sandbox.HOME if settings.sandbox else str(workdir), data_dir,
                                  settings.jobs),
               "cell_timeout": settings.timeout, "report": str(private / "report.json"),
               "kernel_log": str(private / "kernel.log")}
        (private / "job.json").write_text(json.dumps(job))
        code_cells = sum(c.cell_type == "code" for c in nb.cells)
        limit = settings.notebook_timeout or 120 + code_cells * (settings.timeout + 10)
        runner = subprocess.Popen([sys.executable, "-m", "book_kit.cell_runner",
                                   str(private / "job.json")], cwd=private,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=open(private / "runner.log", "wb"),
                                  start_new_session=True)
        stopped = None
        try:
            runner.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)  # the sandbox dies with it (--die-with-parent)
            runner.wait()
            stopped = f"grading stopped after {limit} s (the time limit of a whole notebook)"
        try:
            report = json.loads((private / "report.json").read_text())
        except (OSError, ValueError):
            report = {"cells": [], "stopped": None}
            if stopped is None:
                tail = (private / "runner.log").read_bytes()[-2000:].decode(errors="replace")
                stopped = "the notebook could not be run: " + \
                    ((tail.strip().splitlines() or ["the runner ended without a report"])[-1])
        if keep_as is not None and settings.keep_work is not None:
            _copy_safely(workdir, Path(settings.keep_work) / keep_as)
        return Run(cells={c["id"]: c for c in report["cells"]},
                   stopped=stopped or report.get("stopped"),
                   answers=answers.read(workdir / answers.FILE_NAME))
    finally:
        shutil.rmtree(private, ignore_errors=True)


# --- the chapter's own answers ---------------------------------------------------------------

def reference_answers(chapter_nb, chapter_bytes: bytes, settings: Settings, slot: int = 0) -> dict:
    """The answers the chapter's own solutions give, recorded exactly as a submission's are.

    Cached by the chapter's content, book_kit's checking code, the limits and the framework
    versions (``grading_cache.context_key``): a class is graded against one run of the chapter,
    not one per submission.
    """
    key = grading_cache.context_key(chapter_bytes, grading_cache.JUDGING_CODE, settings)
    stored = grading_cache.stored_reference(key)
    if stored is not None:
        return stored
    run = run_sandboxed(graded_notebook(chapter_nb, chapter_nb), settings, slot)
    titles = {workbook.exercise_title(c): c.id for c in workbook.check_cells(chapter_nb)}
    for title, cell_id in titles.items():
        recorded = run.answers.get(title)
        cell = run.cells.get(cell_id, {})
        if not recorded or any("error" in entry for entry in recorded.values()):
            problem = cell.get("error") or run.stopped or "its checks recorded no answer"
            if recorded:
                problem = next(e["error"] for e in recorded.values() if "error" in e)
            raise UsageError(f"the chapter's own solution to {title!r} (cell {cell_id}) did not "
                             f"give an answer: {problem}. Fix the chapter, then grade again.")
    unknown = set(run.answers) - set(titles)
    if unknown:
        raise UsageError(f"checks in the chapter use titles no check cell has: "
                         f"{', '.join(sorted(unknown))}")
    grading_cache.store_reference(key, run.answers)
    return run.answers


# --- one submission --------------------------------------------------------------------------

def _missing_reason(cell_id: str, run: Run) -> str:
    """Why a check recorded no answer, from how its cell (or the run) ended."""
    cell = run.cells.get(cell_id)
    if cell is None:
        return f"not run: {run.stopped or 'grading stopped before this cell'}"
    status, error = cell["status"], cell.get("error", "")
    if status == "not run":
        return f"not run: {error}"
    if status == "timeout":
        return f"timed out: {error} (an endless loop?)"
    if status == "error":
        name, _, text = error.partition(": ")
        return text if name in ("ExerciseFailed", "NotAttempted") else error
    return "no answer was recorded (did an earlier cell change book_kit.exercises?)"


def _submission_nb(chapter_nb, chapter_name: str, submission: Path):
    """The submission as a notebook of this chapter, or the reason it cannot be graded."""
    import nbformat

    try:
        data = submission.read_bytes()
    except OSError as e:
        return None, f"could not read the submission: {e}"
    try:
        submission_nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(submission_nb)
    except Exception as e:  # not JSON, not a notebook, an unknown format version ...
        return None, (f"the submission is not a valid notebook: "
                      f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    return submission_nb, _belongs_to(chapter_nb, chapter_name, submission_nb)


def run_submission(chapter_nb, chapter_name: str, submission: Path, settings: Settings,
                   student: str, slot: int = 0):
    """Run one submission in its sandbox: a :class:`Run`, or the reason it cannot be run at
    all (unreadable, not a notebook, another chapter's)."""
    submission_nb, why_not = _submission_nb(chapter_nb, chapter_name, submission)
    if why_not:
        return why_not
    return run_sandboxed(graded_notebook(chapter_nb, submission_nb), settings, slot,
                         keep_as=student)


def exercise_points(chapter_nb, overrides: dict | None = None) -> dict[str, float]:
    """Each exercise's points: its check cell's nbgrader ``points`` (1 if none), or the override."""
    points = {}
    for cell in workbook.check_cells(chapter_nb):
        name = workbook.exercise_name(cell.id)
        points[name] = float((overrides or {}).get(
            name, cell.metadata.get("nbgrader", {}).get("points", 1)))
    return points


def judge_submission(chapter_nb, run: Run, reference: dict, student: str,
                     submission: Path) -> list[tuple[str, bool, float, str]]:
    """``(exercise, passed, fraction, message)`` per exercise: the submission's recorded answers
    against the chapter's; ``fraction`` of its parts right (partial credit)."""
    results = []
    for cell in workbook.check_cells(chapter_nb):
        title = workbook.exercise_title(cell)
        passed, message, fraction = answers.judge(reference[title], run.answers.get(title, {}),
                                                  missing=_missing_reason(cell.id, run))
        results.append((workbook.exercise_name(cell.id), passed, fraction, message))
    return results


def student_names(submissions: list[Path]) -> list[str]:
    """A name per submission: nbgrader's ``submitted/<student>/<assignment>/<file>``, else the
    file's name without ``.ipynb``; files with the same name in different folders are told
    apart by their folders (``a/hw``, ``b/hw``)."""
    paths = [Path(os.path.abspath(s)) for s in submissions]
    names = []
    for path in paths:
        parts = path.parts
        if len(parts) >= 4 and parts[-4] == "submitted":
            names.append(parts[-3])
        else:
            names.append(path.stem)
    for name in {n for n in names if names.count(n) > 1}:
        group = [i for i, n in enumerate(names) if n == name]
        for depth in range(1, max(len(paths[i].parts) for i in group)):
            labels = {i: "/".join((*paths[i].parts[-depth - 1:-1], paths[i].stem)) for i in group}
            if len(set(labels.values())) == len(group):
                for i, label in labels.items():
                    names[i] = label
                break
    return names


# --- the whole class -------------------------------------------------------------------------

def _prefetch_data(chapter_nb) -> None:
    """Data sets the chapter loads, fetched now: a sandboxed kernel can read them, not fetch."""
    from book_kit import datasets

    text = "\n".join(c.source for c in chapter_nb.cells if c.cell_type == "code").lower()
    for name in datasets.REGISTRY:
        if name.lower() in text:
            try:
                datasets.fetch(name)
            except Exception as e:
                raise UsageError(f"the chapter needs the {name} data set: {e}") from None


def in_shard(names: list[str], shard: tuple[int, int] | None) -> set[str]:
    """The names the K-th of N shards grades (1-based): every N-th name in sorted order, so the
    slices are the same on every machine, whatever order the files were given in."""
    if shard is None:
        return set(names)
    k, n = shard
    return {name for i, name in enumerate(sorted(set(names))) if i % n == k - 1}


def grade(chapter: Path, submissions: list[Path], out_dir: Path, settings: Settings,
          progress: bool = True, shard: tuple[int, int] | None = None) -> list[Row]:
    """Grade ``submissions`` and write every output into ``out_dir`` (``book_kit.gradebook``).

    ``shard=(k, n)`` grades only the k-th of n deterministic slices of the class (students on
    the roster included); ``merge`` combines the slices' folders into the class's.
    """
    import nbformat

    chapter = Path(chapter)
    if not chapter.is_file():
        raise UsageError(f"no chapter notebook at {chapter}")
    try:
        chapter_bytes = chapter.read_bytes()
        chapter_nb = nbformat.reads(chapter_bytes.decode("utf-8"), as_version=4)
    except Exception as e:
        raise UsageError(f"{chapter} is not a readable notebook: {e}") from None
    checks = workbook.check_cells(chapter_nb)
    if not checks:
        raise UsageError(f"{chapter} has no check cells (cell ids ending in '-check').")
    if not submissions:
        raise UsageError("no submissions given")
    resolved = [os.path.realpath(s) for s in submissions]
    twice = sorted({str(s) for s, r in zip(submissions, resolved) if resolved.count(r) > 1})
    if twice:
        raise UsageError(f"a submission is given twice: {', '.join(twice)}")
    if settings.sandbox:
        problem = sandbox.why_unavailable()
        if problem:
            raise UsageError(f"cannot sandbox the submissions: {problem}. Grade on a machine "
                             "where bubblewrap works, or pass --no-sandbox to run them with "
                             "your own permissions (they can then read and change your files).")
    else:
        print("book-kit grade: warning: --no-sandbox: submissions run with your own permissions; "
              "they can read and change your files.", file=sys.stderr)
    _prefetch_data(chapter_nb)
    names = student_names(submissions)
    mine = in_shard([*names, *(settings.roster or [])], shard)
    submissions = [s for s, name in zip(submissions, names) if name in mine]
    names = [name for name in names if name in mine]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    from tqdm.auto import tqdm

    slots: queue.Queue = queue.Queue()
    for slot in range(max(1, settings.jobs)):
        slots.put(slot)

    def in_a_slot(function, *args):
        slot = slots.get()
        try:
            return function(*args, slot=slot)
        finally:
            slots.put(slot)

    # first (once per chapter, then cached): a chapter whose own solutions fail stops here,
    # before a whole class is run
    reference = reference_answers(chapter_nb, chapter_bytes, settings)
    cache = grading_cache.ResultCache(out_dir / ".cache", chapter_bytes, settings)
    counts = {"run": 0, "cached": 0}

    def grade_one(submission: Path, name: str, slot: int) -> list[tuple]:
        cached = cache.get(submission)
        if cached is not None:
            counts["cached"] += 1
            return cached
        result = run_submission(chapter_nb, chapter.name, submission, settings, name, slot)
        if isinstance(result, str):  # it could not be run at all
            return [(workbook.exercise_name(c.id), False, 0.0, result) for c in checks]
        counts["run"] += 1
        judged = judge_submission(chapter_nb, result, reference, name, submission)
        cache.put(submission, judged)
        return judged

    results: dict[str, list[tuple]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = {pool.submit(in_a_slot, grade_one, Path(s), name): name
                   for s, name in zip(submissions, names)}
        with tqdm(total=len(futures), desc="grading", unit="notebook", disable=not progress,
                  file=sys.stderr) as bar:
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    if progress:
        print(f"book-kit grade: {counts['run']} submissions run, {counts['cached']} unchanged "
              f"since the last grading (from {out_dir / '.cache'})", file=sys.stderr)
    points = exercise_points(chapter_nb, settings.points)
    rows = []
    for submission, name in zip(submissions, names):
        late = grading_config.is_late(Path(submission), settings.deadline)
        rows += [Row(name, exercise, passed, message, str(submission),
                     round(points[exercise] * fraction, 2), points[exercise], late)
                 for exercise, passed, fraction, message in results[name]]
    for name in settings.roster or []:  # who should have handed in and did not
        if name not in names and name in mine:
            rows += [Row(name, e, False, "no submission", "", 0.0, p) for e, p in points.items()]
    strangers = sorted(set(names) - set(settings.roster)) if settings.roster else []
    if strangers:
        print(f"book-kit grade: warning: not on the roster: {', '.join(strangers)}",
              file=sys.stderr)
    titles = {workbook.exercise_name(c.id): workbook.exercise_title(c) for c in checks}
    rows = gradebook.write_all(rows, titles, chapter.name, out_dir)
    by_student = gradebook.by_student(rows)
    for submission, name in [*zip(submissions, names),
                             *((None, n) for n in settings.roster or []
                               if n not in names and n in mine)]:
        graded = None
        if submission is not None:
            submission_nb, why_not = _submission_nb(chapter_nb, chapter.name, Path(submission))
            if not why_not:
                graded = feedback_notebook(chapter_nb, submission_nb)
        gradebook.write_feedback(graded, list(by_student[name].values()), titles, chapter.name,
                                 gradebook.feedback_file(out_dir, name))
    return rows


def feedback_notebook(chapter_nb, submission_nb):
    """The notebook as graded, its check cells without their hidden tests (they stay hidden)."""
    nb = graded_notebook(chapter_nb, submission_nb)
    for cell in workbook.check_cells(nb):
        cell.source = workbook.strip_solutions(cell.source, cell.id)
    return nb
