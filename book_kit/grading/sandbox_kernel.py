"""The first process of a graded kernel: become the sandbox's user, set limits, become IPython.

``book_kit.grading.run`` starts ``python -m book_kit.grading.sandbox_kernel ... -f
CONNECTION_FILE`` inside the bubblewrap sandbox (``book_kit.grading.sandbox``), and the same with
``--module book_kit.grading.outcomes JOB`` for the sandbox that evaluates trained models. It:

1. as root, drops to the submission's own user id (``--uid``): no capabilities, no way back
   (bubblewrap already set no-new-privileges);
2. sets limits that bind root and other users alike, since step 1 made it nobody special:
   processes and threads (RLIMIT_NPROC, counted per user, and per user namespace for a grader
   who is not root, so one submission's fork storm never starves another's), the size of any
   file it writes (RLIMIT_FSIZE), memory (RLIMIT_DATA: heap and private mappings; RLIMIT_AS would
   also count the address space XLA and TensorFlow reserve without using it), no core dumps;
3. asks to be killed when its parent (the cell runner) dies, so that even without the sandbox
   (``--no-sandbox``) no kernel outlives its grading;
4. replaces itself with the IPython kernel (or ``--module``), so interrupting or killing it works
   as for any kernel.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _drop_to(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)  # from root to another id: every capability is gone
    if os.getuid() == 0 or os.geteuid() == 0:
        sys.exit("book_kit.grading.sandbox_kernel: could not leave root")


def main(argv=None) -> None:
    """Drop to the submission's user, set the limits, become the IPython kernel (see above)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uid", type=int, help="become this user id (the grader is root)")
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--max-processes", type=int, default=512)
    parser.add_argument("--max-file-mb", type=int, default=256)
    parser.add_argument("--module", help="run this module (its arguments follow) instead of "
                                          "a kernel")
    parser.add_argument("-f", dest="connection_file")
    args, rest = parser.parse_known_args(argv)
    if args.module is None and not args.connection_file:
        parser.error("-f CONNECTION_FILE is needed to start a kernel")

    if args.module is not None and args.uid is not None:
        _drop_to(args.uid)
    connection_file = os.path.abspath(args.connection_file or ".")  # ipykernel wants it absolute
    if args.module is None and args.uid is not None:
        # the grader (root) wrote the connection file for itself: read it while still root,
        # then keep a copy the new user owns
        with open(connection_file, "rb") as f:
            connection = f.read()
        _drop_to(args.uid)
        connection_file += ".kernel"
        fd = os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(connection)
    # after the change of user (which clears it); survives exec; not inherited by the kernel's
    # own children (the runner reaps those)
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    _limit(resource.RLIMIT_NPROC, args.max_processes)
    _limit(resource.RLIMIT_FSIZE, args.max_file_mb * 2**20)
    _limit(resource.RLIMIT_CORE, 0)
    if args.memory_mb:
        _limit(resource.RLIMIT_DATA, args.memory_mb * 2**20)
    # ipykernel would watch for its parent to go (and see bwrap, pid 1 here, as "gone"); the
    # sandbox ends with the grader's runner anyway (bwrap --die-with-parent)
    os.environ.pop("JPY_PARENT_PID", None)
    if args.module is not None:
        os.execv(sys.executable, [sys.executable, "-m", args.module, *rest])
    from book_kit.notebook.quiet import kernel_arguments

    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file,
                              # the settings of every kernel book_kit starts (C-level output to
                              # the kernel's stderr), and no history file
                              *kernel_arguments(), "--HistoryManager.enabled=False"])


if __name__ == "__main__":
    main()
