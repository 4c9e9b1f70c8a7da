"""``book-kit data list|fetch|verify [NAME ...]``: the data sets, where they are, their checks."""

from __future__ import annotations

import sys

PARSER = dict(help="list, fetch or verify the data sets",
              description="list: where each data set is and whether it is there; fetch: "
                          "download (or copy from BOOK_KIT_DATA_MIRROR) and verify; "
                          "verify: check the files already there. "
                          "Example: book-kit data fetch mnist")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("action", nargs="?", choices=["list", "fetch", "verify"], default=None,
                        help="list, fetch or verify")
    parser.add_argument("names", nargs="*", metavar="NAME", help="data sets (default: all)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds without data before giving up")


def run(args) -> int:
    """``book-kit data`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from book_kit import datasets

    if args.action is None:
        print("usage: book-kit data {list,fetch,verify} [NAME ...]\n"
              "  book-kit data list          where each data set is, and whether it is there\n"
              "  book-kit data fetch mnist   download (or copy from BOOK_KIT_DATA_MIRROR), "
              "then verify\n"
              "  book-kit data verify        check the files already there\n"
              f"data sets: {', '.join(sorted(datasets.REGISTRY))}", file=sys.stderr)
        return 2

    names = args.names or sorted(datasets.REGISTRY)
    if args.action == "list":
        print(f"data directory: {datasets.data_dir()}")
        rows = [datasets.status(n) for n in names]
        width = max(len(r.name) for r in rows)
        for r in rows:
            size = f"{r.size / 1e6:.1f} MB" if r.size else "-"
            print(f"{r.name:<{width}}  {r.state:<10}  {size:>8}  {r.path or ''}")
        return 0
    if args.action == "fetch":
        failed = 0
        for name in names:
            try:
                path = datasets.fetch(name, timeout=args.timeout)
            except datasets.DataError as e:
                print(e, file=sys.stderr)
                failed += 1
            else:
                print(f"{name}: verified, {path}")
        return 1 if failed else 0
    # verify: report only; loading is what moves a bad file aside
    bad = 0
    for name in names:
        r = datasets.status(name)
        if r.path is None:
            continue
        print(f"{name}: {r.state} ({r.path})")
        bad += not r.ok
    return 1 if bad else 0
