"""``book-kit info``: versions, the Keras backend Keras will use, devices, warnings."""

from __future__ import annotations

PARSER = dict(help="versions, Keras backend, devices, warnings")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("--no-devices", action="store_true",
                        help="skip asking each framework for devices")
    parser.add_argument("--ask-frameworks", action="store_true",
                        help="import each framework to list its devices, even a CPU-only build")


def run(args) -> int:
    """``book-kit info`` with the parsed ``args``; returns the exit status (2: bad input)."""
    from book_kit.sysinfo import info

    report = info(devices=not args.no_devices, ask_frameworks=args.ask_frameworks)
    print(report)
    return 0
