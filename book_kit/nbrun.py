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

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")

# Kernels we start write C-level output (TensorFlow's start-up log lines, with timestamps) to
# their own stderr instead of the notebook: otherwise it lands in stored outputs, in whichever
# cell happens to be running. Our kernels get these settings through a private IPython profile
# (the one thing both nbclient and nbval kernels read), graded kernels on their command line.
KERNEL_SETTINGS = {"IPKernelApp.capture_fd_output": "False"}
_KERNEL_CONFIG = "".join(f"c.{name} = {value}\n" for name, value in KERNEL_SETTINGS.items())


def kernel_arguments() -> list[str]:
    """:data:`KERNEL_SETTINGS` as ipykernel command-line options.

    Example
    -------
    >>> kernel_arguments()
    ['--IPKernelApp.capture_fd_output=False']
    """
    return [f"--{name}={value}" for name, value in KERNEL_SETTINGS.items()]


def install_quiet_kernels(prefix: str | os.PathLike | None = None) -> Path:
    """Make every IPython kernel of this Python environment keep C-level output out of cells.

    Writes the setting above into ``<prefix>/etc/ipython/ipython_kernel_config.py``, a file
    IPython reads for every kernel started from this environment (``make lab``'s too); a line
    already there is kept. ``make install`` calls it.

    Parameters
    ----------
    prefix : path, optional
        The environment's prefix (default: ``sys.prefix``).

    Returns
    -------
    Path
        The configuration file.

    Example
    -------
    >>> install_quiet_kernels()
    PosixPath('.venv/etc/ipython/ipython_kernel_config.py')
    """
    config = Path(prefix or sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = config.read_text() if config.exists() else ""
    if not all(line in text.splitlines() for line in _KERNEL_CONFIG.splitlines()):
        config.write_text(text + ("" if not text or text.endswith("\n") else "\n") + _KERNEL_CONFIG)
    return config


def keep_c_output_out_of_cells() -> str | None:
    """In a running kernel, keep what C and C++ code writes to stderr out of the cells.

    A stock ipykernel (``capture_fd_output=True``, its default) turns file descriptor 2 into a
    pipe and forwards what arrives there into whichever cell is running: TensorFlow's and XLA's
    start-up log lines (``WARNING: All log messages before absl::InitializeLog()``,
    ``I0000 ... cpu_feature_guard.cc``, ``E0000``/``W0000`` lines) become red boxes. This stops
    that forwarding for fd 2 only, as the quiet kernels of :func:`install_quiet_kernels` do: the
    lines go to the kernel's own stderr (the terminal that runs JupyterLab). Python's
    ``sys.stderr`` is not a file descriptor in a kernel, so warnings and
    ``print(..., file=sys.stderr)`` still show in the cell; C-level stdout is still forwarded.

    Where the kernel's stream is not one this recognises (another ipykernel version, another
    kernel), TensorFlow's own switch is set instead, if TensorFlow is not loaded yet and the
    reader has not set it: ``TF_CPP_MIN_LOG_LEVEL=1`` (no INFO lines; warnings and errors stay).
    ``book_kit.setup_notebook()`` calls this; outside a kernel it does nothing.

    Returns
    -------
    str or None
        ``"fd"`` if fd 2's forwarding was stopped, ``"env"`` if the variable was set, None if
        nothing needed doing (no kernel, a quiet kernel, called before).

    Example
    -------
    >>> keep_c_output_out_of_cells()   # in a stock Jupyter kernel
    'fd'
    """
    stream = sys.stderr
    if type(stream).__module__ != "ipykernel.iostream":
        return None  # a terminal, pytest, a script: C-level output is not in any cell
    copy = getattr(stream, "_original_stdstream_copy", None)
    watcher = getattr(stream, "watch_fd_thread", None)
    if getattr(stream, "_original_stdstream_fd", None) == 2 and copy is not None \
            and watcher is not None and hasattr(stream, "_should_watch"):
        if not stream._should_watch:
            return None  # done before
        # ipykernel's watcher thread reads the pipe and forwards while _should_watch holds: clear
        # it, then wake the thread with a byte it reads but no longer forwards, so it ends (and
        # the kernel's shutdown, which writes such a byte and joins it, does not wait for it).
        stream._should_watch = False
        os.write(2, b"\0")
        watcher.join(timeout=5)
        os.dup2(copy, 2)  # fd 2 is the kernel's own stderr again
        return "fd"
    if getattr(stream, "_should_watch", True) is False:
        return None  # a quiet kernel (capture_fd_output=False): nothing is forwarded
    if "tensorflow" not in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"  # read once, when TensorFlow loads
        return "env"
    return None


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
    >>> thread_settings(jobs=2)["OMP_NUM_THREADS"]  # on a 2-core machine
    '1'
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
    (profile / "ipython_kernel_config.py").write_text(_KERNEL_CONFIG)
    env["IPYTHONDIR"] = str(ipython_dir)
    env["BOOK_KIT_STATIC_PLOTS"] = "1"  # live plots draw once, at the end: stable outputs
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def execute(path: str | os.PathLike, *, backend: str | None = None, timeout: int = 1800,
            cwd: str | os.PathLike | None = None, share_cores: bool = True) -> Path:
    """Execute a notebook in one fresh kernel and store its outputs (counts 1, 2, 3, ...).

    The file is replaced only once the whole run succeeded, so a failure never leaves a
    half-executed notebook behind. ``share_cores``: see :func:`kernel_env`.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = kernel_env(backend=backend, share_cores=share_cores)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd or path.parent)}})
        client.execute(env=env)
    finally:
        shutil.rmtree(env["IPYTHONDIR"], ignore_errors=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".ipynb", delete=False,
                                     encoding="utf-8") as tmp:
        nbformat.write(nb, tmp)
    os.replace(tmp.name, path)
    return path


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
    >>> nbval_command("chapters/ch03_1_tensors_and_gradients.ipynb")[:3]   # doctest: +SKIP
    ['.../python', '-m', 'pytest']
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
              cell_timeout: int = 600, env: dict | None = None, cwd: str | os.PathLike | None = None,
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
