"""Grading throughput: how many submissions of a chapter `book-kit grade` gets through per
minute on this machine, and the CPU seconds each costs.

    python benchmarks/grading.py [--chapter chapters/ch03_1_tensors_and_gradients.ipynb]
                                 [--submissions 6] [--jobs 2] [--with-demonstrations]

The submissions are the chapter's own solutions, each made distinct by a comment cell (so the
result cache serves none of them), graded into a fresh folder. The chapter's reference answers
are computed first and not counted: a course pays for them once per chapter. Rewrites the
"grading" section of benchmarks/RESULTS.md (see report.py).
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

    from book_kit import grading

    folder = Path(tempfile.mkdtemp(prefix="book_kit-bench-grading-"))
    nb = nbformat.read(chapter, as_version=4)
    files = []
    for i in range(submissions):
        copy = nbformat.from_dict(nb)
        copy.cells.insert(0, nbformat.v4.new_markdown_cell(f"submission {i}"))
        files.append(folder / f"student{i:02d}.ipynb")
        nbformat.write(copy, files[-1])
    settings = grading.Settings(jobs=jobs, timeout=600)
    grading.reference_answers(nb, chapter.read_bytes(), settings)  # once per chapter: not timed
    cpu, start = _cpu_seconds(), time.perf_counter()
    rows = grading.grade(chapter, files, folder / "out", settings, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
    return {"wall": wall, "cpu": cpu, "n": submissions}


def _with_demonstrations(chapter: Path) -> Path:
    """A copy of the chapter whose skip-when-grading cells are graded too."""
    import nbformat

    from book_kit import grading

    nb = nbformat.read(chapter, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if grading.SKIP_WHEN_GRADING in tags:
            tags.remove(grading.SKIP_WHEN_GRADING)
    copy = Path(tempfile.mkdtemp(prefix="book_kit-bench-demos-")) / chapter.name
    nbformat.write(nb, copy)
    return copy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default=str(ROOT / "chapters" /
                                                 "ch03_1_tensors_and_gradients.ipynb"))
    parser.add_argument("--submissions", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(report.RESULTS))
    parser.add_argument("--with-demonstrations", action="store_true",
                        help="also grade a copy that keeps the cells tagged skip-when-grading")
    args = parser.parse_args(argv)
    chapter = Path(args.chapter)
    runs = [("demonstrations left out (as graded)", measure(chapter, args.submissions, args.jobs))]
    if args.with_demonstrations:
        runs.append(("demonstrations kept", measure(_with_demonstrations(chapter),
                                                    args.submissions, args.jobs)))
    lines = [
        "## Grading throughput",
        "",
        f"`python benchmarks/grading.py --chapter {chapter.name} --submissions "
        f"{args.submissions} --jobs {args.jobs}"
        f"{' --with-demonstrations' if args.with_demonstrations else ''}` on "
        f"{platform.machine()}, one run: the chapter's own solutions graded in the sandbox (every "
        "exercise passed), reference answers computed first and not counted; CPU seconds are the "
        "whole machine's busy time over the run, on an otherwise quiet machine. Grading leaves out "
        "the cells a chapter tags `skip-when-grading` (ch03_1's timing table).",
        "",
        "| chapter | cells | submissions | -j | wall | submissions per minute | "
        "CPU s per submission | 30 submissions take |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, m in runs:
        per_minute = 60 * m["n"] / m["wall"]
        lines.append(f"| {chapter.stem} | {label} | {m['n']} | {args.jobs} | {m['wall']:.0f} s | "
                     f"{per_minute:.1f} | {m['cpu'] / m['n']:.0f} | {30 / per_minute:.1f} min |")
    if len(runs) == 2:
        lines += ["", f"Leaving the demonstrations out made grading "
                      f"{runs[1][1]['wall'] / runs[0][1]['wall']:.1f}x faster in this run."]
    report.write(Path(args.out), grading="\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
