"""``book-kit grade merge DIR ... --out DIR``: one class from the folders of sharded grade runs."""

from __future__ import annotations

import sys
from pathlib import Path

PARSER = dict(help="combine the output folders of `book-kit grade --shard K/N` runs",
              description="combine the output folders of `book-kit grade --shard K/N` runs")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("folders", nargs="+", metavar="DIR")
    parser.add_argument("--out", required=True, help="folder for the class's files")


def run(args) -> int:
    """``book-kit grade merge`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from book_kit.grading import gradebook

    try:
        rows = gradebook.merge([Path(f) for f in args.folders], Path(args.out))
    except ValueError as e:
        print(f"book-kit grade merge: {e}", file=sys.stderr)
        return 2
    print(gradebook.summary_table(rows))
    return 0
