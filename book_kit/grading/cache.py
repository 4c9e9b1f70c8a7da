"""What grading keeps so it never does the same work twice: the chapter's own answers (per
user, across classes) and each submission's verdicts (per output folder).

Both are keyed by one rule, :func:`context_key`: what decides the chapter's answers (its bytes,
the inputs the class's secret draws, the course's private tests), every source file of the
installed book_kit package (found through ``importlib``, so a module that moves or is added is
part of the key, not silently left out), the limits the notebooks ran under and the installed
framework versions. A change to any of them makes everything run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
from pathlib import Path

from book_kit.frameworks import REGISTRY
from book_kit.grading.config import Settings
from book_kit.sysinfo import installed_version

_DISTRIBUTIONS = ("numpy", "keras", "jaxlib",
                  *(d for f in REGISTRY.values() for d in f.distributions))


def package_sources() -> list[Path]:
    """Every ``.py`` file of the book_kit package that is imported, sorted."""
    spec = importlib.util.find_spec("book_kit")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])]
    return sorted(p for root in roots for p in root.rglob("*.py"))


def context_key(context: bytes, settings: Settings) -> str:
    """The hash that decides whether stored grading results still hold.

    Parameters
    ----------
    context : bytes
        What decides the chapter's answers (``course.Chapter.context()``).
    settings : Settings
        The grading settings; their limits are part of the key.

    Returns
    -------
    str
        A SHA-256 hex digest.

    Example
    -------
    >>> key = context_key(b"chapter", Settings())
    >>> len(key), key == context_key(b"chapter", Settings())
    (64, True)
    >>> key != context_key(b"another chapter", Settings())
    True
    """
    digest = hashlib.sha256(context)
    for path in package_sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    versions = {d: installed_version(d) for d in _DISTRIBUTIONS}
    digest.update(json.dumps([settings.limits(), versions], sort_keys=True).encode())
    return digest.hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the whole new one (graders
    running side by side share the user cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{id(text)}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("book_kit")) / "reference-answers"


def stored_reference(key: str) -> dict | None:
    """The chapter's answers stored under ``key`` (see :func:`context_key`), or None."""
    try:
        return json.loads((_user_cache() / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None


def store_reference(key: str, answers: dict) -> None:
    """Keep the chapter's answers under ``key`` for the next class."""
    _write_atomically(_user_cache() / f"{key}.json", json.dumps(answers))


class ResultCache:
    """Each submission's verdicts, by its content: a re-grade after a few late submissions or
    changed submissions runs just those.

    Parameters
    ----------
    folder : Path
        Where results are kept (``OUT/.cache``).
    context : bytes
        What decides the chapter's answers (``course.Chapter.context()``).
    settings : Settings
        The grading settings (their limits and what feedback reveals are part of the key).

    Example
    -------
    >>> from book_kit.grading.judge import Verdict
    >>> submission = Path("12345.ipynb")
    >>> _ = submission.write_text("{}")
    >>> cache = ResultCache(Path("grades/.cache"), b"chapter", Settings())
    >>> cache.get(submission) is None   # not graded yet
    True
    >>> cache.put(submission, [Verdict("ex1", True, 1.0, "")])
    >>> cache.get(submission)
    [Verdict(exercise='ex1', passed=True, fraction=1.0, message='')]
    """

    def __init__(self, folder: Path, context: bytes, settings: Settings):
        self.folder = folder
        self.context = context_key(context + settings.reveal_hidden.encode(), settings)

    def _path(self, submission: Path) -> Path:
        digest = hashlib.sha256(self.context.encode())
        with open(submission, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                digest.update(block)
        return self.folder / f"{digest.hexdigest()}.json"

    def get(self, submission: Path):
        """The verdicts stored for this submission's content, or None (never graded, or
        unreadable)."""
        from book_kit.grading.judge import Verdict

        try:
            return [Verdict(**v) for v in json.loads(self._path(submission).read_text())]
        except (OSError, ValueError, TypeError):
            return None

    def put(self, submission: Path, verdicts: list) -> None:
        """Store a submission's verdicts under its content's key."""
        try:
            _write_atomically(self._path(submission),
                              json.dumps([dataclasses.asdict(v) for v in verdicts]))
        except OSError:  # an unreadable submission has no content to key by
            pass
