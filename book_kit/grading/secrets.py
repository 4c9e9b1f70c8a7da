"""The class's secret, and the hidden inputs it draws for every exercise at grading time.

A chapter is public, hidden tests included, so a fixed hidden input can be looked up and its
answer written into a table. Every exercise therefore also checks inputs *drawn* by
``Exercise.draw`` from a seed that, when grading, comes from the class's secret: HMAC-SHA256 of
the secret and the exercise's nbgrader ``grade_id``. The line that sets it is put at the top of
each check cell of the graded notebook, so the kernel learns it only while that cell runs; the
chapter's own solutions run on the same inputs and give the reference answers.

The secret is ``secret = "..."`` in ``grading.toml``, else a fresh random one per output folder,
kept in it (``.book_kit-secret``, readable by its owner only) so that a re-grade draws the same
inputs. Outside grading (a chapter, a workbook) the seed is fixed, so stored outputs never change.

Example
-------
>>> seed_for("course secret", "ex1") == seed_for("course secret", "ex1")
True
>>> seed_for("course secret", "ex1") != seed_for("another", "ex1")
True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random
from pathlib import Path

SECRET_FILE = ".book_kit-secret"


def class_secret(configured: str | None, out_dir: Path) -> str:
    """The secret this grading draws its inputs from.

    Parameters
    ----------
    configured : str or None
        ``secret`` from ``grading.toml`` (the same for every run and shard of the course).
    out_dir : Path
        The output folder: without a configured secret, the one kept there, else a new one
        written there (mode 0600).

    Returns
    -------
    str
    """
    if configured:
        return configured
    path = Path(out_dir) / SECRET_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    secret = _random.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    return secret


def seed_for(secret: str, exercise: str) -> int:
    """The seed an exercise draws its hidden inputs from (a 63-bit integer)."""
    digest = hmac.new(secret.encode(), exercise.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def draw_line(seed: int) -> str:
    """The first line of a graded check cell: the seed its ``Exercise.draw`` uses."""
    return f"__import__('book_kit.exercises').exercises.seed_draws({int(seed)})"
