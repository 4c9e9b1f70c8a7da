"""A course's grading settings in one file, ``grading.toml``; a command-line flag overrides it.

Example ``grading.toml`` (every key optional)::

    timeout = 120             # seconds per cell
    notebook_timeout = 1800   # seconds per submission
    memory_mb = 4096          # per kernel (RLIMIT_DATA)
    jobs = 2                  # submissions graded at once
    max_processes = 512
    max_file_mb = 256         # the largest file a submission may write
    max_disk_mb = 1024        # all it may write (its home is a tmpfs of this size)
    max_notebook_mb = 50      # a larger submission is refused unread
    deadline = 2026-12-01T23:59:00+01:00   # later submissions are flagged "late"
    roster = ["ada", "grace", "alan"]       # who should hand in; the missing get 0
    secret = "a long random text"  # the seed of every drawn input (default: one per output folder)
    tests = "course_tests.py"      # the course's private tests (book_kit.grading.private_tests)
    reveal_hidden = "label"        # or "nothing": feedback says a hidden test failed, not which

    [points]                  # replaces a check cell's nbgrader points
    ex1 = 4
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
from pathlib import Path


class ConfigError(ValueError):
    """The configuration file cannot be used; the message says what to change."""


@dataclasses.dataclass
class Settings:
    """A course's grading settings: ``grading.toml`` read over these defaults, flags over both.

    Example
    -------
    >>> Settings().timeout
    60
    """
    timeout: int = 60                 # seconds per cell
    notebook_timeout: int | None = None  # seconds per notebook (default: from the cell count)
    memory_mb: int | None = 4096      # RLIMIT_DATA (every chapter runs at 3 GB, ch03_4 not at 2)
    jobs: int = 1
    sandbox: bool = True              # False only with --no-sandbox: the code runs as you
    max_processes: int = 512          # processes and threads of one submission
    max_file_mb: int = 256            # largest file it may write
    max_disk_mb: int = 1024           # everything it may write (its home is a tmpfs this big)
    max_notebook_mb: float = 50       # a larger submission is refused, unread
    secret: str | None = None         # seeds of the drawn inputs (default: per output folder)
    tests: Path | None = None         # the course's private tests
    reveal_hidden: str = "label"      # "label" | "nothing": what feedback says of a hidden test
    keep_work: Path | None = None     # copy each working folder here (to see what it wrote)
    points: dict = dataclasses.field(default_factory=dict)  # exercise -> points
    deadline: dt.datetime | None = None
    roster: list | None = None

    def limits(self) -> dict:
        """The settings that can change a verdict (part of a cached result's key)."""
        return {"timeout": self.timeout, "notebook_timeout": self.notebook_timeout,
                "memory_mb": self.memory_mb, "max_processes": self.max_processes,
                "max_file_mb": self.max_file_mb, "max_disk_mb": self.max_disk_mb,
                "max_notebook_mb": self.max_notebook_mb, "sandbox": self.sandbox}


_KEYS = {"timeout": int, "notebook_timeout": int, "memory_mb": int, "jobs": int,
         "max_processes": int, "max_file_mb": int, "max_disk_mb": int, "max_notebook_mb": float,
         "deadline": dt.datetime, "roster": list, "points": dict, "secret": str, "tests": str,
         "reveal_hidden": str}


def load(path: Path | None) -> dict:
    """The settings a ``grading.toml`` gives (an empty dict for None)."""
    if path is None:
        return {}
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    for key, value in data.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(_KEYS)}")
        if (kind is dt.datetime and isinstance(value, dt.date)
                and not isinstance(value, dt.datetime)):
            value = data[key] = dt.datetime.combine(value, dt.time(23, 59, 59))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = data[key] = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{path}: {key} should be {kind.__name__}, not {value!r}")
    if data.get("reveal_hidden", "label") not in ("label", "nothing"):
        raise ConfigError(f"{path}: reveal_hidden is \"label\" or \"nothing\", not "
                          f"{data['reveal_hidden']!r}")
    if "secret" in data and len(data["secret"]) < 16:
        raise ConfigError(f"{path}: secret should be at least 16 characters (a long random "
                          "text: anyone who knows it knows the hidden inputs)")
    if "tests" in data:  # relative to the configuration file, like any course file
        data["tests"] = (path.parent / data["tests"]).resolve()
    for exercise, points in data.get("points", {}).items():
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ConfigError(f"{path}: points for {exercise} should be a number >= 0")
    return data


def settings(config: dict, **flags) -> Settings:
    """Settings from a loaded configuration, with every flag that is not None on top."""
    values = {**config, **{k: v for k, v in flags.items() if v is not None}}
    return Settings(**values)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.astimezone()  # naive: this machine's time


def submitted_at(submission: Path) -> dt.datetime:
    """When a submission was handed in: nbgrader's ``timestamp.txt`` beside it, else its file's
    modification time."""
    stamp = Path(submission).parent / "timestamp.txt"
    if stamp.is_file():
        text = stamp.read_text(encoding="utf-8").strip()
        for form in ("%Y-%m-%d %H:%M:%S.%f %Z", "%Y-%m-%d %H:%M:%S %Z"):
            try:
                return dt.datetime.strptime(text, form).replace(tzinfo=dt.timezone.utc)
            except ValueError:
                pass
        try:
            return _aware(dt.datetime.fromisoformat(text))
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(os.stat(submission).st_mtime, tz=dt.timezone.utc)


def is_late(submission: Path, deadline: dt.datetime | None) -> bool:
    """Whether ``submission`` was handed in after ``deadline`` (never, without a deadline).

    Parameters
    ----------
    submission : Path
        The notebook (nbgrader's ``timestamp.txt`` beside it wins over the file's time).
    deadline : datetime or None
        The deadline; a naive one is taken as UTC.

    Returns
    -------
    bool
    """
    return deadline is not None and submitted_at(submission) > _aware(deadline)
