"""Submissions straight from Canvas or Moodle, and the LMS's own gradebook file filled in.

Reading (:func:`collect`) takes what the LMS gives a teacher:

- **Canvas**, Assignments > *Download Submissions*: a flat zip whose members Canvas names
  ``<name>_<user id>_<file id>_<file name>``, with ``LATE_`` before the user id when the
  submission was late (``lib/content_zipper.rb``: the name is the student's sortable name,
  lower-cased, with everything but letters, digits and ``_`` removed, e.g. ``doejane``). An
  anonymously graded assignment gives ``anon_<anonymous id>`` in place of ``<name>_<user id>``.
  A file a student handed in again under the same name gets ``-1``, ``-2`` before its extension
  (``Attachment.make_unique_filename``); the highest number, then the larger file id, wins.
- **Moodle**, Assignment > *Download all submissions*: a zip (or the folder it unzips to) with a
  folder per student and plugin, ``<Full Name>_<participant id>_assignsubmission_file_/`` (also
  ``..._onlinetext_/``), or, with "Download submissions in folders" off, flat files
  ``<Full Name>_<participant id>_assignsubmission_file_<file name>``
  (``mod/assign/locallib.php``, ``download_submissions``). The participant id is the number of
  the offline grading worksheet's ``Identifier`` ("Participant 1234").

Writing (:func:`fill`) fills the file the LMS exports for grading, changing only the cells it
writes, so the LMS imports it back as its own:

- **Canvas**, Grades > Export > *Export Entire Gradebook*: ``Student, ID, SIS User ID, SIS Login
  ID, Section``, custom columns, one ``Title (assignment id)`` column per assignment and the
  totals; a ``Points Possible`` row and, when an assignment posts grades manually, a ``Manual
  Posting`` row before it (``lib/gradebook_exporter.rb``). Import it with Grades > Import.
- **Moodle**, View all submissions > *Download grading worksheet*: ``Identifier, Full name, Email
  address, Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission), Last
  modified (grade), Feedback comments`` (``mod/assign/feedback/offline``). Upload it with
  *Upload grading worksheet*.

Stdlib only; nothing here runs a submission.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path

__all__ = ["Collected", "FillReport", "LMSError", "Submission", "collect", "detect", "fill"]

KINDS = ("canvas", "moodle")
_MB = 1024 * 1024
# Below this a member's compression ratio proves nothing (a notebook of blank lines compresses
# well and is harmless at that size); above it a ratio over ``max_ratio`` is a zip bomb.
_RATIO_FLOOR = _MB


def _size(n: float) -> str:
    return (f"{n / _MB:.0f} MB" if n >= _MB else f"{n / 1024:.0f} KB" if n >= 1024
            else f"{n:.0f} bytes")


class LMSError(ValueError):
    """A download or gradebook file that cannot be used as it is; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Submission:
    """One student's notebook, as the LMS handed it out."""

    student: str  # the LMS's id for the student (Canvas user id, Moodle participant id), as text
    path: Path  # the notebook: inside ``into`` for a zip, the original file for a folder
    late: bool  # Canvas's LATE mark in the name (Moodle: False; the caller applies a deadline)
    name: str  # the name the LMS wrote ("doejane", "Jane Doe"); "" when anonymous
    original: str  # the archive member or file (relative to the folder) it came from


@dataclasses.dataclass
class Collected:
    """What :func:`collect` found: a notebook per student and every file it did not use."""

    kind: str  # "canvas" | "moodle"
    submissions: list[Submission]  # one per student: a resubmission replaces the earlier file
    unmatched: list[str]  # "<member name>: why it was not used" (never guessed)
    replaced: list[str]  # "<student>: <older file> replaced by <newer>"


@dataclasses.dataclass
class FillReport:
    """What :func:`fill` wrote."""

    filled: int  # rows given a grade
    missing: list[str]  # students in the file with no grade (left as written, or 0)
    absent: list[str]  # graded students not in the file (listed, never dropped silently)
    column: str  # the column that was filled
    notes: list[str] = dataclasses.field(default_factory=list)  # scaling, skipped feedback, ...


# --- names ----------------------------------------------------------------------------------

_CANVAS_ANON = re.compile(
    r"^(?:(?P<late>LATE)_)?(?P<student>anon_[A-Za-z0-9]+)_(?P<file_id>\d+)_(?P<filename>.+)$")
_CANVAS = re.compile(
    r"^(?P<name>\w*?)_(?:(?P<late>LATE)_)?(?P<student>\d+)_(?P<file_id>\d+)_(?P<filename>.+)$")
_CANVAS_TEXT = re.compile(
    r"^(?:\w*?_)?(?:LATE_)?(?:\d+|anon_[A-Za-z0-9]+)_(?P<what>text|link)\.html$")
_RESUBMISSION = re.compile(r"^.*-(?P<n>\d+)$")
_MOODLE = re.compile(
    r"^(?P<name>[^/]*?)_(?P<student>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$")


def _canvas_parse(relname: str) -> dict | None:
    base = relname.rsplit("/", 1)[-1]
    match = _CANVAS_ANON.match(base) or _CANVAS.match(base)
    if not match:
        return None
    info = match.groupdict()
    filename = info["filename"]
    stem, dot, ext = filename.rpartition(".")
    stem, ext = (stem, dot + ext) if dot else (filename, "")
    again = _RESUBMISSION.match(stem)
    return {"student": info["student"], "name": info.get("name") or "",
            "late": info["late"] is not None, "file_id": int(info["file_id"]),
            "filename": filename, "ext": ext.lower(), "n": int(again["n"]) if again else 0}


def _moodle_parse(relname: str) -> dict | None:
    parts = relname.split("/")
    for i, part in enumerate(parts):
        match = _MOODLE.match(part)
        if not match:
            continue
        rest = match["rest"]
        if rest == "" and i + 1 < len(parts):  # the folder form: Name_1234_assignsubmission_file_/x
            filename = "/".join(parts[i + 1:])
        elif rest and i + 1 == len(parts):  # the flat form: Name_1234_assignsubmission_file_x
            filename = rest
        else:
            return None
        return {"student": match["student"], "name": match["name"], "plugin": match["plugin"],
                "filename": filename, "ext": os.path.splitext(filename)[1].lower()}
    return None


def _junk(relname: str) -> bool:
    """macOS's metadata a re-zipped download carries (``__MACOSX/``, ``._name``, .DS_Store)."""
    parts = relname.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def _recognised(relname: str, kind: str) -> bool:
    """Whether a name follows ``kind``'s pattern (a Moodle name is never taken for Canvas's)."""
    if _junk(relname):
        return False
    if kind == "moodle":
        return _moodle_parse(relname) is not None
    return _moodle_parse(relname) is None and (
        _canvas_parse(relname) is not None
        or _CANVAS_TEXT.match(relname.rsplit("/", 1)[-1]) is not None)


def _kind_of(names: list[str]) -> str | None:
    moodle = sum(_recognised(n, "moodle") for n in names)
    canvas = sum(_recognised(n, "canvas") for n in names)
    if moodle and not canvas:
        return "moodle"
    if canvas and not moodle:
        return "canvas"
    return None


# --- reading an archive or a folder -----------------------------------------------------------

def _bad_name(name: str) -> str | None:
    """Why a member name may not be extracted anywhere, or None."""
    if "\x00" in name:
        return "a NUL byte in its name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return "an absolute name"
    if ".." in normal.split("/"):
        return "'..' in its name (it would be written outside the folder)"
    return None


def _check_archive(zf: zipfile.ZipFile, path: Path, max_total_mb: float, max_member_mb: float,
                   max_members: int, max_ratio: float) -> list[zipfile.ZipInfo]:
    """The archive's file members, once every header is within the limits (LMSError if not)."""
    infos = zf.infolist()
    hint = "unzip it yourself, check what is in it, and pass the folder"
    if len(infos) > max_members:
        raise LMSError(f"{path}: {len(infos)} members, more than the {max_members} allowed; {hint}")
    total = 0
    files, seen = [], set()
    for info in infos:
        name = info.filename
        why = _bad_name(name)
        if why:
            raise LMSError(f"{path}: refused, member {name!r} has {why}; {hint}")
        if name.replace("\\", "/") in seen:
            raise LMSError(f"{path}: refused, two members are named {name!r}; {hint}")
        seen.add(name.replace("\\", "/"))
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise LMSError(f"{path}: refused, member {name!r} is a symbolic link; {hint}")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise LMSError(f"{path}: refused, member {name!r} is not a regular file; {hint}")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise LMSError(f"{path}: member {name!r} is encrypted; download it again from the LMS")
        if info.file_size > max_member_mb * _MB:
            raise LMSError(f"{path}: refused, member {name!r} unpacks to "
                           f"{_size(info.file_size)}, over the {max_member_mb:g} MB allowed "
                           f"per file; {hint}")
        if (info.file_size > _RATIO_FLOOR
                and info.file_size > max_ratio * max(info.compress_size, 1)):
            raise LMSError(f"{path}: refused, member {name!r} unpacks to "
                           f"{info.file_size / max(info.compress_size, 1):.0f} times its packed "
                           f"size (over {max_ratio:g}: a zip bomb?); {hint}")
        total += info.file_size
        files.append(info)
    if total > max_total_mb * _MB:
        raise LMSError(f"{path}: refused, it unpacks to {_size(total)}, over the "
                       f"{max_total_mb:g} MB allowed; {hint}")
    return files


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: list[int],
             max_member: int, path: Path) -> None:
    """Copy one member to ``dest`` (a new file), stopping as soon as its real bytes go past its
    header's size, the per-file limit or what is left of the total (``budget[0]``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except FileExistsError:
        raise LMSError(f"{dest} already exists: give collect an empty folder of its own") from None
    with os.fdopen(fd, "wb") as out:
        written = 0
        try:
            with zf.open(info) as src:
                while chunk := src.read(_MB):
                    written += len(chunk)
                    if written > info.file_size or written > max_member or written > budget[0]:
                        raise LMSError(f"{path}: refused, member {info.filename!r} unpacks to more "
                                       "than its header says (a forged archive?)")
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
            raise LMSError(f"{path}: member {info.filename!r} does not match its header ({e}): "
                           "a damaged or forged archive; download it again from the LMS") from None
    budget[0] -= written


def _folder_entries(folder: Path, max_members: int, max_member_mb: float,
                    unmatched: list[str]) -> list[tuple[str, Path]]:
    """(relative name, path) of the regular files under ``folder``; links are never followed."""
    entries = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        for d in list(dirs):
            if os.path.islink(os.path.join(root, d)):
                unmatched.append(f"{(rel_root / d).as_posix()}: a symbolic link; not followed")
                dirs.remove(d)
        dirs.sort()
        for f in sorted(files):
            full = Path(root) / f
            rel = (rel_root / f).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                unmatched.append(f"{rel}: a symbolic link; not followed")
            elif not stat.S_ISREG(st.st_mode):
                unmatched.append(f"{rel}: not a regular file")
            elif st.st_size > max_member_mb * _MB:
                unmatched.append(f"{rel}: {_size(st.st_size)}, over the "
                                 f"{max_member_mb:g} MB allowed per file")
            else:
                entries.append((rel, full))
            if len(entries) > max_members:
                raise LMSError(f"{folder}: more than {max_members} files; is it the right folder?")
    return entries


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise LMSError(f"{path}: not a readable zip file ({e}); download it again from the "
                       "LMS, or unzip it and pass the folder") from None


def _names(path: Path) -> list[str]:
    if path.is_dir():
        return [rel for rel, _ in _folder_entries(path, 10**9, math.inf, [])]
    if not path.is_file():
        raise LMSError(f"{path}: no such file or folder")
    with _open_zip(path) as zf:
        return [i.filename.replace("\\", "/") for i in zf.infolist() if not i.is_dir()]


def detect(path: Path) -> str | None:
    """Which LMS a submissions download comes from, told by the names in it.

    Parameters
    ----------
    path : Path
        A zip the LMS gave, or the folder it was unzipped to.

    Returns
    -------
    str or None
        ``"canvas"`` or ``"moodle"`` when every name that follows a pattern follows that LMS's;
        None when no name does, or names of both kinds are there.

    Examples
    --------
    >>> import zipfile
    >>> with zipfile.ZipFile("submissions.zip", "w") as zf:   # as Canvas names them
    ...     for name in ("doejane_12345_67890_ch03_1.ipynb", "roebob_LATE_12346_67891_ch03_1.ipynb",
    ...                  "roedoe_12347_67892_ch03_1.pdf"):
    ...         zf.writestr(name, "{}")
    >>> detect(Path("submissions.zip"))  # doejane_12345_67890_ch03_1.ipynb, ...
    'canvas'
    >>> folder = Path("moodle-download/Jane Doe_1234_assignsubmission_file_")
    >>> folder.mkdir(parents=True)
    >>> _ = (folder / "ch03_1.ipynb").write_text("{}")
    >>> detect(Path("moodle-download"))  # Jane Doe_1234_assignsubmission_file_/ch03_1.ipynb
    'moodle'
    """
    return _kind_of(_names(Path(path)))


def collect(path: Path, into: Path, kind: str | None = None, *, max_total_mb: float = 2048,
            max_member_mb: float = 50, max_members: int = 5000,
            max_ratio: float = 200) -> Collected:
    """A notebook per student from a Canvas or Moodle submissions download.

    Parameters
    ----------
    path : Path
        Canvas's *Download Submissions* zip, Moodle's *Download all submissions* zip, or the
        folder either was unzipped to (read in place: nothing is copied, links are not followed).
    into : Path
        An empty private folder (made if missing) that the chosen notebooks of a zip are written
        to, as ``<student>.ipynb``; nothing else is extracted and nothing is written elsewhere.
        Unused for a folder.
    kind : {"canvas", "moodle"} or None
        The LMS; None tells it by the names (:func:`detect`).
    max_total_mb, max_member_mb, max_members, max_ratio : float
        A zip over any of these (its total unpacked size, one member's, the number of members,
        a member's unpacked/packed ratio) is refused before anything is extracted; extraction
        also stops if a member's real bytes go past what its header said.

    Returns
    -------
    Collected
        ``submissions``, one per student sorted by id (the newest resubmission at Canvas; a
        Moodle student with several notebooks gets none, and each is listed in ``unmatched``);
        ``unmatched``, every file not used and why; ``replaced``, every older file a newer one
        replaced.

    Raises
    ------
    LMSError
        An unreadable or refused archive, an unknown LMS, or no name of the LMS's pattern.

    Examples
    --------
    >>> import zipfile
    >>> with zipfile.ZipFile("submissions.zip", "w") as zf:   # as Canvas names them
    ...     for name in ("doejane_12345_67890_ch03_1.ipynb", "roebob_LATE_12346_67891_ch03_1.ipynb",
    ...                  "roedoe_12347_67892_ch03_1.pdf"):
    ...         zf.writestr(name, "{}")
    >>> found = collect(Path("submissions.zip"), Path("collected"))
    >>> found.kind, [(s.student, s.path.name, s.late) for s in found.submissions]
    ('canvas', [('12345', '12345.ipynb', False), ('12346', '12346.ipynb', True)])
    >>> found.unmatched
    ['roedoe_12347_67892_ch03_1.pdf: not a notebook (.pdf)']
    """
    path, into = Path(path), Path(into)
    if kind is not None and kind not in KINDS:
        raise LMSError(f"unknown LMS {kind!r}: use --lms canvas or --lms moodle")
    unmatched: list[str] = []
    if path.is_dir():
        entries = _folder_entries(path, max_members, max_member_mb, unmatched)
        zf, names = None, [rel for rel, _ in entries]
        sources = dict(entries)
    elif path.is_file():
        zf = _open_zip(path)
        try:
            infos = _check_archive(zf, path, max_total_mb, max_member_mb, max_members, max_ratio)
        except BaseException:
            zf.close()
            raise
        names = [i.filename.replace("\\", "/") for i in infos]
        sources = dict(zip(names, infos))
    else:
        raise LMSError(f"{path}: no such file or folder")
    try:
        if kind is None:
            kind = _kind_of(names)
            if kind is None:
                raise LMSError(f"{path}: cannot tell Canvas from Moodle by its file names; "
                               "pass --lms canvas or --lms moodle")
        if names and not any(_recognised(n, kind) for n in names):
            other = "moodle" if kind == "canvas" else "canvas"
            raise LMSError(f"{path}: no file is named the way {kind.title()} names submissions; "
                           f"is it a {other.title()} download? (--lms {other})")
        for name in names:
            if _junk(name):
                unmatched.append(f"{name}: macOS's metadata, not a submission")
        names = [n for n in names if not _junk(n)]
        chosen, replaced = (_choose_canvas if kind == "canvas"
                            else _choose_moodle)(names, unmatched)
        submissions = []
        if zf is None:
            for student, (name, info) in chosen.items():
                submissions.append(Submission(student, sources[name], info.get("late", False),
                                              info["name"], name))
        else:
            into.mkdir(parents=True, exist_ok=True)
            budget, written = [int(max_total_mb * _MB)], []
            try:
                for student, (name, info) in chosen.items():
                    dest = into / f"{student}.ipynb"
                    written.append(dest)
                    _extract(zf, sources[name], dest, budget, int(max_member_mb * _MB), path)
                    submissions.append(Submission(student, dest, info.get("late", False),
                                                  info["name"], sources[name].filename))
            except BaseException:
                for dest in written:
                    dest.unlink(missing_ok=True)
                raise
    finally:
        if zf is not None:
            zf.close()
    submissions.sort(key=lambda s: _id_order(s.student))
    return Collected(kind, submissions, unmatched, replaced)


def _id_order(student: str):
    return (0, int(student), "") if student.isdigit() else (1, 0, student)


def _choose_canvas(names: list[str], unmatched: list[str]):
    by_student: dict[str, list[tuple[str, dict]]] = {}
    for name in names:
        info = _canvas_parse(name)
        if info is None:
            text = _CANVAS_TEXT.match(name.rsplit("/", 1)[-1])
            if text:
                what = "an online text entry" if text["what"] == "text" else "a website URL entry"
                unmatched.append(f"{name}: {what}, not a notebook")
            else:
                unmatched.append(f"{name}: not named the way Canvas names submissions "
                                 "(name_userid_fileid_filename)")
        elif info["ext"] != ".ipynb":
            unmatched.append(f"{name}: not a notebook ({info['ext'] or 'no extension'})")
        else:
            by_student.setdefault(info["student"], []).append((name, info))
    chosen, replaced = {}, []
    for student in sorted(by_student, key=_id_order):
        files = sorted(by_student[student], key=lambda e: (e[1]["n"], e[1]["file_id"]))
        newest = files[-1]
        for older, _ in files[:-1]:
            replaced.append(f"{student}: {older} replaced by {newest[0]}")
        chosen[student] = newest
    return chosen, replaced


def _choose_moodle(names: list[str], unmatched: list[str]):
    by_student: dict[str, list[tuple[str, dict]]] = {}
    for name in names:
        info = _moodle_parse(name)
        if info is None:
            unmatched.append(f"{name}: not named the way Moodle names submissions "
                             "(Full Name_id_assignsubmission_file_/filename)")
        elif info["ext"] != ".ipynb":
            what = ("online text" if info["plugin"] == "onlinetext"
                    else info["ext"] or "no extension")
            unmatched.append(f"{name}: not a notebook ({what})")
        else:
            by_student.setdefault(info["student"], []).append((name, info))
    chosen = {}
    for student in sorted(by_student, key=_id_order):
        files = by_student[student]
        if len(files) == 1:
            chosen[student] = files[0]
        else:
            for name, _ in files:
                unmatched.append(f"{name}: {len(files)} notebooks for one student "
                                 f"(participant {student}); keep one")
    return chosen, []


# --- CSV, byte for byte ---------------------------------------------------------------------

@dataclasses.dataclass
class _Record:
    values: list[str]
    spans: list[tuple[int, int]]  # where each field's raw text is, quotes included
    end: int  # where the record's line ending (or the text) starts


def _parse_csv(text: str, delim: str) -> list[_Record]:
    """RFC 4180 records, each field's value and the span of its raw text (nothing normalised)."""
    records, i, n = [], 0, len(text)
    while i < n:
        values, spans = [], []
        while True:
            start = i
            if i < n and text[i] == '"':
                i += 1
                parts = []
                while True:
                    j = text.find('"', i)
                    if j < 0:
                        raise LMSError(f"a quote opened at character {start} is never closed")
                    parts.append(text[i:j])
                    if text.startswith('""', j):
                        parts.append('"')
                        i = j + 2
                    else:
                        i = j + 1
                        break
                k = i
                while i < n and text[i] not in (delim, "\r", "\n"):
                    i += 1
                value = "".join(parts) + text[k:i]
            else:
                while i < n and text[i] not in (delim, "\r", "\n"):
                    i += 1
                value = text[start:i]
            values.append(value)
            spans.append((start, i))
            if i < n and text[i] == delim:
                i += 1
                continue
            break
        records.append(_Record(values, spans, i))
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
    return records


def _delimiter(text: str) -> str:
    """``,``, ``;`` (Canvas's "use semicolons" setting) or tab: the one that splits the header
    into a Student/ID/Identifier column, else the one that splits it most."""
    first = text.split("\n", 1)[0]
    fields = {}
    for d in (",", ";", "\t"):
        try:
            fields[d] = [f.strip() for f in _parse_csv(first, d)[0].values]
        except LMSError:  # a quoted header running over several lines: not this one's call
            fields[d] = [first]
    keyed = [d for d, f in fields.items() if {"ID", "Identifier"} & set(f)]
    return keyed[0] if keyed else max(fields, key=lambda d: len(fields[d]))


_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run: a leading ``'`` before ``= + - @``, tab or CR (OWASP),
    unless the cell is a number."""
    head = value.lstrip(" ")[:1] or value[:1]
    if (value[:1] in ("\t", "\r") or head in _TRIGGERS) and not _NUMBER.match(value.strip()):
        return "'" + value
    return value


def _encode(value: str, delim: str, quoted: bool) -> str:
    if quoted or any(c in value for c in (delim, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _number(value: float) -> str:
    """``7.5``, ``10``, ``6.33``: two decimals at most (what Canvas and Moodle show), no trailing
    zeros."""
    if not math.isfinite(value):
        raise LMSError(f"a grade of {value} cannot be written")
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _parse_number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


class _Sheet:
    """A CSV file kept as written, with the cells to change."""

    def __init__(self, path: Path):
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise LMSError(f"cannot read {path}: {e}") from None
        self.bom = raw.startswith(b"\xef\xbb\xbf")
        try:
            self.text = raw[3 if self.bom else 0:].decode("utf-8")
        except UnicodeDecodeError:
            raise LMSError(f"{path} is not UTF-8 text: export it again from the LMS (or save it "
                           "as CSV UTF-8)") from None
        if not self.text.strip():
            raise LMSError(f"{path} is empty: export the gradebook again from the LMS")
        self.delim = _delimiter(self.text)
        try:
            self.records = _parse_csv(self.text, self.delim)
        except LMSError as e:
            raise LMSError(f"{path} is not a well-formed CSV file: {e}") from None
        self.header = [h.strip() for h in self.records[0].values]
        self.edits: dict[int, tuple[int, int, str]] = {}  # start -> (start, end, new raw text)
        self.tails: dict[int, dict[int, tuple[int, str]]] = {}  # a short row's added fields

    def set(self, record: _Record, column: int, value: str) -> None:
        """Write ``value`` (made formula-safe) into ``record``'s ``column``."""
        value = _safe(value)
        if column < len(record.spans):
            start, end = record.spans[column]
            quoted = self.text.startswith('"', start)
            self.edits[start] = (start, end, _encode(value, self.delim, quoted))
        else:  # a short row: empty fields are added up to the column
            self.tails.setdefault(record.end, {})[column] = (len(record.spans), value)
        while len(record.values) <= column:
            record.values.append("")
        record.values[column] = value

    def write(self, out: Path) -> None:
        """Write the file, the cells set changed and every other byte as it was read."""
        edits = list(self.edits.values())
        for end, cells in self.tails.items():
            first = next(iter(cells.values()))[0]
            fields = [_encode(cells[c][1], self.delim, False) if c in cells else ""
                      for c in range(first, max(cells) + 1)]
            edits.append((end, end, "".join(self.delim + f for f in fields)))
        pieces, at = [], 0
        for start, end, new in sorted(edits):
            pieces += [self.text[at:start], new]
            at = end
        pieces.append(self.text[at:])
        data = ("\ufeff" if self.bom else "") + "".join(pieces)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data.encode("utf-8"))
        os.replace(tmp, out)


def _column(header: list[str], wanted: str, what: str, path: Path) -> int:
    if wanted in header:
        return header.index(wanted)
    raise LMSError(f"{path} has no {what} column {wanted!r}; its columns are: "
                   + ", ".join(h for h in header if h))


# --- filling ----------------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)$")
_CANVAS_TOTALS = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points"
                            r"|Final Grade|Override Score|Override Grade|Override Status")
_CANVAS_INFO = {"Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID",
                "Integration ID", "Root Account", "Section"}


def fill(lms_file: Path, kind: str, grades: dict[str, dict], out: Path, *,
         column: str | None = None, match_column: str | None = None,
         missing: str = "empty") -> FillReport:
    """Fill the gradebook file the LMS exported with ``grades``, ready to import back.

    Only the cells given a grade (and, for Moodle, feedback) change; every other byte of the
    file stays as the LMS wrote it (delimiter, quoting, line endings, a UTF-8 BOM, Canvas's
    ``Points Possible`` and ``Manual Posting`` rows). A cell written that a spreadsheet could
    run as a formula gets a leading ``'``.

    Parameters
    ----------
    lms_file : Path
        Canvas's gradebook export (Grades > Export > Export Entire Gradebook) or Moodle's grading
        worksheet (View all submissions > Download grading worksheet). Never modified.
    kind : {"canvas", "moodle"}
        The LMS the file comes from.
    grades : dict
        Student id (Canvas user id or Moodle participant id, as text; or the value of
        ``match_column``) -> ``{"points": float, "max": float, "feedback": str}``. When the
        file gives the assignment's own maximum (Canvas's Points Possible, Moodle's Maximum
        Grade) and it differs from ``max``, points are scaled to it. Canvas's CSV has no place
        for feedback; Moodle's goes to "Feedback comments" (escaped as HTML, which Moodle
        stores it as).
    out : Path
        The file to write (not ``lms_file``).
    column : str, optional
        Canvas: the assignment column, by its header (``"Homework 1 (12345)"``), its title or its
        id; needed when the file has several. Moodle: the grade column (default ``"Grade"``).
    match_column : str, optional
        The column that holds the students' ids: default Canvas's ``ID``, Moodle's
        ``Identifier`` (its number: "Participant 1234" is 1234); e.g. ``"SIS User ID"`` or
        ``"Email address"``.
    missing : {"empty", "zero"}
        A student in the file with no grade: ``"empty"`` leaves the cell as the LMS wrote it,
        ``"zero"`` writes 0 where it is empty (a grade already there, or Canvas's ``EX``, is
        never overwritten).

    Returns
    -------
    FillReport
        ``filled`` rows, the ``missing`` and ``absent`` students, the ``column`` filled and
        ``notes`` (points scaled, feedback not written, grades Moodle will not change).

    Raises
    ------
    LMSError
        A file that is not the LMS's export, an unknown or ambiguous column, or ``out`` equal to
        ``lms_file``.

    Examples
    --------
    >>> _ = Path("export.csv").write_text(   # as Canvas exports it
    ...     "Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (12345),Current Points\\n"
    ...     "    Points Possible,,,,,10.00,(read only)\\n"
    ...     '"Doe, Jane",12345,S001,jdoe,Section A,,0.00\\n'
    ...     '"Roe, Bob",12346,S002,broe,Section A,,0.00\\n')
    >>> report = fill(Path("export.csv"), "canvas",
    ...               {"12345": {"points": 7.5, "max": 10, "feedback": "Well done"}},
    ...               Path("import.csv"), column="Homework 1")
    >>> report.filled, report.column, report.missing, report.absent
    (1, 'Homework 1 (12345)', ['12346'], [])
    >>> print(Path("import.csv").read_text(), end="")   # one cell changed
    Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (12345),Current Points
        Points Possible,,,,,10.00,(read only)
    "Doe, Jane",12345,S001,jdoe,Section A,7.5,0.00
    "Roe, Bob",12346,S002,broe,Section A,,0.00
    """
    lms_file, out = Path(lms_file), Path(out)
    if kind not in KINDS:
        raise LMSError(f"unknown LMS {kind!r}: use --lms canvas or --lms moodle")
    if missing not in ("empty", "zero"):
        raise LMSError(f"missing={missing!r}: use 'empty' or 'zero'")
    if out.exists() and out.resolve() == lms_file.resolve():
        raise LMSError(f"{out} is the LMS's file itself: write the filled copy to another file")
    sheet = _Sheet(lms_file)
    grades = {str(k).strip(): v for k, v in grades.items()}
    report = (_fill_canvas if kind == "canvas" else _fill_moodle)(
        sheet, lms_file, grades, column, match_column, missing)
    sheet.write(out)
    return report


def _scaled(grade: dict, lms_max: float | None, scaled: set) -> float:
    try:
        points, top = float(grade["points"]), float(grade.get("max") or 0)
    except (KeyError, TypeError, ValueError):
        raise LMSError(f"a grade needs 'points' (a number): {grade!r}") from None
    if lms_max and top and not math.isclose(lms_max, top):
        scaled.add((top, lms_max))
        return points * lms_max / top
    return points


def _scaling_notes(scaled: set) -> list[str]:
    return [f"points out of {_number(top)} scaled to the LMS's {_number(lms)}"
            for top, lms in sorted(scaled)]


def _fill_canvas(sheet: _Sheet, path: Path, grades: dict, column: str | None,
                 match_column: str | None, missing: str) -> FillReport:
    header = sheet.header
    if not (len(header) > 3 and ("Student" in header[0] or header[:2] == ["LastName", "FirstName"])
            and "ID" in header):
        raise LMSError(f"{path} is not a Canvas gradebook export (its first columns should be "
                       "Student, ID, ...): export it with Grades > Export > "
                       "Export Entire Gradebook")
    after_info = max(i for i, h in enumerate(header) if h in _CANVAS_INFO) + 1
    assignments = [i for i, h in enumerate(header) if i >= after_info
                   and _ASSIGNMENT.match(h) and not _CANVAS_TOTALS.search(h)]
    names = ", ".join(header[i] for i in assignments)
    if column is None:
        if len(assignments) != 1:
            raise LMSError(f"{path} has {len(assignments)} assignment columns"
                           + (f" ({names}): pass the one to fill (--lms-column)" if assignments
                              else ": create the assignment in Canvas, then export the gradebook"))
        target = assignments[0]
    else:
        wanted = column.strip()
        hits = [i for i in assignments if header[i] == wanted]
        hits = hits or [i for i in assignments if _ASSIGNMENT.match(header[i])["title"] == wanted]
        hits = hits or [i for i in assignments if _ASSIGNMENT.match(header[i])["id"] == wanted]
        if len(hits) != 1:
            which = "no" if not hits else f"{len(hits)}"
            raise LMSError(f"{path} has {which} assignment column {column!r}; its assignment "
                           f"columns are: {names or 'none'}")
        target = hits[0]
    key = _column(header, match_column or "ID", "student id", path)
    lms_max, scaled, report = None, set(), FillReport(0, [], [], header[target])
    seen = set()
    for record in sheet.records[1:]:
        values = record.values
        first = values[0] if values else ""
        if "Points Possible" in first:
            cell = values[target].strip() if target < len(values) else ""
            if re.search(r"read\s+only", cell):
                raise LMSError(f"{header[target]} is read only in {path}: pick another column")
            lms_max = _parse_number(cell)
            continue
        if all(re.match(r"^\s*(Muted|Manual Posting.*)?\s*$", v, re.IGNORECASE) for v in values):
            continue  # the muted / manual posting row, or a blank line
        student = values[key].strip() if key < len(values) else ""
        if not student:
            continue
        current = values[target].strip() if target < len(values) else ""
        if student in grades:
            seen.add(student)
            sheet.set(record, target, _number(_scaled(grades[student], lms_max, scaled)))
            report.filled += 1
        else:
            report.missing.append(student)
            if missing == "zero" and current in ("", "-"):
                sheet.set(record, target, "0")
    report.absent = sorted(set(grades) - seen, key=_id_order)
    report.notes += _scaling_notes(scaled)
    if any(g.get("feedback") for g in grades.values()):
        report.notes.append("Canvas's gradebook file has no feedback column: feedback not written")
    return report


def _feedback_html(text: str) -> str:
    return html.escape(text, quote=False).replace("\r\n", "\n").replace("\n", "<br>")


def _fill_moodle(sheet: _Sheet, path: Path, grades: dict, column: str | None,
                 match_column: str | None, missing: str) -> FillReport:
    header = sheet.header
    if match_column is None and "Identifier" not in header:
        raise LMSError(f"{path} is not a Moodle grading worksheet (no Identifier column): download "
                       "it with View all submissions > Download grading worksheet, or name the "
                       "column with the students' ids (match_column)")
    key = _column(header, match_column or "Identifier", "student id", path)
    target = _column(header, column or "Grade", "grade", path)
    feedback = header.index("Feedback comments") if "Feedback comments" in header else None
    top = header.index("Maximum Grade") if "Maximum Grade" in header else None
    locked = header.index("Grade can be changed") if "Grade can be changed" in header else None
    scaled, report, seen, not_changeable = set(), FillReport(0, [], [], header[target]), set(), []
    for record in sheet.records[1:]:
        values = record.values
        if not any(v.strip() for v in values):
            continue
        cell = values[key].strip() if key < len(values) else ""
        if match_column is None:
            number = re.search(r"(\d+)\s*$", cell)
            student = number[1] if number else ""
        else:
            student = cell
        if not student:
            continue
        current = values[target].strip() if target < len(values) else ""
        if student in grades:
            seen.add(student)
            lms_max = _parse_number(values[top]) if top is not None and top < len(values) else None
            sheet.set(record, target, _number(_scaled(grades[student], lms_max, scaled)))
            text = grades[student].get("feedback") or ""
            if feedback is not None and text:
                sheet.set(record, feedback, _feedback_html(text))
            if locked is not None and locked < len(values) and values[locked].strip() == "No":
                not_changeable.append(student)
            report.filled += 1
        else:
            report.missing.append(student)
            if missing == "zero" and current in ("", "-"):
                sheet.set(record, target, "0")
    report.absent = sorted(set(grades) - seen, key=_id_order)
    report.notes += _scaling_notes(scaled)
    if feedback is None and any(g.get("feedback") for g in grades.values()):
        report.notes.append("no 'Feedback comments' column (feedback comments are off for this "
                            "assignment): feedback not written")
    if not_changeable:
        report.notes.append("Moodle will not change the grades of " + ", ".join(not_changeable)
                            + " (Grade can be changed: No)")
    return report
