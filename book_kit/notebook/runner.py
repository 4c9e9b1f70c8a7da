"""Run notebooks: execute one top to bottom in a fresh kernel (nbclient), or validate it (nbval).

Chapter builds, the test suite and grading all go through these two functions, so a notebook is
executed and compared the same way everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from book_kit.notebook import quiet

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")

# Frameworks size their thread pools to every core of the machine, as if they had it to themselves.
# PyTorch's OpenMP threads then *spin* while they wait for each other: with two other busy
# processes on 2 cores, a 2-epoch PyTorch fit ran 11.7x slower than on a quiet machine (23.7 s vs
# 2.0 s); passive waiting brought that to 2.8x, one thread per kernel to 2.2x. For a whole chapter
# see benchmarks/load.py and the "Under load" section of benchmarks/RESULTS.md.
JOBS_VARIABLE = "BOOK_KIT_KERNEL_JOBS"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def thread_settings(jobs: int | None = None) -> dict:
    """Environment variables that share the cores fairly between ``jobs`` kernels run side by side.

    Parameters
    ----------
    jobs : int, optional
        How many kernels run at once on this machine (pytest-xdist workers, ``grade -j``).
        Default: the ``BOOK_KIT_KERNEL_JOBS`` environment variable, or 1.

    Returns
    -------
    dict
        ``OMP_WAIT_POLICY=PASSIVE`` (an idle OpenMP thread sleeps instead of spinning) and, per
        kernel, ``cores // jobs`` threads (at least 1) for PyTorch's OpenMP pool and
        TensorFlow's intra-op pool.

    Example
    -------
    >>> # depends on the machine's cores: '1' on a 2-core machine
    >>> thread_settings(jobs=2)["OMP_NUM_THREADS"]   # doctest: +SKIP
    '1'
    >>> thread_settings(jobs=1000)   # more kernels than cores: one thread each
    {'OMP_WAIT_POLICY': 'PASSIVE', 'OMP_NUM_THREADS': '1', 'TF_NUM_INTRAOP_THREADS': '1'}
    """
    if jobs is None:
        jobs = int(os.environ.get(JOBS_VARIABLE) or 1)
    threads = str(max(1, available_cores() // max(1, jobs)))
    return {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": threads,
            "TF_NUM_INTRAOP_THREADS": threads}


def kernel_env(base: dict | None = None, *, backend: str | None = None,
               jobs: int | None = None, share_cores: bool = True) -> dict:
    """Environment for a kernel that executes or validates a notebook.

    With ``share_cores``, thread settings come from :func:`thread_settings` unless ``base``
    already sets them (a test that imitates another CPU sets its own); without, the frameworks
    keep their own defaults (``benchmarks/load.py`` measures both).
    """
    env = dict(os.environ if base is None else base)
    for name, value in (thread_settings(jobs) if share_cores else {}).items():
        env.setdefault(name, value)
    ipython_dir = Path(tempfile.mkdtemp(prefix="book_kit-ipython-"))
    profile = ipython_dir / "profile_default"
    profile.mkdir()
    (profile / "ipython_kernel_config.py").write_text(quiet.KERNEL_CONFIG)
    env["IPYTHONDIR"] = str(ipython_dir)
    env["BOOK_KIT_STATIC_PLOTS"] = "1"  # live plots draw once, at the end: stable outputs
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def execute(path: str | os.PathLike, *, backend: str | None = None, timeout: int = 1800,
            cwd: str | os.PathLike | None = None, share_cores: bool = True,
            runs: int = 1) -> Path:
    """Execute a notebook in one fresh kernel and store its outputs (counts 1, 2, 3, ...).

    The file is replaced only once the whole run succeeded, so a failure never leaves a
    half-executed notebook behind.

    Parameters
    ----------
    path : path
        The notebook, replaced by its executed self.
    backend : str, optional
        ``KERAS_BACKEND`` for the kernel.
    timeout : int
        Seconds a cell may take.
    cwd : path, optional
        The kernel's working folder (default: the notebook's).
    share_cores : bool
        See :func:`kernel_env`.
    runs : int
        *Run All* this many times in the same kernel, storing the last run's outputs. The
        chapters are stored from a second run (``metadata.book_kit.runs`` says so), so nbval,
        which runs them once in a fresh kernel, fails if a second *Run All* prints anything
        else: readers run everything again without restarting all the time.

    Returns
    -------
    Path
        ``path``.

    Example
    -------
    >>> # needs a Jupyter kernel, and minutes: it runs the chapter twice
    >>> execute("chapters/ch03_2_linear_classifier.ipynb", runs=2)   # doctest: +SKIP
    PosixPath('chapters/ch03_2_linear_classifier.ipynb')
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = kernel_env(backend=backend, share_cores=share_cores)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd or path.parent)}})
        if runs == 1:
            client.execute(env=env)
        else:
            _execute_again_and_again(client, runs, env)
    finally:
        shutil.rmtree(env["IPYTHONDIR"], ignore_errors=True)
    nb.metadata.setdefault("book_kit", {})["runs"] = runs
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".ipynb", delete=False,
                                     encoding="utf-8") as tmp:
        nbformat.write(nb, tmp)
    os.replace(tmp.name, path)
    return path


def _execute_again_and_again(client, runs: int, env: dict) -> None:
    """nbclient's ``execute``, the cells run ``runs`` times over in the one kernel."""
    with client.setup_kernel(env=env):
        info = client.wait_for_reply(client.kc.kernel_info())
        client.nb.metadata["language_info"] = info["content"]["language_info"]
        for _ in range(runs):
            for index, cell in enumerate(client.nb.cells):
                client.execute_cell(cell, index)
        client.set_widgets_metadata()
    code = [c for c in client.nb.cells if c.cell_type == "code"]
    for count, cell in enumerate(code, start=1):  # as one run numbers them
        cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = count


# On a backend other than the one a notebook's outputs were stored with, long decimals (losses,
# accuracies) and the backend's own name legitimately differ: compared on the stored backend only.
BACKEND_RULES = [(r"-?\d+\.\d{3,}(e[-+]?\d+)?", "<number>"),
                 (r"\b(jax|tensorflow|torch|numpy)\b", "<backend>")]


def nbval_command(notebook: str | os.PathLike, *, lax: bool = False, cell_timeout: int = 600,
                  sanitize: bool | str | os.PathLike = True, kernel_name: str | None = None,
                  extra: list[str] | None = None) -> list[str]:
    """The pytest command that validates ``notebook`` with nbval (our sanitizers, our kernel).

    Parameters
    ----------
    notebook : path
        The notebook to validate.
    lax : bool
        ``--nbval-lax`` (only cells marked to be compared) instead of strict.
    cell_timeout : int
        Seconds a cell may take.
    sanitize : bool or path
        Mask machine-dependent text with ``nbval_sanitize.cfg`` (True), a file of yours, or not.
    kernel_name : str, optional
        A named kernel instead of this Python's.
    extra : list of str, optional
        More pytest arguments.

    Returns
    -------
    list of str

    Example
    -------
    >>> import sys
    >>> command = nbval_command("chapters/ch03_1_tensors_and_gradients.ipynb")
    >>> command[0] == sys.executable, command[1:3]
    (True, ['-m', 'pytest'])
    """
    cmd = [sys.executable, "-m", "pytest", str(Path(notebook).resolve()), "-p", "no:cacheprovider",
           "-p", "no:xdist", "--nbval-lax" if lax else "--nbval",
           f"--nbval-kernel-name={kernel_name}" if kernel_name else "--nbval-current-env",
           f"--nbval-cell-timeout={cell_timeout}", "-q", "--no-header", "-rN",
           # the project's own pytest settings (testpaths, addopts) must not leak in
           "-c", os.devnull, "--rootdir", str(Path(notebook).resolve().parent)]
    if sanitize and not lax:  # nbval applies sanitizers only with --nbval
        cmd.append(f"--nbval-sanitize-with={SANITIZE_FILE if sanitize is True else sanitize}")
    return cmd + list(extra or [])


def stored_backend(notebook: str | os.PathLike) -> str | None:
    """The Keras backend a notebook's outputs were stored with (its book_kit metadata)."""
    import json

    meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    return meta.get("book_kit", {}).get("stored_backend")


def run_nbval(notebook: str | os.PathLike, *, lax: bool = False, backend: str | None = None,
              cell_timeout: int = 600, env: dict | None = None,
              cwd: str | os.PathLike | None = None,
              timeout: float | None = None, extra: list[str] | None = None
              ) -> subprocess.CompletedProcess:
    """Validate a notebook's stored outputs with nbval in a separate pytest process.

    With a ``backend`` other than the notebook's stored one, long decimals are not compared.
    """
    run_env = kernel_env(env, backend=backend)
    sanitize: bool | Path = True
    stored = stored_backend(notebook)
    if backend and stored and backend != stored:
        sanitize = Path(run_env["IPYTHONDIR"]) / "sanitize.cfg"
        rules = "".join(f"\nregex: {r}\nreplace: {p}\n" for r, p in BACKEND_RULES)
        sanitize.write_text(SANITIZE_FILE.read_text(encoding="utf-8") + rules, encoding="utf-8")
    try:
        return subprocess.run(nbval_command(notebook, lax=lax, cell_timeout=cell_timeout,
                                            sanitize=sanitize, extra=extra),
                              capture_output=True, text=True, env=run_env,
                              cwd=str(cwd or Path(notebook).resolve().parent), timeout=timeout)
    finally:
        shutil.rmtree(run_env["IPYTHONDIR"], ignore_errors=True)
