"""The ``book-kit`` command line: a module per subcommand, the work itself in the packages.

Each command module has ``PARSER`` (its help), ``add_arguments(parser)`` and ``run(args)``, as
pip's ``_internal/commands/`` does; this module only puts them together. ``book-kit grade
merge`` is a command of its own (``grade_merge``), spelled as two words.
"""

from __future__ import annotations

import argparse
import importlib
import sys

DESCRIPTION = ("book_kit's command line: the companion notebooks to chapter 3 of Deep Learning "
               "with R / with Python (3rd edition). Run `book-kit COMMAND --help` for one "
               "command's options.")

# command -> its module in book_kit.cli, in the order `book-kit --help` lists them
COMMANDS = {"info": "info", "data": "data", "workspace": "workspace", "student": "student",
            "grade": "grade", "grade merge": "grade_merge", "site": "site", "bench": "bench"}


def build_parser() -> argparse.ArgumentParser:
    """The ``book-kit`` command line: every subcommand and option.

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> build_parser().parse_args(["student", "--check"]).check
    True
    """
    from book_kit import __version__

    parser = argparse.ArgumentParser(prog="book-kit", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"book-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command, module_name in COMMANDS.items():
        module = importlib.import_module(f"book_kit.cli.{module_name}")
        command_parser = sub.add_parser(command, prog=f"book-kit {command}", **module.PARSER)
        module.add_arguments(command_parser)
        command_parser.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``book-kit`` with ``argv`` (default: the command line); returns the exit status.

    Example
    -------
    >>> main(["info"])   # prints this machine's versions and devices   # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["grade", "merge"]:  # two words, one command
        argv[:2] = ["grade merge"]
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:  # bad input: a message, not a traceback
        print(f"book-kit {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
