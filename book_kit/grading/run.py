"""Running one notebook in the sandbox: a fresh home, its own user, a kernel with only the
environment it needs; back come each cell's outcome and the answers its check cells sent.

``book_kit.grading.course`` calls :func:`run_sandboxed` for the chapter (its reference answers)
and for each submission, and :func:`evaluate_models` for the trained models they hand in (a
second sandbox that runs none of the submission's code).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from book_kit.grading import record, sandbox
from book_kit.grading.config import Settings
from book_kit.notebook import runner

WITHHELD_ENV = "BOOK_KIT_WITHHELD"


@dataclasses.dataclass
class Run:
    """What a sandboxed run of a notebook left: how each cell ended and what its checks sent."""
    cells: dict            # cell id -> {"status", "error"}
    stopped: str | None    # why the run ended early, if it did
    answers: dict          # exercise (grade_id) -> entries its check cell sent
    models: Path | None    # where the models handed in were written (entries name their file)


def _kernel_env(home: str, data_dir: Path, jobs: int, withheld: str = "") -> dict:
    """The kernel's whole environment: this allow-list, nothing of the grader's own."""
    workdir = Path(home)
    env = {"HOME": str(workdir), "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                    "/usr/bin", "/bin"]),
           "TMPDIR": str(workdir / "tmp"), "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
           "XDG_CACHE_HOME": str(workdir / ".cache"), "KERAS_HOME": str(workdir / ".keras"),
           "IPYTHONDIR": str(workdir / ".ipython"), "PYTHONDONTWRITEBYTECODE": "1",
           record.ENV: "1", "BOOK_KIT_STATIC_PLOTS": "1",
           "BOOK_KIT_DATA_DIR": str(data_dir), **runner.thread_settings(jobs)}
    if withheld:
        env[WITHHELD_ENV] = withheld
    if os.environ.get("PYTHONPATH"):  # the grader's own Python needs it, so its kernel does
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _launcher(settings: Settings, uid: int | None) -> list[str]:
    argv = [sys.executable, "-m", "book_kit.grading.sandbox_kernel",
            "--max-processes", str(settings.max_processes),
            "--max-file-mb", str(settings.max_file_mb)]
    if settings.memory_mb:
        argv += ["--memory-mb", str(settings.memory_mb)]
    if uid is not None:
        argv += ["--uid", str(uid)]
    return argv


def _workdir(private: Path, uid: int | None) -> Path:
    """The grader's folder for the sandbox: as root, its ``.kernel`` is the submission's user's."""
    workdir = private / "work"
    for sub in sandbox.HOME_FOLDERS:
        (workdir / sub).mkdir(parents=True)
    if uid is not None:
        for folder in [workdir, *workdir.iterdir()]:
            os.chown(folder, uid, uid)
        os.chmod(workdir, 0o700)
    return workdir


def run_sandboxed(nb, checks: dict[str, str], settings: Settings, slot: int = 0,
                  keep_as: str | None = None, data_dir: Path | None = None,
                  withheld: str = "", models_to: Path | None = None) -> Run:
    """Execute ``nb`` in a sandboxed kernel; return its cells' outcomes and its checks' answers.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The graded notebook (``book_kit.grading.notebook.graded_notebook``).
    checks : dict
        Check cell id -> exercise (nbgrader ``grade_id``): answers count only from these cells.
    settings : Settings
        Limits and the sandbox switch.
    slot : int
        Which of the notebooks run at once this is (its user id, as root).
    keep_as : str, optional
        Copy its home into ``settings.keep_work / keep_as`` at the end (to see what it wrote).
    data_dir : Path, optional
        The data sets it may read (default: ``book_kit.datasets.data_dir()``).
    withheld : str
        ``BOOK_KIT_WITHHELD`` for the kernel: arrays of ``data_dir`` replaced by the grader.
    models_to : Path, optional
        Where the trained models its checks hand in are written (default: nowhere kept).

    Returns
    -------
    Run
    """
    import nbformat

    from book_kit import datasets

    private = Path(tempfile.mkdtemp(prefix="book_kit-grade-"))  # 0700: the grader's only
    try:
        uid = sandbox.uid_for(slot) if settings.sandbox else None
        workdir = _workdir(private, uid)
        notebook = private / "graded.ipynb"
        nbformat.write(nb, notebook)
        data_dir = Path(data_dir or datasets.data_dir())
        argv = _launcher(settings, uid) + ["-f", "{connection_file}"]
        if settings.sandbox:
            argv = sandbox.command(workdir, argv, slot=slot, data_dirs=[data_dir],
                                   private=private, disk_mb=settings.max_disk_mb)
        models = Path(models_to) if models_to else private / "models"
        keep = None
        if keep_as is not None and settings.keep_work is not None:
            keep = str(Path(settings.keep_work) / keep_as)
        job = {"notebook": str(notebook), "argv": argv, "workdir": str(workdir),
               "env": _kernel_env(sandbox.HOME if settings.sandbox else str(workdir), data_dir,
                                  settings.jobs, withheld),
               "checks": checks, "models": str(models), "keep": keep,
               "home_inside": sandbox.HOME if settings.sandbox else None,
               "grader": os.getpid(),  # the runner dies with it, even if it died first
               "cell_timeout": settings.timeout, "report": str(private / "report.json"),
               "kernel_log": str(private / "kernel.log")}
        (private / "job.json").write_text(json.dumps(job))
        code_cells = sum(c.cell_type == "code" for c in nb.cells)
        limit = settings.notebook_timeout or 120 + code_cells * (settings.timeout + 10)
        with open(private / "runner.log", "wb") as log:
            runner = subprocess.Popen([sys.executable, "-m", "book_kit.grading.cell_runner",
                                       str(private / "job.json")], cwd=private,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=log, start_new_session=True)
        stopped = None
        try:
            runner.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            # the kernel dies with it (the sandbox: --die-with-parent; without: its
            # parent-death signal), and whatever the kernel started dies with the sandbox
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
            stopped = f"grading stopped after {limit} s (the time limit of a whole notebook)"
        try:
            report = json.loads((private / "report.json").read_text())
        except (OSError, ValueError):
            report = {"cells": [], "stopped": None, "answers": {}}
            if stopped is None:
                tail = (private / "runner.log").read_bytes()[-2000:].decode(errors="replace")
                stopped = "the notebook could not be run: " + \
                    ((tail.strip().splitlines() or ["the runner ended without a report"])[-1])
        return Run(cells={c["id"]: c for c in report["cells"]},
                   stopped=stopped or report.get("stopped"),
                   answers={e: list(v) for e, v in report.get("answers", {}).items()
                            if e in checks.values()},
                   models=models if models_to else None)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def evaluate_models(jobs: list[dict], settings: Settings, slot: int = 0,
                    data_dir: Path | None = None) -> list[dict]:
    """Evaluate trained models in a fresh sandbox that runs none of the submission's code.

    Parameters
    ----------
    jobs : list of dict
        ``{"file": Path, "on": str, "seed": int}`` each (``book_kit.grading.outcomes``).
    settings, slot, data_dir
        As for :func:`run_sandboxed` (``data_dir`` here is the real one: test labels included).

    Returns
    -------
    list of dict
        ``{"accuracy": float}`` or ``{"error": str}`` per job, in order.
    """
    from book_kit import datasets

    if not jobs:
        return []
    private = Path(tempfile.mkdtemp(prefix="book_kit-evaluate-"))
    try:
        uid = sandbox.uid_for(slot) if settings.sandbox else None
        workdir = _workdir(private, uid)
        models = private / "models"
        models.mkdir()
        inside = f"{sandbox.HOME}/models" if settings.sandbox else str(models)
        listed = []
        for i, job in enumerate(jobs):
            shutil.copyfile(job["file"], models / f"{i}.keras")
            listed.append({"file": f"{inside}/{i}.keras", "on": job["on"], "seed": job["seed"]})
        (models / "job.json").write_text(json.dumps(listed))
        os.chmod(private, 0o711)
        for path in (models, *models.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        data_dir = Path(data_dir or datasets.data_dir())
        argv = _launcher(settings, uid) + ["--module", "book_kit.grading.outcomes",
                                           f"{inside}/job.json"]
        if settings.sandbox:
            argv = sandbox.command(workdir, argv, slot=slot, data_dirs=[data_dir],
                                   private=private, disk_mb=256,
                                   read_only=[(models, inside)])
        env = _kernel_env(sandbox.HOME if settings.sandbox else str(workdir), data_dir,
                          settings.jobs)
        env.pop(record.ENV)
        env["KERAS_BACKEND"] = "jax"
        try:
            result = subprocess.run(argv, env=env, cwd=workdir, stdin=subprocess.DEVNULL,
                                    capture_output=True, timeout=max(120, settings.timeout * 2))
            results = json.loads(result.stdout.decode(errors="replace").strip().splitlines()[-1])
            if not isinstance(results, list) or len(results) != len(jobs):
                raise ValueError("wrong number of results")
        except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
            problem = f"the trained model could not be evaluated ({type(e).__name__})"
            return [{"error": problem} for _ in jobs]
        return results
    finally:
        shutil.rmtree(private, ignore_errors=True)
