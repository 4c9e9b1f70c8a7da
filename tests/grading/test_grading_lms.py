"""book_kit.lms: submissions from Canvas / Moodle downloads, and their gradebook files filled in.

The downloads are built here from the member names in
``tests/grading/lms_fixtures/*_submissions.txt``
(named the way Canvas's and Moodle's own code names them); the gradebook files are fixtures
written to the LMSs' export formats. Fast: no notebook runs.
"""

import csv
import hashlib
import io
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from book_kit.grading import lms
from book_kit.grading.lms import LMSError, collect, detect, fill

FIXTURES = Path(__file__).parent / "lms_fixtures"
NOTEBOOK = (FIXTURES / "notebook.ipynb").read_text(encoding="utf-8")


def members(listing: str) -> list[str]:
    lines = (FIXTURES / listing).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def content(member: str) -> bytes:
    """A notebook that says which member it was (to see which file was chosen)."""
    return NOTEBOOK.replace('"MEMBER"', json.dumps(member)).encode()


def make_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.writestr(name, content(name) if name.endswith(".ipynb") else b"%PDF-1.4 or html")
    return path


def came_from(path: Path) -> str:
    return json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"][0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def canvas_zip(tmp_path):
    return make_zip(tmp_path / "submissions.zip", members("canvas_submissions.txt"))


@pytest.fixture
def moodle_zip(tmp_path):
    names = members("moodle_submissions.txt")
    names.append("__MACOSX/Jane Doe_1001_assignsubmission_file_/._ch03_1.ipynb")  # a re-zip
    return make_zip(tmp_path / "moodle.zip", names)


# --- Canvas submissions -----------------------------------------------------------------------

def test_canvas_zip_one_notebook_per_student(canvas_zip, tmp_path):
    into = tmp_path / "private"
    found = collect(canvas_zip, into)
    assert found.kind == "canvas"
    assert [(s.student, s.name, s.late) for s in found.submissions] == [
        ("12345", "doejane", False), ("12346", "roebob", True), ("12347", "smithann", False)]
    by_id = {s.student: s for s in found.submissions}
    # the resubmission (-1) replaces the first file; of two files without a number, the larger id
    assert by_id["12345"].original == "doejane_12345_67990_ch03_1-1.ipynb"
    assert by_id["12347"].original == "smithann_12347_67893_ch03_1.ipynb"
    for s in found.submissions:
        assert s.path == into / f"{s.student}.ipynb"
        assert came_from(s.path) == s.original  # the chosen member's bytes, nothing else
    assert files_in(into) == ["12345.ipynb", "12346.ipynb", "12347.ipynb"]
    assert found.replaced == [
        "12345: doejane_12345_67890_ch03_1.ipynb replaced by doejane_12345_67990_ch03_1-1.ipynb",
        "12347: smithann_12347_67892_ch03_1.ipynb replaced by smithann_12347_67893_ch03_1.ipynb"]
    assert found.unmatched == [
        "roebob_12346_67800_notes.pdf: not a notebook (.pdf)",
        "leeli_12348_text.html: an online text entry, not a notebook",
        ("homework.ipynb: not named the way Canvas names submissions "
        "(name_userid_fileid_filename)")]


def test_canvas_anonymous_and_late_names(tmp_path):
    """Anonymous grading: ``anon_<anonymous id>`` where the name and user id would be."""
    z = make_zip(tmp_path / "anon.zip", ["anon_x1Y2z_5001_ch03_1.ipynb",
                                         "LATE_anon_Qr7tT_5002_ch03_1.ipynb"])
    found = collect(z, tmp_path / "private")
    assert [(s.student, s.name, s.late) for s in found.submissions] == [
        ("anon_Qr7tT", "", True), ("anon_x1Y2z", "", False)]


def test_canvas_folder_is_read_in_place(canvas_zip, tmp_path):
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(canvas_zip) as zf:
        zf.extractall(folder)
    os.symlink("/etc/passwd", folder / "evil_12349_67999_ch03_1.ipynb")
    into = tmp_path / "private"
    found = collect(folder, into)
    assert [s.student for s in found.submissions] == ["12345", "12346", "12347"]
    assert all(s.path.parent == folder for s in found.submissions)  # the originals
    assert "evil_12349_67999_ch03_1.ipynb: a symbolic link; not followed" in found.unmatched
    assert files_in(into) == []
    small = collect(folder, into, max_member_mb=0.0001)  # ~100 bytes: every notebook is over
    assert small.submissions == []
    assert any(u.startswith("doejane_12345_67890_ch03_1.ipynb: ")
               and u.endswith(" bytes, over the 0.0001 MB allowed per file")
               for u in small.unmatched)


# --- Moodle submissions -----------------------------------------------------------------------

MOODLE_UNMATCHED = [
    ("Bob Roe_1002_assignsubmission_file_/ch03_1.ipynb: 2 notebooks for one student "
    "(participant 1002); keep one"),
    ("Bob Roe_1002_assignsubmission_file_/scratch.ipynb: 2 notebooks for one student "
    "(participant 1002); keep one"),
]


def test_moodle_zip(moodle_zip, tmp_path):
    into = tmp_path / "private"
    found = collect(moodle_zip, into)
    assert found.kind == "moodle"
    assert [(s.student, s.name, s.late) for s in found.submissions] == [
        ("1001", "Jane Doe", False), ("1003", "Ann Smith", False), ("1004", "Li Lee", False)]
    by_id = {s.student: s for s in found.submissions}
    assert by_id["1004"].original == "Li Lee_1004_assignsubmission_file_ch03_1.ipynb"  # flat
    for s in found.submissions:
        assert came_from(s.path) == s.original
    assert files_in(into) == ["1001.ipynb", "1003.ipynb", "1004.ipynb"]
    assert found.replaced == []
    assert sorted(found.unmatched) == sorted([
        ("__MACOSX/Jane Doe_1001_assignsubmission_file_/._ch03_1.ipynb: macOS's metadata, "
        "not a submission"),
        ("Ann Smith_1003_assignsubmission_onlinetext_/onlinetext.html: not a notebook "
        "(online text)"),
        "Li Lee_1004_assignsubmission_file_report.pdf: not a notebook (.pdf)",
        *MOODLE_UNMATCHED])


def test_moodle_folder_is_the_same_read_in_place(moodle_zip, tmp_path):
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(moodle_zip) as zf:
        zf.extractall(folder)
    (folder / "Eve Bad_1005_assignsubmission_file_").mkdir()
    os.symlink("/etc/passwd", folder / "Eve Bad_1005_assignsubmission_file_" / "ch03_1.ipynb")
    os.symlink("/etc", folder / "Mal Ory_1006_assignsubmission_file_")
    into = tmp_path / "private"
    found = collect(folder, into)
    zipped = collect(moodle_zip, tmp_path / "other")
    assert [(s.student, s.name, s.original) for s in found.submissions] == [
        (s.student, s.name, s.original) for s in zipped.submissions]
    assert all(s.path == folder / s.original for s in found.submissions)
    assert "Eve Bad_1005_assignsubmission_file_/ch03_1.ipynb: a symbolic link; not followed" \
        in found.unmatched
    assert "Mal Ory_1006_assignsubmission_file_: a symbolic link; not followed" in found.unmatched
    assert set(MOODLE_UNMATCHED) <= set(found.unmatched)
    assert files_in(into) == []


# --- detection --------------------------------------------------------------------------------

def test_detect(canvas_zip, moodle_zip, tmp_path):
    assert detect(canvas_zip) == "canvas"
    assert detect(moodle_zip) == "moodle"
    folder = tmp_path / "moodle-folder"
    with zipfile.ZipFile(moodle_zip) as zf:
        zf.extractall(folder)
    assert detect(folder) == "moodle"
    plain = make_zip(tmp_path / "plain.zip", ["hw1.ipynb", "hw2.ipynb"])
    assert detect(plain) is None
    both = make_zip(tmp_path / "both.zip", ["doejane_12345_67890_ch03_1.ipynb",
                                            "Jane Doe_1001_assignsubmission_file_/ch03_1.ipynb"])
    assert detect(both) is None
    with pytest.raises(LMSError, match="--lms canvas or --lms moodle"):
        collect(plain, tmp_path / "private")
    with pytest.raises(LMSError, match=r"is it a Canvas download\? \(--lms canvas\)"):
        collect(canvas_zip, tmp_path / "private", kind="moodle")
    with pytest.raises(LMSError, match="unknown LMS"):
        collect(canvas_zip, tmp_path / "private", kind="blackboard")
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(LMSError, match="not a readable zip"):
        detect(tmp_path / "not.zip")


# --- refusing hostile archives ----------------------------------------------------------------

def refused(path: Path, tmp_path: Path, match: str, **limits) -> None:
    into = tmp_path / "private"
    with pytest.raises(LMSError, match=match):
        collect(path, into, **limits)
    assert files_in(into) == []


def test_refuses_names_outside_the_folder(tmp_path):
    good = "doejane_12345_67890_ch03_1.ipynb"
    for bad in ("../roebob_12346_67891_ch03_1.ipynb", "x/../../roebob_12346_67891_ch03_1.ipynb",
                "/tmp/roebob_12346_67891_ch03_1.ipynb", "..\\roebob_12346_67891_ch03_1.ipynb"):
        z = make_zip(tmp_path / "bad.zip", [good, bad])
        refused(z, tmp_path, "refused, member .* (absolute|'\\.\\.')")
    assert not (tmp_path / "roebob_12346_67891_ch03_1.ipynb").exists()


def test_refuses_symlink_members(tmp_path):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("doejane_12345_67890_ch03_1.ipynb", content("x"))
        link = zipfile.ZipInfo("roebob_12346_67891_ch03_1.ipynb")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    refused(z, tmp_path, "is a symbolic link")


def test_refuses_a_zip_bomb(tmp_path):
    """20 MB of zeros packs into ~20 KB: a ratio of ~1000, over the 200 allowed."""
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("doejane_12345_67890_ch03_1.ipynb", b"\0" * (20 * 1024 * 1024))
    assert z.stat().st_size < 1024 * 1024
    refused(z, tmp_path, "zip bomb")
    refused(z, tmp_path, "per file", max_member_mb=10)


def test_refuses_archives_over_the_limits(tmp_path):
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"s{i}_1234{i}_6789{i}_ch03_1.ipynb", os.urandom(600 * 1024))
    refused(z, tmp_path, "3 members, more than the 2 allowed", max_members=2)
    refused(z, tmp_path, "over the 0.5 MB allowed per file", max_member_mb=0.5)
    refused(z, tmp_path, "over the 1 MB allowed", max_total_mb=1)
    assert len(collect(z, tmp_path / "ok").submissions) == 3


def lie_about_size(data: bytes, size: int) -> bytes:
    """The zip with its one member's uncompressed size, in both headers, set to ``size``."""
    data = bytearray(data)
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, size)
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, size)
    return bytes(data)


def test_refuses_a_member_bigger_than_its_header_says(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doejane_12345_67890_ch03_1.ipynb", b" " * (300 * 1024))
    z = tmp_path / "liar.zip"
    z.write_bytes(lie_about_size(buffer.getvalue(), 1000))
    with zipfile.ZipFile(z) as zf:
        assert zf.infolist()[0].file_size == 1000  # the headers pass every limit
    refused(z, tmp_path, "does not match its header.*damaged or forged")


def test_budget_stops_extraction_at_the_real_bytes(tmp_path):
    """Extraction counts the bytes it writes against what is left of the total."""
    z = make_zip(tmp_path / "s.zip", ["doejane_12345_67890_ch03_1.ipynb"])
    with zipfile.ZipFile(z) as zf:
        info = zf.infolist()[0]
        with pytest.raises(LMSError, match="more than its header says"):
            lms._extract(zf, info, tmp_path / "out.ipynb", [info.file_size - 1], 10**9, z)


# --- filling Canvas's gradebook ---------------------------------------------------------------

def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade(points, top=10, feedback=""):
    return {"points": points, "max": top, "feedback": feedback}


def test_fill_canvas_one_assignment(tmp_path):
    src = FIXTURES / "canvas_gradebook.csv"
    before = sha(src)
    out = tmp_path / "import.csv"
    report = fill(src, "canvas", {"12345": grade(7.5), "12347": grade(10.0),
                                  "99999": grade(5)}, out)
    assert sha(src) == before  # never modified
    assert report.column == "Chapter 3 - tensors (2001)"
    assert report.filled == 2
    assert report.missing == ["12346", "12348", "12399"]
    assert report.absent == ["99999"]
    original = src.read_bytes()
    expected = original.replace(b'"Doe, Jane",12345,S001,jdoe,Section A,,',
                                b'"Doe, Jane",12345,S001,jdoe,Section A,7.5,', 1)
    expected = expected.replace(b'"Smith, Ann",12347,S003,asmith,Section B,4.00,',
                                b'"Smith, Ann",12347,S003,asmith,Section B,10,', 1)
    assert out.read_bytes() == expected  # every other byte as Canvas wrote it


def test_fill_canvas_missing_zero_never_overwrites(tmp_path):
    src = FIXTURES / "canvas_gradebook.csv"
    out = tmp_path / "import.csv"
    report = fill(src, "canvas", {"12345": grade(7.5)}, out, missing="zero")
    assert report.missing == ["12346", "12347", "12348", "12399"]
    rows = {r[1]: r for r in csv.reader(out.open(encoding="utf-8", newline=""))}
    assert rows["12345"][5] == "7.5"
    assert rows["12346"][5] == "0"  # was empty
    assert rows["12347"][5] == "4.00"  # a grade already entered stays
    assert rows["12348"][5] == "EX"  # excused stays excused
    assert rows["ID"][5] == "Chapter 3 - tensors (2001)"
    with pytest.raises(LMSError, match="use 'empty' or 'zero'"):
        fill(src, "canvas", {}, out, missing="fail")


def test_fill_canvas_scales_to_points_possible(tmp_path):
    out = tmp_path / "import.csv"
    report = fill(FIXTURES / "canvas_gradebook.csv", "canvas", {"12345": grade(7.6, top=12)}, out)
    rows = {r[1]: r for r in csv.reader(out.open(encoding="utf-8", newline=""))}
    assert rows["12345"][5] == "6.33"  # 7.6 of 12 is 6.33 of the column's 10 points possible
    assert report.notes == ["points out of 12 scaled to the LMS's 10"]


def test_fill_canvas_several_assignments(tmp_path):
    src = FIXTURES / "canvas_gradebook_several.csv"
    out = tmp_path / "import.csv"
    with pytest.raises(LMSError, match=r"2 assignment columns \(Chapter 3 \(2001\), "
                                       r"Chapter 4 \(2002\)\): pass the one"):
        fill(src, "canvas", {"12345": grade(7.5)}, out)
    with pytest.raises(LMSError, match="no assignment column 'Chapter 9'"):
        fill(src, "canvas", {"12345": grade(7.5)}, out, column="Chapter 9")
    with pytest.raises(LMSError, match="no assignment column 'Notes'"):
        fill(src, "canvas", {"12345": grade(7.5)}, out, column="Notes")
    original = src.read_bytes()
    assert original.startswith(b"\xef\xbb\xbf") and b"\r\n" in original
    for column in ("Chapter 3 (2001)", "Chapter 3", "2001"):
        report = fill(src, "canvas", {"12345": grade(7.5), "12346": grade(10, feedback="ok")},
                      out, column=column)
        assert report.column == "Chapter 3 (2001)"
        assert (report.filled, report.missing, report.absent) == (2, [], [])
        assert report.notes == [("Canvas's gradebook file has no feedback column: feedback not "
                                "written")]
        expected = original.replace(b'"=HYPERLINK(""http://example.com"")",,9.00',
                                    b'"=HYPERLINK(""http://example.com"")",7.5,9.00', 1)
        # Bob's cell was written quoted, empty: it stays quoted
        expected = expected.replace(b'"Section A and Section B",,"",',
                                    b'"Section A and Section B",,"10",', 1)
        assert out.read_bytes() == expected  # BOM, CRLF, Manual Posting row, Notes untouched
    report = fill(src, "canvas", {"12345": grade(11, top=12)}, out, column="Chapter 4")
    rows = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
    assert rows[3][7] == "11"  # out of 12, the column's own 12 points possible
    assert report.notes == []


def test_fill_canvas_unchanged_file_round_trips(tmp_path):
    for name in ("canvas_gradebook.csv", "canvas_gradebook_several.csv"):
        out = tmp_path / name
        fill(FIXTURES / name, "canvas", {}, out, column="2001")
        assert out.read_bytes() == (FIXTURES / name).read_bytes()


def test_fill_canvas_semicolons_and_sis_ids(tmp_path):
    """Canvas's "use semicolons" export setting, and matching by another column."""
    src = tmp_path / "export.csv"
    src.write_text("Student;ID;SIS User ID;SIS Login ID;Section;Chapter 3 (2001)\n"
                   "    Points Possible;;;;;10,00\n"
                   "Doe, Jane;12345;S001;jdoe;Section A;\n", encoding="utf-8")
    out = tmp_path / "import.csv"
    report = fill(src, "canvas", {"S001": grade(7.5)}, out, match_column="SIS User ID")
    assert report.filled == 1
    assert out.read_text(encoding="utf-8").splitlines()[2] == \
        "Doe, Jane;12345;S001;jdoe;Section A;7.5"
    with pytest.raises(LMSError, match="no student id column 'Email'"):
        fill(src, "canvas", {}, out, match_column="Email")


def test_fill_refuses_what_it_cannot_use(tmp_path):
    src = FIXTURES / "canvas_gradebook.csv"
    with pytest.raises(LMSError, match="the LMS's file itself"):
        fill(src, "canvas", {}, src)
    with pytest.raises(LMSError, match="not a Canvas gradebook export"):
        fill(FIXTURES / "moodle_worksheet.csv", "canvas", {}, tmp_path / "x.csv")
    with pytest.raises(LMSError, match="not a Moodle grading worksheet"):
        fill(src, "moodle", {}, tmp_path / "x.csv")
    (tmp_path / "latin1.csv").write_bytes("Student,ID\nJos\xe9,1\n".encode("latin-1"))
    with pytest.raises(LMSError, match="not UTF-8"):
        fill(tmp_path / "latin1.csv", "canvas", {}, tmp_path / "x.csv")


# --- filling Moodle's grading worksheet -------------------------------------------------------

def worksheet_rows(path: Path) -> dict[str, list[str]]:
    return {r[0]: r for r in csv.reader(path.open(encoding="utf-8", newline=""))}


def test_fill_moodle_by_identifier(tmp_path):
    src = FIXTURES / "moodle_worksheet.csv"
    before = sha(src)
    out = tmp_path / "upload.csv"
    report = fill(src, "moodle", {"1001": grade(8, feedback="Good work.\nSee x < 3 & y"),
                                  "1004": grade(9.25, feedback="fine"),
                                  "1010": grade(3)}, out)
    assert sha(src) == before
    assert (report.column, report.filled, report.missing, report.absent) == (
        "Grade", 2, ["1002", "1003"], ["1010"])
    assert report.notes == ["Moodle will not change the grades of 1004 (Grade can be changed: No)"]
    original = src.read_bytes()
    expected = original.replace(
        b'"Submitted for grading",,10.00,Yes,"Monday, 30 November 2026, 11:04 PM",-,\n',
        b'"Submitted for grading",8,10.00,Yes,"Monday, 30 November 2026, 11:04 PM",-,'
        b'Good work.<br>See x &lt; 3 &amp; y\n', 1)
    expected = expected.replace(
        b'"Submitted for grading",,10.00,No,"Monday, 30 November 2026, 10:00 PM",-,\n',
        b'"Submitted for grading",9.25,10.00,No,"Monday, 30 November 2026, 10:00 PM",-,fine\n', 1)
    assert out.read_bytes() == expected


def test_fill_moodle_by_email_scaled_and_zero(tmp_path):
    src = tmp_path / "worksheet.csv"
    src.write_bytes((FIXTURES / "moodle_worksheet.csv").read_bytes()
                    .replace(b",10.00,", b",100.00,"))
    out = tmp_path / "upload.csv"
    report = fill(src, "moodle", {"jane@example.edu": grade(7.5)}, out,
                  match_column="Email address", missing="zero")
    assert report.missing == ["bob@example.edu", "ann@example.edu", "li@example.edu"]
    assert report.notes == ["points out of 10 scaled to the LMS's 100"]
    rows = worksheet_rows(out)
    assert rows["Participant 1001"][4] == "75"
    assert rows["Participant 1002"][4] == "0"  # was empty
    assert rows["Participant 1003"][4] == "6.00"  # graded in Moodle already: left alone
    assert rows["Participant 1003"][9] == "<p>Earlier comment</p>"


def test_fill_moodle_feedback_is_formula_safe(tmp_path):
    out = tmp_path / "upload.csv"
    hostile = {"1001": "=HYPERLINK(\"http://evil\",\"click\")", "1002": "+1+1", "1003": "-2+3",
               "1004": "@SUM(A1)"}
    fill(FIXTURES / "moodle_worksheet.csv", "moodle",
         {k: grade(5, feedback=v) for k, v in hostile.items()}, out)
    rows = worksheet_rows(out)
    assert rows["Participant 1001"][9] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert rows["Participant 1002"][9] == "'+1+1"
    assert rows["Participant 1003"][9] == "'-2+3"
    assert rows["Participant 1004"][9] == "'@SUM(A1)"
    assert rows["Participant 1004"][1] == "=cmd|' /C calc'!A0"  # not written: as Moodle wrote it
    assert lms._safe("-2") == "-2" and lms._safe("7.5") == "7.5"  # numbers are numbers
    assert lms._safe("\tx") == "'\tx" and lms._safe("\rx") == "'\rx"
    assert lms._safe("  =1+1") == "'  =1+1" and lms._safe("fine") == "fine"


def test_fill_moodle_short_rows_are_padded(tmp_path):
    src = tmp_path / "worksheet.csv"
    src.write_text('Identifier,"Full name",Grade,"Last modified (grade)","Feedback comments"\n'
                   '"Participant 7",Ann\n', encoding="utf-8")
    out = tmp_path / "upload.csv"
    fill(src, "moodle", {"7": grade(4, feedback="ok")}, out)
    assert out.read_text(encoding="utf-8").splitlines()[1] == '"Participant 7",Ann,4,,ok'


def test_numbers_have_no_trailing_zero_noise():
    assert [lms._number(x) for x in (7.5, 10.0, 0.0, 6.333333, 1e-9, 12.10)] == [
        "7.5", "10", "0", "6.33", "0", "12.1"]
    with pytest.raises(LMSError):
        lms._number(float("nan"))
