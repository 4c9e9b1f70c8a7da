"""``book-kit student [CHAPTER ...]``: student workbooks from the chapter notebooks."""

from __future__ import annotations

PARSER = dict(help="make student workbooks from chapter notebooks")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: chapters/*.ipynb")
    parser.add_argument("--out", default="notebooks", help="folder for the workbooks (notebooks/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a workbook is out of date")


def run(args) -> int:
    """``book-kit student`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from pathlib import Path

    from book_kit.publishing import workbook

    chapters = [Path(c) for c in args.chapters] or sorted(Path("chapters").glob("*.ipynb"))
    if not chapters:
        raise ValueError("no chapter notebooks given, and none in ./chapters")
    missing = [str(c) for c in chapters if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"no such chapter notebook: {', '.join(missing)}")
    if args.check:
        stale = [str(Path(args.out) / c.name) for c in chapters
                 if not (Path(args.out) / c.name).is_file()
                 or ((Path(args.out) / c.name).read_text(encoding="utf-8")
                     != workbook.workbook_text(c))]
        for path in stale:
            print(f"out of date: {path} (run: book-kit student --out {args.out})")
        if not stale:
            print(f"up to date: the {len(chapters)} workbooks in {args.out}/ match their chapters")
        return 1 if stale else 0
    for path, changed in workbook.write_workbooks(chapters, Path(args.out)):
        print(f"{'wrote' if changed else 'up to date'}: {path}")
    return 0
