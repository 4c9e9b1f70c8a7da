"""A chapter's execution time on a quiet machine and beside two busy processes, as a ratio.

    python benchmarks/load.py                # ch03_3 on torch with the kernel settings
                                             # book_kit uses
    python benchmarks/load.py --defaults     # also with the frameworks' own thread settings
    python benchmarks/load.py --chapter ch03_2_linear_classifier --backend jax

Two busy processes on two cores leave a CPU-bound notebook about half the machine, so about 2x
is to be expected; the goal is at most 2.5x. With the frameworks' defaults, PyTorch's OpenMP
threads spin while they wait for each other and the chapter slows down several-fold (RESULTS.md
has this machine's figures; ``--limit`` stops a run that takes too long and reports it as such).
Writes the "Under load" section of benchmarks/RESULTS.md (``--out`` for another file).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

BUSY = "while True: pass"


@contextlib.contextmanager
def busy_processes(count: int):
    """``count`` processes that each keep one core busy until the block ends."""
    processes = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(count)]
    try:
        time.sleep(1)  # let them get going
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


EXECUTE = ("import sys; from book_kit.notebook import runner; "
           "runner.execute(sys.argv[1], backend=sys.argv[2] or None, cwd=sys.argv[3], "
           "share_cores=sys.argv[4] == '1')")


def execution_seconds(chapter: Path, backend: str | None, share_cores: bool,
                      limit: float) -> float | None:
    """Execute a copy of the chapter in a fresh kernel; the wall time of the whole run, or None
    when it had not finished after ``limit`` seconds (then it is stopped)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / chapter.name
        shutil.copyfile(chapter, copy)
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", EXECUTE, str(copy), backend or "",
                                    str(chapter.parent), "1" if share_cores else "0"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the kernel too
            process.wait()
            return None
        if process.returncode != 0:
            raise RuntimeError(f"{chapter.name} failed to execute (exit {process.returncode})")
        return time.perf_counter() - start


def _seconds(value: float | None, limit: float) -> str:
    return f"{value:.0f}" if value is not None else f"> {limit:.0f} (stopped)"


def _ratio(quiet: float | None, loaded: float | None, limit: float) -> str:
    if quiet is None:
        return "-"
    return f"{loaded / quiet:.1f}x" if loaded is not None else f"> {limit / quiet:.1f}x"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="ch03_3_keras_and_mnist")
    parser.add_argument("--backend", default="torch",
                        help="Keras backend (chapters that declare one)")
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the notebook")
    parser.add_argument("--defaults", action="store_true",
                        help="also measure with the frameworks' own thread settings (slow)")
    parser.add_argument("--limit", type=float, default=900,
                        help="stop a run after this many seconds and report it as longer")
    parser.add_argument("--out", default=str(report.RESULTS))
    args = parser.parse_args(argv)
    chapter = ROOT / "chapters" / f"{args.chapter.removesuffix('.ipynb')}.ipynb"
    if not chapter.exists():
        parser.error(f"no chapter {chapter}")
    from book_kit.notebook import runner

    settings = {"book_kit's kernel settings": True}
    if args.defaults:
        settings["the frameworks' defaults"] = False
    rows = []
    for label, share in settings.items():
        quiet = execution_seconds(chapter, args.backend, share, args.limit)
        print(f"{label}: quiet {_seconds(quiet, args.limit)} s", flush=True)
        with busy_processes(args.busy):
            loaded = execution_seconds(chapter, args.backend, share, args.limit)
        rows.append((label, quiet, loaded))
        print(f"{label}: beside {args.busy} busy processes {_seconds(loaded, args.limit)} s "
              f"({_ratio(quiet, loaded, args.limit)})", flush=True)
    threads = runner.thread_settings(jobs=1)
    lines = ["## Under load: a chapter beside busy processes", "",
             f"Regenerated by `python benchmarks/load.py{' --defaults' if args.defaults else ''}` "
             f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `{chapter.name}` on the "
             f"{args.backend} backend, executed in a fresh kernel on a quiet machine, then beside "
             f"{args.busy} processes that each keep a core busy "
             f"({runner.available_cores()} cores). "
             f"book_kit's kernel settings: {', '.join(f'`{k}={v}`' for k, v in threads.items())} "
             "(one kernel; with N kernels side by side each gets cores/N threads). "
             "Goal: at most 2.5x.", "",
             "| kernel settings | quiet (s) | loaded (s) | ratio |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {_seconds(quiet, args.limit)} | {_seconds(loaded, args.limit)} | "
              f"{_ratio(quiet, loaded, args.limit)} |" for label, quiet, loaded in rows]
    if len(rows) == 2 and rows[0][2] and rows[1][1]:
        lines += ["", f"Loaded with book_kit's settings against quiet with the defaults: "
                      f"{rows[0][2] / rows[1][1]:.1f}x; quiet, book_kit's settings cost "
                      f"{rows[0][1] / rows[1][1]:.2f}x the defaults' time."]
    report.write(Path(args.out), load="\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
