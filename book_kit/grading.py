"""Grade student workbooks against their chapter with nbval, and write a gradebook.

For each submission, in a private temporary folder (the submission itself is only ever read):

1. the notebook is read; an invalid file or another chapter's notebook fails every exercise with
   that reason;
2. the chapter's check cells are put back by cell id (edited ones overwritten, deleted ones
   re-inserted), each preceded by a guard that loads the checks afresh from book_kit's files, so
   an earlier cell that patched ``book_kit.exercises`` cannot make a check pass; its expected
   output is the check's fixed "✔ ... correct!" line, so a check that silently does nothing fails
   too;
3. nbval (lax) runs it with a per-cell timeout, in a kernel with a memory limit and, when the
   grader runs as root, in namespaces of its own where the whole machine is read-only but the
   submission's working folder and no other process is visible (``book_kit.sandbox_kernel``);
4. each check cell's nbval result becomes a row of the gradebook.
"""

from __future__ import annotations

import concurrent.futures
import copy
import csv
import dataclasses
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from book_kit import nbrun, workbook

PACKAGE_DIR = Path(__file__).resolve().parent
KERNEL_NAME = "book_kit_grading"
GRADING_ENV = "BOOK_KIT_GRADING"

GUARD = """\
# book_kit grading: load the checks afresh, whatever earlier cells did to the imported copies
import importlib.util as _bk_util, sys as _bk_sys
import book_kit as _bk_package


def _bk_fresh(name, path):
    spec = _bk_util.spec_from_file_location(name, path)
    module = _bk_util.module_from_spec(spec)
    _bk_sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_bk_fresh("book_kit.arrays", {arrays!r})
ex = _bk_package.exercises = _bk_fresh("book_kit.exercises", {exercises!r})
del _bk_fresh, _bk_util, _bk_sys, _bk_package
# NBVAL_CHECK_OUTPUT
"""


class UsageError(ValueError):
    """Grading could not start (bad chapter, no submissions, ...): exit non-zero."""


@dataclasses.dataclass
class Row:
    student: str
    exercise: str
    passed: bool
    message: str


@dataclasses.dataclass
class Settings:
    timeout: int = 60           # seconds per cell
    memory_mb: int | None = 8192  # address space of the kernel
    jobs: int = 1
    isolate: bool = True        # as root: read-only machine, own process namespace


# --- preparing the graded notebook -----------------------------------------------------------

def _fixed_line(check_cell) -> str:
    for output in check_cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in "".join(output.get("text", "")).splitlines():
                if line.startswith("✔ "):
                    return line
    raise UsageError(f"check cell {check_cell.id!r} of the chapter has no stored '✔ ... correct!' "
                     "line: execute the chapter notebook first.")


def _restored_check_cell(chapter_cell):
    import nbformat

    cell = nbformat.v4.new_code_cell(
        GUARD.format(arrays=str(PACKAGE_DIR / "arrays.py"),
                     exercises=str(PACKAGE_DIR / "exercises.py")) + chapter_cell.source)
    cell.id = chapter_cell.id
    cell.execution_count = 1  # nbval compares outputs only of cells that were executed
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text=_fixed_line(chapter_cell) + "\n")]
    return cell


def graded_notebook(chapter_nb, submission_nb):
    """The submission's cells, outputs cleared, with the chapter's check cells restored."""
    checks = {c.id: c for c in workbook.check_cells(chapter_nb)}
    restored = {cid: _restored_check_cell(c) for cid, c in checks.items()}
    cells = []
    for cell in submission_nb.cells:
        cid = cell.get("id")
        if cid in restored:
            cells.append(restored.pop(cid))
        elif cid == workbook.HEADER_ID or workbook.is_check_cell(cell):
            continue  # the header, or a check cell of some other chapter
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


# --- running one submission ------------------------------------------------------------------

_UNSHARE = ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
            "--kill-child"]
_probe: dict[str, bool] = {}


def sandbox_available() -> bool:
    """Whether submissions can be isolated here: root, and namespaces that work."""
    if "ok" not in _probe:
        ok = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") is not None \
            and shutil.which("setpriv") is not None
        if ok:
            ok = subprocess.run([*_UNSHARE, "true"], capture_output=True).returncode == 0
        _probe["ok"] = ok
    return _probe["ok"]


def _kernelspec(folder: Path, workdir: Path, isolate: bool, memory_mb: int | None) -> Path:
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    argv = [*(_UNSHARE if isolate else []), sys.executable, "-m", "book_kit.sandbox_kernel",
            "--workdir", str(workdir)]
    if isolate:
        argv.append("--isolate")
    if memory_mb:
        argv += ["--memory-mb", str(memory_mb)]
    argv += ["-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "book_kit grading", "language": "python"}))
    return folder


def _sandbox_env(home: Path, ipython_dir: Path) -> dict:
    env = dict(os.environ)
    for var in list(env):
        if var.startswith(("JUPYTER_", "KERAS_BACKEND")):
            env.pop(var)
    env.update({"HOME": str(home), "TMPDIR": str(home / "tmp"), "MPLCONFIGDIR": str(home / ".mpl"),
                "XDG_CACHE_HOME": str(home / ".cache"), "KERAS_HOME": str(home / ".keras"),
                "IPYTHONDIR": str(ipython_dir), GRADING_ENV: "1", "BOOK_KIT_STATIC_PLOTS": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    # the data the chapters load: readable where it already is, never fetched by a submission
    from book_kit import datasets

    env.setdefault(datasets.ENV_DATA_DIR, str(datasets.data_dir()))
    return env


def _reason(text: str, settings: Settings) -> str:
    """The part of nbval's failure report a student needs, on one line."""
    clean = re.sub(r"(\x1b|#x1B)\[[0-9;]*[A-Za-z]", "", text)
    if ("Kernel dead on test start" in clean or "Kernel died" in clean
            or "Previous cell timed out" in clean):
        return ("not run: an earlier cell stopped the kernel (it crashed, exited, or timed out "
                "and could not be interrupted)")
    if "Timeout of" in clean:
        return f"timed out: a cell ran longer than {settings.timeout} s (an endless loop?)"
    lines = [line.rstrip() for line in clean.splitlines()]
    for i, line in enumerate(lines):
        if line.strip().startswith("✘ "):  # a check's own message (see exercises._show_failure)
            details = [d.strip() for d in lines[i + 1:] if d.startswith("  ") and d.strip()]
            return "; ".join([line.strip()[2:], *details])
    if "MemoryError" in clean:
        return f"MemoryError: the kernel ran out of memory (limit {settings.memory_mb} MB)"
    m = re.search(r"^(\w*(Error|Exception|Exit|Interrupt)\w*): (.*)$", clean, re.M)
    if m:
        return f"{m.group(1)}: {m.group(3).strip()}"
    if "mismatch" in clean or "Unexpected output" in clean:
        return "the check did not print just its '✔ ... correct!' line"
    return (clean.strip().splitlines() or ["failed"])[-1][:300]


def _results_from_junit(junit: Path, graded_nb, exercises: list[str], settings: Settings):
    by_cell = {}
    tree = ET.parse(junit)
    for case in tree.iter("testcase"):
        m = re.search(r"Cell (\d+)", case.get("name", ""))
        if not m:
            continue
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")),
                       None)
        if problem is None:
            by_cell[int(m.group(1))] = (True, "")
        else:
            text = (problem.get("message") or "") + "\n" + (problem.text or "")
            by_cell[int(m.group(1))] = (False, _reason(text, settings))
    results = {}
    code_cells = [c for c in graded_nb.cells if c.cell_type == "code"]  # nbval counts these
    for index, cell in enumerate(code_cells):
        if workbook.is_check_cell(cell):
            results[workbook.exercise_name(cell.id)] = by_cell.get(
                index, (False, "not run: grading stopped before this cell"))
    return [(e, *results.get(e, (False, "not run"))) for e in exercises]


def grade_submission(chapter_nb, chapter_name: str, submission: Path, settings: Settings,
                     index: int = 0) -> list[Row]:
    import nbformat

    student = submission.stem
    exercises = [workbook.exercise_name(c.id) for c in workbook.check_cells(chapter_nb)]

    def everything_failed(message):
        return [Row(student, e, False, message) for e in exercises]

    try:
        data = submission.read_bytes()
    except OSError as e:
        return everything_failed(f"could not read the submission: {e}")
    try:
        submission_nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(submission_nb)
    except Exception as e:  # not JSON, not a notebook, an unknown format version ...
        return everything_failed(f"the submission is not a valid notebook: "
                                 f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    why_not = _belongs_to(chapter_nb, chapter_name, submission_nb)
    if why_not:
        return everything_failed(why_not)

    graded = graded_notebook(chapter_nb, submission_nb)
    isolate = settings.isolate and sandbox_available()
    private = Path(tempfile.mkdtemp(prefix="book_kit-grade-"))  # 0700: the grader's only
    try:
        sandbox = private / "sandbox"       # the submission's working copy and home
        for sub in ("", "tmp", ".mpl", ".cache", ".keras", ".ipython/profile_default"):
            (sandbox / sub).mkdir(parents=True, exist_ok=True)
        (sandbox / ".ipython/profile_default/ipython_kernel_config.py").write_text(
            "c.IPKernelApp.capture_fd_output = False\n")
        notebook = sandbox / f"{chapter_name}"
        nbformat.write(graded, notebook)
        spec_root = _kernelspec(private / "jupyter", sandbox, isolate, settings.memory_mb)
        env = _sandbox_env(sandbox, sandbox / ".ipython")
        env.update(nbrun.thread_settings(settings.jobs))  # -j N kernels share the cores
        env["JUPYTER_PATH"] = str(spec_root)
        junit = private / "junit.xml"
        cmd = nbrun.nbval_command(notebook, lax=True, cell_timeout=settings.timeout,
                                  kernel_name=KERNEL_NAME,
                                  extra=[f"--junitxml={junit}", "-o", "junit_family=xunit1"])
        code_cells = sum(c.cell_type == "code" for c in graded.cells)
        limit = 120 + code_cells * (settings.timeout + 10)
        process = subprocess.Popen(cmd, cwd=private, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return everything_failed(f"grading stopped after {limit} s")
        if not junit.exists():
            last = output.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return everything_failed(f"nbval could not run the notebook: {last[0][:300]}")
        return [Row(student, e, passed, message) for e, passed, message in
                _results_from_junit(junit, graded, exercises, settings)]
    finally:
        shutil.rmtree(private, ignore_errors=True)


# --- the whole class -------------------------------------------------------------------------

def grade(chapter: Path, submissions: list[Path], out_dir: Path, settings: Settings,
          progress: bool = True) -> list[Row]:
    import nbformat

    chapter = Path(chapter)
    if not chapter.is_file():
        raise UsageError(f"no chapter notebook at {chapter}")
    try:
        chapter_nb = nbformat.read(chapter, as_version=4)
    except Exception as e:
        raise UsageError(f"{chapter} is not a readable notebook: {e}") from None
    checks = workbook.check_cells(chapter_nb)
    if not checks:
        raise UsageError(f"{chapter} has no check cells (cell ids ending in '-check').")
    for cell in checks:
        _fixed_line(cell)
    if not submissions:
        raise UsageError("no submissions given")
    stems = [Path(s).stem for s in submissions]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        raise UsageError(f"two submissions have the same name: {', '.join(duplicates)} "
                         "(students are named by file name)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings.isolate and not sandbox_available():
        print("book-kit grade: warning: submissions run with your own permissions (no sandbox: "
              "it needs root and util-linux unshare/setpriv, e.g. in a container); they can read "
              "and change your files.", file=sys.stderr)

    from tqdm.auto import tqdm

    rows_by_student: dict[str, list[Row]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = {pool.submit(grade_submission, chapter_nb, chapter.name, Path(s), settings, i):
                   Path(s).stem for i, s in enumerate(submissions)}
        with tqdm(total=len(futures), desc="grading", unit="notebook", disable=not progress,
                  file=sys.stderr) as bar:
            for future in concurrent.futures.as_completed(futures):
                rows_by_student[futures[future]] = future.result()
                bar.update()
    rows = [row for s in stems for row in rows_by_student[s]]
    titles = {workbook.exercise_name(c.id): workbook.exercise_title(c) for c in checks}
    write_csv(rows, out_dir / "gradebook.csv")
    write_html(rows, titles, chapter.name, out_dir / "gradebook.html")
    return rows


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", "passed", "message"])
        for r in rows:
            writer.writerow([r.student, r.exercise, "yes" if r.passed else "no", r.message])


def _by_student(rows: list[Row]) -> dict[str, dict[str, Row]]:
    table: dict[str, dict[str, Row]] = {}
    for r in rows:
        table.setdefault(r.student, {})[r.exercise] = r
    return table


def summary_table(rows: list[Row]) -> str:
    table = _by_student(rows)
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    header = ["student", "score", *exercises]
    lines = [header]
    for student, results in table.items():
        score = sum(r.passed for r in results.values())
        lines.append([student, f"{score}/{len(exercises)}",
                      *("✔" if results[e].passed else "✘" for e in exercises)])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def write_html(rows: list[Row], titles: dict[str, str], chapter: str, path: Path) -> None:
    table = _by_student(rows)
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    head = "".join(f"<th title='{html.escape(titles.get(e, e))}'>{html.escape(e)}</th>"
                   for e in exercises)
    body = []
    for student, results in table.items():
        score = sum(r.passed for r in results.values())
        cells = "".join(
            f"<td class='{'ok' if results[e].passed else 'no'}' "
            f"title='{html.escape(results[e].message)}'>{'✔' if results[e].passed else '✘'}"
            f"{'' if results[e].passed else '<br><small>' + html.escape(results[e].message) + '</small>'}"
            "</td>" for e in exercises)
        body.append(f"<tr><th>{html.escape(student)}</th><td>{score}/{len(exercises)}</td>{cells}</tr>")
    legend = "".join(f"<li><b>{html.escape(e)}</b>: {html.escape(titles.get(e, e))}</li>"
                     for e in exercises)
    path.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Gradebook: {html.escape(chapter)}</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;max-width:28em}}
.ok{{color:#009E73}} .no{{color:#D55E00}} small{{color:#333}}</style></head>
<body><h1>Gradebook: {html.escape(chapter)}</h1>
<table><tr><th>student</th><th>score</th>{head}</tr>
{''.join(body)}</table><ul>{legend}</ul></body></html>
""", encoding="utf-8")

