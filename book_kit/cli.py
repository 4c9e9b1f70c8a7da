"""The ``book-kit`` command line: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import sys


def _info(args) -> int:
    from book_kit.sysinfo import info

    report = info(devices=not args.no_devices)
    print(report)
    return 0


def _data(args) -> int:
    from book_kit import datasets

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="book-kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("info", help="versions, Keras backend, devices, warnings")
    p.add_argument("--no-devices", action="store_true", help="skip asking each framework for devices")
    p.set_defaults(func=_info)

    p = sub.add_parser("data", help="list, fetch or verify the data sets")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*", metavar="NAME", help="data sets (default: all)")
    p.add_argument("--timeout", type=float, default=60, help="seconds without data before giving up")
    p.set_defaults(func=_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:  # bad input: a message, not a traceback
        print(f"book-kit {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
