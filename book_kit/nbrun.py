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
# cell happens to be running. Passed through a private IPython profile, the only setting both
# nbclient and nbval kernels read.
_KERNEL_CONFIG = "c.IPKernelApp.capture_fd_output = False\n"


def kernel_env(base: dict | None = None, *, backend: str | None = None) -> dict:
    """Environment for a kernel that executes or validates a notebook."""
    env = dict(os.environ if base is None else base)
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
            cwd: str | os.PathLike | None = None) -> Path:
    """Execute a notebook in one fresh kernel and store its outputs (counts 1, 2, 3, ...).

    The file is replaced only once the whole run succeeded, so a failure never leaves a
    half-executed notebook behind.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = kernel_env(backend=backend)
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
