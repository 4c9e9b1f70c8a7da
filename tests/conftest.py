import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The offline MNIST mirror: CI sets BOOK_KIT_DATA_MIRROR; a checkout beside shared/ finds it too.
MIRROR = Path(os.environ.get("BOOK_KIT_DATA_MIRROR") or ROOT.parent / "shared" / "datasets")


def run_python(code: str, *, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (a fresh process is the only honest way to test imports,
    backend choice and seeding)."""
    full_env = dict(os.environ)
    full_env.pop("KERAS_BACKEND", None)
    full_env.update(env or {})
    full_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=ROOT)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a JupyterLab under test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def py():
    return run_python
