"""What grading keeps so it never does the same work twice: the chapter's own answers (per
user, across classes) and each submission's judged results (per output folder).

Both are keyed by one rule, :func:`context_key`: the chapter's bytes, the book_kit code that
decides a verdict, the limits the notebooks ran under and the installed framework versions. A
change to any of them makes everything run again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from book_kit.frameworks import REGISTRY
from book_kit.grading_config import Settings
from book_kit.sysinfo import installed_version

PACKAGE_DIR = Path(__file__).resolve().parent
# the code that decides an answer's verdict (for the chapter's answers), and what runs a
# submission (for its results)
JUDGING_CODE = ("answers.py", "exercises.py", "verdicts.py", "arrays.py")
GRADING_CODE = JUDGING_CODE + ("grading.py", "grading_cache.py", "cell_runner.py", "sandbox.py",
                               "sandbox_kernel.py")
_DISTRIBUTIONS = ("numpy", "keras", "jaxlib",
                  *(d for f in REGISTRY.values() for d in f.distributions))


def context_key(chapter_bytes: bytes, code: tuple[str, ...], settings: Settings) -> str:
    """The hash that decides whether stored grading results still hold.

    Parameters
    ----------
    chapter_bytes : bytes
        The chapter notebook's file.
    code : tuple of str
        book_kit's files whose code the results depend on (:data:`JUDGING_CODE` or
        :data:`GRADING_CODE`).
    settings : Settings
        The grading settings; their limits are part of the key.

    Returns
    -------
    str
        A SHA-256 hex digest.

    Example
    -------
    >>> context_key(Path("chapters/ch03_1_tensors_and_gradients.ipynb").read_bytes(),
    ...             JUDGING_CODE, Settings())[:8]   # doctest: +SKIP
    'a3f09c1e'
    """
    digest = hashlib.sha256(chapter_bytes)
    for name in code:
        digest.update((PACKAGE_DIR / name).read_bytes())
    versions = {d: installed_version(d) for d in _DISTRIBUTIONS}
    digest.update(json.dumps([settings.limits(), versions], sort_keys=True).encode())
    return digest.hexdigest()


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("book_kit")) / "reference-answers"


def stored_reference(key: str) -> dict | None:
    """The chapter's answers stored under ``key`` (see :func:`context_key`), or None."""
    try:
        stored = json.loads((_user_cache() / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    return {e: {tuple(k.split("\x1f")): v for k, v in parts.items()} for e, parts in stored.items()}


def store_reference(key: str, answers: dict) -> None:
    """Keep the chapter's answers under ``key`` for the next class."""
    path = _user_cache() / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({e: {"\x1f".join(k): v for k, v in parts.items()}
                                for e, parts in answers.items()}))


class ResultCache:
    """Judged results by submission content, in the output folder: grading again after a few
    submissions changed runs just those.

    Parameters
    ----------
    folder : Path
        Where results are kept (``OUT/.cache``).
    chapter_bytes : bytes
        The chapter notebook's file.
    settings : Settings
        The grading settings (their limits are part of the key).

    Example
    -------
    >>> cache = ResultCache(out / ".cache", chapter.read_bytes(), settings)
    >>> cache.get(submission) is None   # not graded yet
    True
    """

    def __init__(self, folder: Path, chapter_bytes: bytes, settings: Settings):
        self.folder = folder
        self.context = context_key(chapter_bytes, GRADING_CODE, settings)

    def _path(self, submission: Path) -> Path:
        key = hashlib.sha256(self.context.encode() + Path(submission).read_bytes()).hexdigest()
        return self.folder / f"{key}.json"

    def get(self, submission: Path) -> list[tuple] | None:
        """The results stored for this submission's content, or None (never graded, or unreadable)."""
        try:
            return [tuple(r) for r in json.loads(self._path(submission).read_text())]
        except (OSError, ValueError):
            return None

    def put(self, submission: Path, results: list[tuple]) -> None:
        """Store a submission's results under its content's key."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._path(submission).write_text(json.dumps(results))
