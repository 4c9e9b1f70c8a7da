"""A Python an ordinary (non-root) user can run that imports book_kit and this environment's
packages, wherever the checkout is (tests that grade as an ordinary user, tests/test_grading.py).

A checkout, and the venv inside it, may sit under a folder others cannot enter: a clone made in
`mktemp -d` (mode 0700) as root, as CI's fresh clone can be. A link to it leads the user back
through that folder, so nothing here links to the checkout. Instead, in a folder of its own under
/tmp (root's, open to read; removed afterwards):

- the interpreter: this one when the user can run it, else Debian's /usr/bin/python3 when it is the
  same Python (major.minor: this environment's compiled extensions load in it). A pyenv or
  /root-installed Python is out of an ordinary user's reach;
- book_kit: a copy of the package (a few hundred KB), first on PYTHONPATH. Installed in development
  mode, book_kit is found through a .pth file that PYTHONPATH does not read, and it leads into the
  checkout anyway;
- the environment's site-packages and share/jupyter (nbconvert's templates): used where they are
  when the user can read them there; else hard-linked into the folder (`cp -al`: a second name for
  every file, on the same filesystem, no data copied: 70,000 files in about 3 s), else copied.

The hard links share their files with the environment: never chmod or chown anything in the folder
(that would change the environment's own files). Everything in it stays root's and read-only to
the user, and the folder is not inside one the user owns.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

DEBIAN_PYTHON = "/usr/bin/python3"
PACKAGE = Path(__file__).resolve().parents[1] / "book_kit"


@dataclasses.dataclass
class UserPython:
    python: str  # the interpreter to run as the user
    env: dict[str, str]  # PYTHONPATH and JUPYTER_PATH, to add to the environment
    how: str  # what was done, for the test's output


def can_reach(path: str | os.PathLike, uid: int, gid: int) -> bool:
    """Whether the user can read `path` (and enter it, for a folder), asked as that user."""
    test = ["test", "-r", str(path), "-a", "-x", str(path)] if os.path.isdir(path) else \
        ["test", "-r", str(path)]
    prefix = [] if os.geteuid() == uid else \
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    return subprocess.run([*prefix, *test], capture_output=True, timeout=60).returncode == 0


def _same_python(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60).stdout.split()
    except OSError:
        return False
    return out == [str(n) for n in sys.version_info[:2]]


def _interpreter(uid: int, gid: int) -> str:
    if can_reach(os.path.realpath(sys.executable), uid, gid) and \
            can_reach(sys.executable, uid, gid) and can_reach(sys.prefix, uid, gid):
        return sys.executable
    if os.path.exists(DEBIAN_PYTHON) and _same_python(DEBIAN_PYTHON) and \
            can_reach(os.path.realpath(DEBIAN_PYTHON), uid, gid):
        return DEBIAN_PYTHON
    raise RuntimeError(f"no Python {sys.version_info[0]}.{sys.version_info[1]} the user {uid} "
                       f"can run: {sys.executable} is out of reach and {DEBIAN_PYTHON} is "
                       "missing or another version")


def link_tree(source: Path, target: Path) -> str:
    """`target` made a tree of hard links to `source`'s files (`cp -al`: no data copied), or a
    copy where links cannot be made (another filesystem); says which."""
    linked = subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True,
                            text=True, timeout=600)
    if linked.returncode == 0:
        return "hard-linked"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    why = linked.stderr.strip().splitlines()[-1] if linked.stderr.strip() else "cp -al failed"
    return f"copied ({why})"


@contextmanager
def python_for(uid: int, gid: int | None = None):
    """Yields a UserPython for the user `uid`: run ``[python, "-m", "book_kit.cli", ...]`` as that
    user with ``env`` added to the environment. The folder it made is removed afterwards."""
    gid = uid if gid is None else gid
    folder = Path(tempfile.mkdtemp(prefix="book_kit-python-for-user-", dir="/tmp"))
    try:
        folder.chmod(0o755)  # root's, open to read: not the user's, never chowned
        python = _interpreter(uid, gid)
        how = [f"interpreter {python}"]
        pylib = folder / "pylib"
        pylib.mkdir(mode=0o755)
        shutil.copytree(PACKAGE, pylib / "book_kit",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        how.append("book_kit copied")
        paths = [str(pylib)]
        jupyter = Path(sys.prefix) / "share" / "jupyter"
        for name, source in (("site-packages", Path(sysconfig.get_paths()["purelib"])),
                             ("jupyter", jupyter)):
            if not source.exists():
                continue
            if python == sys.executable or can_reach(source, uid, gid):
                where, note = source, "used in place"
            else:
                start = time.perf_counter()
                where = folder / name
                done = link_tree(source, where)
                note = f"{done} in {time.perf_counter() - start:.1f} s"
            how.append(f"{name} {note}")
            if name == "site-packages":
                paths.append(str(where))
            else:
                jupyter = where
        for path in (pylib, *paths[1:]):
            assert can_reach(path, uid, gid), f"user {uid} still cannot read {path}"
        env = {"PYTHONPATH": os.pathsep.join(paths), "JUPYTER_PATH": str(jupyter)}
        yield UserPython(python, env, "; ".join(how))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
