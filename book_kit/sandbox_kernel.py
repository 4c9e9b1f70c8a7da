"""The kernel a graded submission runs in: limits, a read-only view of the machine, then IPython.

``book_kit.grading`` writes a kernelspec that starts this module. As root, under
``unshare --mount --pid --fork --mount-proc`` (its own mount and process namespaces), it:

1. makes every mount read-only in its namespace except the submission's working folder, so the
   code can write there and nowhere else (not the submissions, not the gradebook, not book_kit);
2. sets limits: address space (memory), file size, number of processes;
3. drops every capability (``setpriv``), so the code cannot undo step 1 or see other processes
   (they are outside its process namespace), and becomes the kernel (exec), so interrupting or
   killing it works as for any kernel.

Without root (or without ``unshare``), only the limits apply: see ``grading.sandbox_available``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys


def _mount_points() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = {line.split()[4] for line in f}
    # unescape octal sequences (spaces in paths) the kernel uses in mountinfo
    return sorted(p.encode().decode("unicode_escape") for p in points)


def _read_only_except(workdir: str) -> None:
    subprocess.run(["mount", "--bind", workdir, workdir], check=True)
    for point in _mount_points():
        if point != workdir:
            subprocess.run(["mount", "-o", "remount,bind,ro", point], capture_output=True)
    subprocess.run(["mount", "-o", "remount,bind,rw", workdir], check=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--max-processes", type=int, default=512)
    parser.add_argument("--max-file-mb", type=int, default=1024)
    parser.add_argument("--isolate", action="store_true", help="read-only machine, no capabilities")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)

    workdir = os.path.realpath(args.workdir)
    own_copy = os.path.join(workdir, ".kernel-connection.json")
    shutil.copyfile(args.connection_file, own_copy)  # the original's folder becomes read-only
    if args.isolate:
        _read_only_except(workdir)
    if args.memory_mb:
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    file_limit = args.max_file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
    resource.setrlimit(resource.RLIMIT_NPROC, (args.max_processes, args.max_processes))
    os.chdir(workdir)
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", own_copy]
    if args.isolate:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        os.execv(setpriv, [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs",
                           "--", *kernel])
    os.execv(sys.executable, kernel)


if __name__ == "__main__":
    main()
