"""Run notebooks: execute one top to bottom in a fresh kernel (nbclient), or validate it (nbval).

Chapter builds, the test suite and grading all go through these two functions, so a notebook is
executed and compared the same way everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")


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
    # A cell nbval expects to raise must not stop nbclient either. nbclient reads a tag, nbval the
    # comment (and warns when it sees both), so the tag is there only while executing.
    tagged = [c for c in nb.cells if c.cell_type == "code" and "NBVAL_RAISES_EXCEPTION" in c.source
              and "raises-exception" not in c.metadata.get("tags", [])]
    for cell in tagged:
        cell.metadata.setdefault("tags", []).append("raises-exception")
    env_backup = os.environ.get("KERAS_BACKEND")
    if backend:
        os.environ["KERAS_BACKEND"] = backend  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd or path.parent)}})
        client.execute()
    finally:
        if backend:
            if env_backup is None:
                os.environ.pop("KERAS_BACKEND", None)
            else:
                os.environ["KERAS_BACKEND"] = env_backup
    for cell in tagged:
        cell.metadata["tags"].remove("raises-exception")
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".ipynb", delete=False,
                                     encoding="utf-8") as tmp:
        nbformat.write(nb, tmp)
    os.replace(tmp.name, path)
    return path


def nbval_command(notebook: str | os.PathLike, *, lax: bool = False, cell_timeout: int = 600,
                  sanitize: bool = True, extra: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", str(Path(notebook).resolve()), "-p", "no:cacheprovider",
           "-p", "no:xdist", "--nbval-lax" if lax else "--nbval", "--nbval-current-env",
           f"--nbval-cell-timeout={cell_timeout}", "-q", "--no-header", "-rN",
           # the project's own pytest settings (testpaths, addopts) must not leak in
           "-c", os.devnull, "--rootdir", str(Path(notebook).resolve().parent)]
    if sanitize and not lax:  # nbval applies sanitizers only with --nbval
        cmd.append(f"--nbval-sanitize-with={SANITIZE_FILE}")
    return cmd + list(extra or [])


def run_nbval(notebook: str | os.PathLike, *, lax: bool = False, backend: str | None = None,
              cell_timeout: int = 600, env: dict | None = None, cwd: str | os.PathLike | None = None,
              timeout: float | None = None, extra: list[str] | None = None
              ) -> subprocess.CompletedProcess:
    """Validate a notebook's stored outputs with nbval in a separate pytest process."""
    run_env = dict(os.environ if env is None else env)
    if backend:
        run_env["KERAS_BACKEND"] = backend
    return subprocess.run(nbval_command(notebook, lax=lax, cell_timeout=cell_timeout, extra=extra),
                          capture_output=True, text=True, env=run_env,
                          cwd=str(cwd or Path(notebook).resolve().parent), timeout=timeout)
