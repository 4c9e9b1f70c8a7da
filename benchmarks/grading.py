"""Grading throughput: how many submissions of a chapter `book-kit grade` gets through per
minute on this machine, and the CPU seconds each costs.

    python benchmarks/grading.py [--chapter CHAPTER[:N] ...] [--submissions 6] [--jobs 2]
                                 [--with-demonstrations]

e.g. ``--chapter chapters/ch03_1_tensors_and_gradients.ipynb:30
chapters/ch03_3_keras_and_mnist.ipynb:2`` (N: that chapter's submissions).

The submissions are the chapter's own solutions, each made distinct by a comment cell (so the
result cache serves none of them), graded into a fresh folder. The chapter's reference answers
(on the inputs a fixed secret draws) are computed first and not counted: a course pays for them
once per chapter and secret. Every submission's trained models are evaluated by the grader in a
second sandbox, as when grading for real. Rewrites the "grading" section of
benchmarks/RESULTS.md (see report.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (/proc/stat). The sandboxed kernels are not
    this process's waited-for children, so its own rusage misses them: run this on an
    otherwise quiet machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(chapter: Path, submissions: int, jobs: int) -> dict:
    import nbformat

    from book_kit.grading import course
    from book_kit.grading.config import Settings

    folder = Path(tempfile.mkdtemp(prefix="book_kit-bench-grading-"))
    nb = nbformat.read(chapter, as_version=4)
    files = []
    for i in range(submissions):
        copy = nbformat.from_dict(nb)
        copy.cells.insert(0, nbformat.v4.new_markdown_cell(f"submission {i}"))
        files.append(folder / f"student{i:02d}.ipynb")
        nbformat.write(copy, files[-1])
    settings = Settings(jobs=jobs, timeout=600, secret="the benchmark's own fixed secret")
    loaded = course.load_chapter(chapter, settings, folder)
    data = course.sandbox_data(loaded, folder / "data")
    course.reference_answers(loaded, settings, data)  # once per chapter and secret: not timed
    cpu, start = _cpu_seconds(), time.perf_counter()
    rows = course.grade(chapter, files, folder / "out", settings, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
    return {"wall": wall, "cpu": cpu, "n": submissions}


def _with_demonstrations(chapter: Path) -> Path:
    """A copy of the chapter whose skip-when-grading cells are graded too."""
    import nbformat

    from book_kit.notebook.convention import SKIP_WHEN_GRADING

    nb = nbformat.read(chapter, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SKIP_WHEN_GRADING in tags:
            tags.remove(SKIP_WHEN_GRADING)
    copy = Path(tempfile.mkdtemp(prefix="book_kit-bench-demos-")) / chapter.name
    nbformat.write(nb, copy)
    return copy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", nargs="+", metavar="CHAPTER[:N]",
                        default=[str(ROOT / "chapters" / "ch03_1_tensors_and_gradients.ipynb")])
    parser.add_argument("--submissions", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(report.RESULTS))
    parser.add_argument("--with-demonstrations", action="store_true",
                        help="also grade a copy that keeps the cells tagged skip-when-grading")
    args = parser.parse_args(argv)
    runs = []
    for item in args.chapter:
        path, _, count = item.partition(":")
        chapter, n = Path(path), int(count or args.submissions)
        runs.append((chapter, "demonstrations left out (as graded)",
                     measure(chapter, n, args.jobs)))
        if args.with_demonstrations:
            runs.append((chapter, "demonstrations kept",
                         measure(_with_demonstrations(chapter), n, args.jobs)))
    named = " ".join(f"{Path(i.partition(':')[0]).name}"
                     f"{':' + i.partition(':')[2] if ':' in i else ''}"
                     for i in args.chapter)
    lines = [
        "## Grading throughput",
        "",
        f"`python benchmarks/grading.py --chapter {named} --submissions {args.submissions} "
        f"--jobs {args.jobs}{' --with-demonstrations' if args.with_demonstrations else ''}` on "
        f"{platform.machine()}, one run: the chapter's own solutions graded in the sandbox (every "
        "exercise passed: inputs drawn from the class's secret, trained models evaluated by the "
        "grader in a second sandbox), reference answers computed first and not counted; CPU "
        "seconds are the whole machine's busy time over the run, on an otherwise quiet machine. "
        "Grading leaves out the cells a chapter tags `skip-when-grading` (ch03_1's timing table).",
        "",
        "| chapter | cells | submissions | -j | wall | submissions per minute | "
        "CPU s per submission | 30 submissions take |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for chapter, label, m in runs:
        per_minute = 60 * m["n"] / m["wall"]
        lines.append(f"| {chapter.stem} | {label} | {m['n']} | {args.jobs} | {m['wall']:.0f} s | "
                     f"{per_minute:.1f} | {m['cpu'] / m['n']:.0f} | {30 / per_minute:.1f} min |")
    if args.with_demonstrations:
        lines += ["", f"Leaving the demonstrations out made grading "
                      f"{runs[1][2]['wall'] / runs[0][2]['wall']:.1f}x faster in this run."]
    report.write(Path(args.out), grading="\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
