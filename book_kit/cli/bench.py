"""``book-kit bench``: measure the chapter's performance claims (``benchmarks/run.py``)."""

from __future__ import annotations

import sys

PARSER = dict(help="measure the chapter's performance claims (benchmarks/RESULTS.md)")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, no notebooks: a smoke run")
    parser.add_argument("--out", default=None, help="folder for RESULTS.md (default benchmarks/)")


def run(args) -> int:
    """``book-kit bench`` with the parsed ``args``; returns the exit status (2: bad input)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
    if not script.is_file():
        raise FileNotFoundError("book-kit bench runs benchmarks/run.py from a checkout of the "
                                "book_kit repository; none was found beside this installation.")
    extra = ["--quick"] if args.quick else []
    return subprocess.call([sys.executable, str(script), *extra,
                            *(["--out", args.out] if args.out else [])])
