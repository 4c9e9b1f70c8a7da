"""The ``book-kit`` command line: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import sys


def _info(args) -> int:
    from book_kit.sysinfo import info

    report = info(devices=not args.no_devices)
    print(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="book-kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("info", help="versions, Keras backend, devices, warnings")
    p.add_argument("--no-devices", action="store_true", help="skip asking each framework for devices")
    p.set_defaults(func=_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
