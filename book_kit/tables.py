"""Plain-text tables: what the checks, the side-by-side comparisons and the grader print.

Plain text (not HTML) so that nbval compares a chapter's tables exactly.
"""

from __future__ import annotations

__all__ = ["NOT_YET", "RIGHT", "WRONG", "format_table", "print_table"]

# The marks every verdict line and table uses: right, wrong, not attempted yet (calm: no red).
RIGHT, WRONG, NOT_YET = "✔", "✘", "○"


def format_table(header: list, rows: list) -> str:
    """A table as text: columns padded to their widest cell, a rule under the header.

    Parameters
    ----------
    header : list
        The column titles.
    rows : list of sequences
        One sequence of cells a row (any values; written with ``str``).

    Returns
    -------
    str
        The lines of the table, without a final newline.

    Example
    -------
    >>> print(format_table(["exercise", "status"], [("Exercise 1", "✔ right")]))
    exercise    status
    ----------  -------
    Exercise 1  ✔ right
    """
    table = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def print_table(header: list, rows: list) -> None:
    """Print :func:`format_table` (the same parameters).

    Example
    -------
    >>> print_table(["framework", "f(x)"], [("JAX", "9.818595")])
    framework  f(x)
    ---------  --------
    JAX        9.818595
    """
    print(format_table(header, rows))
