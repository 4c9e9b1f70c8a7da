"""``book-kit workspace``: a reader's own copies of the chapters and workbooks."""

from __future__ import annotations

PARSER = dict(help="your own copies of the chapters and workbooks, which make lab opens")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("--dir", default="my-work", help="the folder of working copies (my-work)")
    parser.add_argument("--fresh", nargs="+", metavar="NAME", default=None,
                        help="replace these copies with fresh ones: ch03_1 is the chapter, "
                             "workbooks/ch03_1 its workbook; yours are kept in a kept/ folder "
                             "beside them, the date first in the name (chapters/kept/2026-12-01 "
                             "153012 ch03_1_....ipynb)")


def run(args) -> int:
    """``book-kit workspace`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from book_kit.publishing import workspace

    if args.fresh:
        for name in args.fresh:
            copy, kept, note = workspace.fresh(name, work=args.dir)
            print(f"fresh copy: {copy}" + (f" (yours is kept as {kept})" if kept else ""))
            if note:
                print(note)
        return 0
    made = workspace.prepare(work=args.dir)
    for copy in made:
        print(f"copied: {copy}")
    if not made:
        print(f"{args.dir}: every working copy is there (a fresh one: "
              f"book-kit workspace --fresh ch03_1)")
    return 0
