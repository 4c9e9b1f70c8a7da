"""benchmarks/RESULTS.md is written by several commands, each owning one section of it.

`run.py` writes the main part; `load.py` and `suite.py` each write one section between two HTML
comments (`<!-- begin NAME -->` ... `<!-- end NAME -->`). Each command replaces only its own
section, so a figure stays until the command that measures it runs again.
"""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTIONS = ("load", "suite", "grading")  # in the order they appear, after run.py's part


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"<!-- begin {name} -->\n.*?<!-- end {name} -->\n", re.S)


def sections(text: str) -> dict[str, str]:
    """The owned sections found in ``text``, by name, markers included."""
    found = {}
    for name in SECTIONS:
        match = _pattern(name).search(text)
        if match:
            found[name] = match.group(0)
    return found


def main_part(text: str) -> str:
    """``text`` without its owned sections (what run.py writes)."""
    for name in SECTIONS:
        text = _pattern(name).sub("", text)
    return text.rstrip("\n") + "\n"


def write(path: Path, main: str | None = None, **new_sections: str) -> None:
    """Rewrite ``path`` with ``main`` (or its current main part) and the sections, old or new.

    Example
    -------
    >>> write(RESULTS, load="## Under load\\n\\n| ... |")  # doctest: +SKIP
    """
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    keep = sections(old)
    for name, body in new_sections.items():
        keep[name] = f"<!-- begin {name} -->\n{body.rstrip()}\n<!-- end {name} -->\n"
    text = main if main is not None else main_part(old)
    for name in SECTIONS:
        if name in keep:
            text = text.rstrip("\n") + "\n\n" + keep[name]
    path.write_text(text, encoding="utf-8")
