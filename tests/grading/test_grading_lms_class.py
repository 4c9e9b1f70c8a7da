"""A class straight from the LMS: Canvas's and Moodle's submission downloads graded as they come,
and each LMS's own gradebook file filled in, ready to import."""

import csv
import io
import subprocess
import sys
import zipfile

import nbformat
import pytest

from class_helpers import MINI, blank_workbook, right, solved

FIXTURES = MINI.parent / "lms_fixtures"


def _grade(*args):
    return subprocess.run([sys.executable, "-m", "book_kit.cli", "grade", "--chapter", str(MINI),
                           *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_canvas_download_is_graded_and_its_gradebook_filled(tmp_path):
    half = nbformat.writes(right(blank_workbook(), "ex1-solution"))
    members = {  # Canvas's names: name[_LATE]_userid_fileid_file, a resubmission with -1
        "doejane_12345_67890_mini_chapter.ipynb": nbformat.writes(blank_workbook()),
        "doejane_12345_67901_mini_chapter-1.ipynb": nbformat.writes(solved()),  # replaces it
        "roebob_LATE_12346_67891_mini_chapter.ipynb": half,
        "strangerx_99999_67892_mini_chapter.ipynb": nbformat.writes(solved()),
        "smithann_12347_67893_notes.pdf": "%PDF-1.4",
    }
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    out = tmp_path / "grades"
    result = _grade(download, "--out", out, "--lms-file", FIXTURES / "canvas_gradebook.csv",
                    "--lms-missing", "zero", "-j", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "scores.csv", encoding="utf-8") as f:
        scores = {r["student"]: r for r in csv.DictReader(f)}
    assert set(scores) == {"12345", "12346", "99999"}  # the LMS's ids
    assert scores["12345"]["total"] == "6"  # the resubmission, not the blank first try
    assert scores["12346"]["total"] == "2" and scores["12346"]["late"] == "yes"
    assert scores["12345"]["late"] == "no"
    assert "notes.pdf" in result.stderr  # not graded, and said
    assert "graded but not in" in result.stderr and "99999" in result.stderr
    filled = list(csv.reader(io.StringIO((out / "lms-import.csv").read_text(encoding="utf-8"))))
    original = list(csv.reader(io.StringIO(
        (FIXTURES / "canvas_gradebook.csv").read_text(encoding="utf-8"))))
    assert filled[0] == original[0] and filled[1] == original[1]  # header, Points Possible
    column = original[0].index("Chapter 3 - tensors (2001)")
    by_id = {row[1]: row for row in filled[2:]}
    assert by_id["12345"][column] == "10"  # 6 of 6, on Canvas's 10 points
    assert by_id["12346"][column] == "3.33"
    for row, before in zip(filled[2:], original[2:]):  # every other cell as Canvas wrote it
        assert row[:column] + row[column + 1:] == before[:column] + before[column + 1:]


@pytest.mark.slow
def test_a_moodle_download_is_graded_and_its_worksheet_filled(tmp_path):
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        zf.writestr("Jane Doe_1001_assignsubmission_file_/mini_chapter.ipynb",
                    nbformat.writes(solved()))
        zf.writestr("Ann Smith_1003_assignsubmission_file_/mini_chapter.ipynb",
                    nbformat.writes(blank_workbook()))
        zf.writestr("../escape.ipynb", "{}")
    refused = _grade(download, "--out", tmp_path / "x")
    assert refused.returncode == 2 and "escape.ipynb" in refused.stderr
    assert not (tmp_path / "escape.ipynb").exists()
    clean = tmp_path / "clean.zip"
    with zipfile.ZipFile(download) as old, zipfile.ZipFile(clean, "w") as new:
        for info in old.infolist():
            if not info.filename.startswith(".."):
                new.writestr(info, old.read(info))
    out = tmp_path / "grades"
    result = _grade(clean, "--out", out, "--lms", "moodle", "--lms-file",
                    FIXTURES / "moodle_worksheet.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "lms-import.csv", encoding="utf-8") as f:
        rows = {r["Identifier"]: r for r in csv.DictReader(f)}
    assert rows["Participant 1001"]["Grade"] == "10"
    assert rows["Participant 1003"]["Grade"] == "0"
    assert "not attempted" in rows["Participant 1003"]["Feedback comments"]
    assert rows["Participant 1002"]["Grade"] == ""  # no submission: left as Moodle wrote it
