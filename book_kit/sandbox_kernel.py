"""The first process of a graded kernel: become the sandbox's user, set limits, become IPython.

``book_kit.grading`` starts ``python -m book_kit.sandbox_kernel ... -f CONNECTION_FILE`` inside
the bubblewrap sandbox (``book_kit.sandbox``). It:

1. as root, drops to the submission's own user id (``--uid``): no capabilities, no way back
   (bubblewrap already set no-new-privileges);
2. sets limits that bind root and other users alike, since step 1 made it nobody special:
   processes and threads (RLIMIT_NPROC, counted per user, and per user namespace for a grader
   who is not root, so one submission's fork storm never starves another's), the size of any
   file it writes (RLIMIT_FSIZE), memory (RLIMIT_DATA: heap and private mappings; RLIMIT_AS would
   also count the address space XLA and TensorFlow reserve without using it), no core dumps;
3. replaces itself with the IPython kernel, so interrupting or killing it works as for any kernel.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def main(argv=None) -> None:
    """Drop to the submission's user, set the limits, become the IPython kernel (see above)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uid", type=int, help="become this user id (the grader is root)")
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--max-processes", type=int, default=512)
    parser.add_argument("--max-file-mb", type=int, default=256)
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)

    connection_file = os.path.abspath(args.connection_file)  # ipykernel wants it absolute
    if args.uid is not None:
        # the grader (root) wrote the connection file for itself: read it while still root,
        # then keep a copy the new user owns
        with open(connection_file, "rb") as f:
            connection = f.read()
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)  # from root to another id: every capability is gone
        if os.getuid() == 0 or os.geteuid() == 0:
            sys.exit("book_kit.sandbox_kernel: could not leave root")
        connection_file += ".kernel"
        fd = os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(connection)
    _limit(resource.RLIMIT_NPROC, args.max_processes)
    _limit(resource.RLIMIT_FSIZE, args.max_file_mb * 2**20)
    _limit(resource.RLIMIT_CORE, 0)
    if args.memory_mb:
        _limit(resource.RLIMIT_DATA, args.memory_mb * 2**20)
    # ipykernel would watch for its parent to go (and see bwrap, pid 1 here, as "gone"); the
    # sandbox ends with the grader's runner anyway (bwrap --die-with-parent)
    os.environ.pop("JPY_PARENT_PID", None)
    from book_kit.nbrun import kernel_arguments

    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file,
                              # the settings of every kernel book_kit starts (C-level output to
                              # the kernel's stderr), and no history file
                              *kernel_arguments(), "--HistoryManager.enabled=False"])


if __name__ == "__main__":
    main()
