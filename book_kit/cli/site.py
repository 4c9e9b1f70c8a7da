"""``book-kit site [--out DIR]``: the companion website from the executed chapters."""

from __future__ import annotations

import sys
from pathlib import Path

PARSER = dict(help="build the companion website from the chapters' stored outputs",
              description="Build the companion website (Jupyter Book's engine: Sphinx and "
                          "MyST-NB) from chapters/, running nothing: build/site/index.html")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("--out", type=Path, default=None, help="HTML folder (build/site)")


def run(args) -> int:
    """``book-kit site`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from book_kit.publishing import site

    try:
        out = site.build(args.out or site.DEFAULT_OUT)
    except (RuntimeError, ImportError) as e:
        print(f"book-kit site: {e}", file=sys.stderr)
        return 1
    print(f"The site is in {out}: open {out / 'index.html'}")
    return 0
