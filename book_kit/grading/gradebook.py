"""What ``book-kit grade`` writes: the class's tables, its web page, and each student's feedback.

- ``gradebook.csv``: a row per student and exercise (``student, exercise, passed, message,
  points, max_points, submission, late``);
- ``scores.csv``: a row per student, a column per exercise, then ``total, max, percent, late``,
  ready for a Canvas or Moodle import;
- ``gradebook.html``: the class, sortable by any column, with each exercise's pass rate and the
  distribution of scores;
- ``feedback/<student>.html``: that student's notebook as graded, each check followed by its
  verdict and reason, and nothing about anyone else.

Example
-------
>>> rows = [Row("alice", "ex1", True, "", points=2.0, max_points=2.0),
...         Row("bob", "ex1", False, "your answer is 6, expected 8", max_points=2.0)]
>>> Path("grades").mkdir()
>>> titles = {"ex1": "Exercise 1 (double)"}
>>> [r.student for r in write_all(rows, titles, "ch03_1.ipynb", Path("grades"))]
['alice', 'bob']
>>> sorted(p.name for p in Path("grades").iterdir())
['gradebook.csv', 'gradebook.html', 'grading.json', 'scores.csv']
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import re
import shutil
from pathlib import Path

from book_kit.notebook import convention
from book_kit.notebook.convention import exercise_id
from book_kit.tables import format_table


@dataclasses.dataclass
class Row:
    """One student's result on one exercise."""
    student: str
    exercise: str
    passed: bool
    message: str
    submission: str = ""
    points: float = 0.0
    max_points: float = 1.0
    late: bool = False


def _number(value: float) -> str:
    return f"{value:g}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) and is not a number gets a leading ``'`` (OWASP's
    advice against CSV injection: Excel, LibreOffice and Google Sheets evaluate such cells).

    Example
    -------
    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-2.5"), safe_cell("ada")
    ("'=HYPERLINK(1)", '-2.5', 'ada')
    """
    text = str(text)
    if text.startswith(_FORMULA_START):
        try:
            float(text)
            return text
        except ValueError:
            return "'" + text
    return text


def _unsafe_cell(text: str) -> str:
    """What :func:`safe_cell` was given (reading our own CSV back, for ``merge``)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def by_student(rows: list[Row]) -> dict[str, dict[str, Row]]:
    """The rows grouped as ``{student: {exercise: row}}``, in the order they come.

    Example
    -------
    >>> rows = [Row("alice", "ex1", True, "", points=2.0, max_points=2.0),
    ...         Row("alice", "ex2", False, "wrong on a hidden test", points=5.0, max_points=9.0)]
    >>> by_student(rows)["alice"]["ex1"].points
    2.0
    """
    table: dict[str, dict[str, Row]] = {}
    for r in rows:
        table.setdefault(r.student, {})[r.exercise] = r
    return table


def totals(results: dict[str, Row]) -> tuple[float, float]:
    """A student's ``(points, most points)``, each rounded to 2 decimals.

    Example
    -------
    >>> rows = [Row("alice", "ex1", True, "", points=2.0, max_points=2.0),
    ...         Row("alice", "ex2", False, "wrong on a hidden test", points=5.0, max_points=9.0)]
    >>> totals(by_student(rows)["alice"])
    (7.0, 11.0)
    """
    return (round(sum(r.points for r in results.values()), 2),
            round(sum(r.max_points for r in results.values()), 2))


def write_csv(rows: list[Row], path: Path) -> None:
    """``gradebook.csv``: a row per student and exercise."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", "passed", "message", "points", "max_points",
                         "submission", "late"])
        for r in rows:
            writer.writerow([safe_cell(r.student), safe_cell(r.exercise),
                             "yes" if r.passed else "no", safe_cell(r.message),
                             _number(r.points), _number(r.max_points), safe_cell(r.submission),
                             "yes" if r.late else "no"])


def write_scores(rows: list[Row], path: Path) -> None:
    """``scores.csv``: a row per student, a column of points per exercise, then the total."""
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *map(safe_cell, exercises), "total", "max", "percent",
                         "late"])
        for student, results in by_student(rows).items():
            total, most = totals(results)
            writer.writerow([safe_cell(student), *(_number(results[e].points) for e in exercises),
                             _number(total), _number(most),
                             f"{100 * total / most:.1f}" if most else "0.0",
                             "yes" if any(r.late for r in results.values()) else "no"])


def summary_table(rows: list[Row]) -> str:
    """The class at a glance, for the terminal."""
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    lines = [["student", "score", *exercises]]
    for student, results in by_student(rows).items():
        total, most = totals(results)
        marks = ["✔" if results[e].passed else ("~" if results[e].points else "✘")
                 for e in exercises]
        late = " (late)" if any(r.late for r in results.values()) else ""
        lines.append([student, f"{_number(total)}/{_number(most)}{late}", *marks])
    return format_table(lines[0], lines[1:])


def _histogram_svg(percents: list[float]) -> str:
    """The distribution of scores in ten bins of 10 %, as an inline SVG bar chart."""
    counts = [0] * 10
    for p in percents:
        counts[min(9, int(p // 10))] += 1
    top = max(counts) or 1
    bars = []
    for i, n in enumerate(counts):
        height = 120 * n / top
        label = f"{i * 10}–{i * 10 + 10} %: {n} student{'s' if n != 1 else ''}"
        # 20 px above the tallest bar for its count, 40 below for the labels: nothing clipped
        bars.append(f"<rect x='{40 + i * 36}' y='{140 - height:.1f}' width='30' "
                    f"height='{height:.1f}' fill='#0072B2'><title>{label}</title></rect>"
                    f"<text x='{55 + i * 36}' y='{135 - height:.1f}' font-size='11' "
                    f"text-anchor='middle'>{n or ''}</text>"
                    f"<text x='{55 + i * 36}' y='156' font-size='10' "
                    f"text-anchor='middle'>{i * 10}</text>")
    return ("<svg role='img' aria-label='distribution of scores' width='430' height='184' "
            "viewBox='0 0 430 184'>" + "".join(bars) + "<text x='220' y='178' font-size='11' "
            "text-anchor='middle'>score (%)</text></svg>")


_SORT_SCRIPT = """
document.querySelectorAll('th.sortable').forEach((th, column) =>
    th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const rows = Array.from(body.rows);
  const ascending = th.dataset.order !== 'asc';
  th.dataset.order = ascending ? 'asc' : 'desc';
  const key = row => { const cell = row.cells[column];
                       const v = cell.dataset.value ?? cell.textContent;
                       return isNaN(parseFloat(v)) ? v.toLowerCase() : parseFloat(v); };
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (ascending ? 1 : -1));
  rows.forEach(row => body.appendChild(row));
}));
"""

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th.sortable{cursor:pointer;background:#f3f3f3}th.sortable:hover{background:#e4e4e4}
td.score{white-space:nowrap}.ok{color:#009E73}.partial{color:#b07000}.no{color:#D55E00}.late{color:#D55E00;font-weight:bold}
small{color:#444;display:block;max-width:26em}tfoot td{background:#fafafa}"""


def write_class_html(rows: list[Row], titles: dict[str, str], chapter: str, path: Path) -> None:
    """``gradebook.html``: every student and exercise, sortable, with pass rates and a histogram."""
    table = by_student(rows)
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    head = "".join(f"<th class='sortable' title='{html.escape(titles.get(e, e))}'>"
                   f"{html.escape(e)}</th>" for e in exercises)
    body, percents = [], []
    for student, results in table.items():
        total, most = totals(results)
        percent = 100 * total / most if most else 0.0
        percents.append(percent)
        late = any(r.late for r in results.values())
        cells = []
        for e in exercises:
            r = results[e]
            kind = "ok" if r.passed else ("partial" if r.points else "no")
            reason = "" if r.passed else f"<small>{html.escape(r.message)}</small>"
            cells.append(f"<td class='{kind}' data-value='{r.points}'>"
                         f"{_number(r.points)}/{_number(r.max_points)}{reason}</td>")
        page = html.escape(feedback_file(Path("."), student).as_posix(), quote=True)
        body.append(f"<tr><th><a href='{page}'>{html.escape(student)}</a></th>"
                    f"<td class='score' data-value='{percent:.2f}'>"
                    f"{_number(total)}/{_number(most)} ({percent:.0f} %)</td>"
                    f"<td class='{'late' if late else ''}'>{'late' if late else ''}</td>"
                    + "".join(cells) + "</tr>")
    rates = "".join(
        f"<td>{100 * sum(table[s][e].passed for s in table) / len(table):.0f} % passed</td>"
        for e in exercises)
    legend = "".join(f"<li><b>{html.escape(e)}</b>: {html.escape(titles.get(e, e))}</li>"
                     for e in exercises)
    mean = sum(percents) / len(percents) if percents else 0.0
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gradebook: {html.escape(chapter)}</title>
<style>{_STYLE}</style></head>
<body><h1>Gradebook: {html.escape(chapter)}</h1>
<p>{len(table)} students, mean score {mean:.0f} %. Click a column's heading to sort by it.</p>
<table><thead><tr><th class='sortable'>student</th><th class='sortable'>score</th>
<th class='sortable'>late</th>{head}</tr></thead>
<tbody>{''.join(body)}</tbody>
<tfoot><tr><th>pass rate</th><td></td><td></td>{rates}</tr></tfoot></table>
<h2>Distribution of scores</h2>{_histogram_svg(percents)}
<h2>Exercises</h2><ul>{legend}</ul>
<script>{_SORT_SCRIPT}</script></body></html>
""", encoding="utf-8")


def feedback_file(out_dir: Path, student: str) -> Path:
    """``feedback/<student>.html``, with folder separators in a name made safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return out_dir / "feedback" / f"{safe}.html"


def write_feedback(graded_nb, results: list[Row], titles: dict[str, str], chapter: str,
                   path: Path) -> None:
    """A student's graded notebook, each check cell followed by its verdict, as one HTML page.

    ``graded_nb`` is None when the submission could not be run; the page then gives the reason.
    Markdown is rendered with its raw HTML escaped (mistune) and its maths as MathML (no script,
    so the page works offline), code highlighted (Pygments): a submission is not trusted to put
    scripts into a page its student or instructor opens (:mod:`book_kit.grading.markdown_html`).
    Each verdict names and links to its section (the nearest heading above its check cell); the
    verdicts at the top link to their places in the notebook.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    from book_kit.grading import markdown_html  # mistune, only when a page is written

    ids: set[str] = set()  # the page's ids: headings' and verdicts'
    markdown = markdown_html.Markdown(ids)
    formatter = HtmlFormatter(cssclass="code")
    total = sum(r.points for r in results)
    most = sum(r.max_points for r in results)
    student = results[0].student if results else ""
    by_exercise = {r.exercise: r for r in results}
    sections: dict[str, tuple[str, str]] = {}  # exercise -> its section's (id, heading's HTML)
    anchors: dict[str, str] = {}  # exercise -> the id of its verdict in the notebook

    def verdict(r: Row, anchor: str | None = None, link: str | None = None) -> str:
        kind = "ok" if r.passed else ("partial" if r.points else "no")
        text = "✔ correct" if r.passed else f"✘ {html.escape(r.message)}"
        title = html.escape(titles.get(r.exercise, r.exercise))
        if link:
            title = f"<a href='#{link}'>{title}</a>"
        where = ""
        if r.exercise in sections:
            section, heading = sections[r.exercise]
            # the heading as rendered (escaped, maths and all), less its own links: no link
            # may stand inside another
            heading = re.sub(r"</?a\b[^>]*>", "", heading)
            where = f"<div class='section'>Section: <a href='#{section}'>{heading}</a></div>"
        anchored = f" id='{anchor}'" if anchor else ""
        return (f"<div class='verdict {kind}'{anchored}><b>{title}: {_number(r.points)} of "
                f"{_number(r.max_points)} points.</b> {text}{where}</div>")

    notebook_parts = []
    for cell in (graded_nb.cells if graded_nb is not None else []):
        if cell.cell_type == "markdown":
            notebook_parts.append(f"<div class='markdown'>{markdown(cell.source)}</div>")
        elif cell.cell_type == "code":
            notebook_parts.append(highlight(cell.source, PythonLexer(), formatter))
            exercise = exercise_id(cell) if convention.is_check_cell(cell) else None
            if exercise not in by_exercise:
                continue
            anchor = None
            if exercise not in anchors:  # its first check cell: the one the top links to
                if markdown.section:
                    sections[exercise] = markdown.section
                anchor = anchors[exercise] = markdown_html.unique_id(
                    "exercise-" + re.sub(r"[^A-Za-z0-9_-]+", "-", exercise), ids)
            notebook_parts.append(verdict(by_exercise[exercise], anchor=anchor))
    parts = [f"<h1>Feedback: {html.escape(student)}, {html.escape(chapter)}</h1>",
             f"<p><b>{_number(total)} of {_number(most)} points.</b>"
             + (" Submitted after the deadline." if any(r.late for r in results) else "")
             + "</p>", "".join(verdict(r, link=anchors.get(r.exercise)) for r in results),
             *notebook_parts]
    path.parent.mkdir(parents=True, exist_ok=True)
    # maths in a font with OpenType MATH tables where the system has one (macOS, Windows, TeX,
    # Linux's DejaVu): in the default serif font a displayed sum stays small, its limits cramped
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {html.escape(student)}, {html.escape(chapter)}</title>
<style>{_STYLE}
body{{max-width:60em}}.code{{background:#f6f6f6;padding:2px 8px;border:1px solid #ddd}}
.verdict{{margin:4px 0 14px 0;padding:6px 10px;border-left:4px solid}}
.verdict.ok{{border-color:#009E73}}.verdict.partial{{border-color:#b07000}}
.verdict.no{{border-color:#D55E00}}.verdict .section{{font-size:90%;color:#444;margin-top:2px}}
.verdict:target{{background:#fff8dc}}math[display=block]{{margin:0.6em 0}}
math{{font-family:'STIX Two Math','Cambria Math','Latin Modern Math','DejaVu Math TeX Gyre',math}}
code.tex{{color:#8a1c1c}}{formatter.get_style_defs('.code')}</style></head>
<body>{''.join(parts)}</body></html>
""", encoding="utf-8", errors="replace")  # a lone surrogate in a submission: shown as ?


def write_all(rows: list[Row], titles: dict[str, str], chapter: str, out_dir: Path) -> list[Row]:
    """The class's files (``gradebook.csv``, ``scores.csv``, ``gradebook.html``, and
    ``grading.json`` for :func:`merge`), students in sorted order; returns the rows so sorted."""
    rows = sorted(rows, key=lambda r: r.student)  # stable: exercises keep the chapter's order
    write_csv(rows, out_dir / "gradebook.csv")
    write_scores(rows, out_dir / "scores.csv")
    write_class_html(rows, titles, chapter, out_dir / "gradebook.html")
    (out_dir / "grading.json").write_text(json.dumps({"chapter": chapter, "titles": titles}))
    return rows


def read_csv(path: Path) -> list[Row]:
    """The rows of a ``gradebook.csv`` (as :func:`write_csv` wrote them)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(_unsafe_cell(r["student"]), _unsafe_cell(r["exercise"]), r["passed"] == "yes",
                    _unsafe_cell(r["message"]), _unsafe_cell(r["submission"]),
                    float(r["points"]), float(r["max_points"]), r["late"] == "yes")
                for r in csv.DictReader(f)]


def merge(folders: list[Path], out_dir: Path) -> list[Row]:
    """Combine the output folders of ``grade --shard K/N`` runs into one class's: the same files
    a single run over the whole class writes."""
    rows, titles, chapter = [], {}, None
    for folder in folders:
        try:
            info = json.loads((Path(folder) / "grading.json").read_text())
            shard_rows = read_csv(Path(folder) / "gradebook.csv")
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"{folder} is not the output of book-kit grade ({e})") from None
        if chapter not in (None, info["chapter"]):
            raise ValueError(f"{folder} graded {info['chapter']}, the others {chapter}")
        chapter, titles = info["chapter"], info["titles"]
        twice = {r.student for r in shard_rows} & {r.student for r in rows}
        if twice:
            raise ValueError(f"graded in two of the folders: {', '.join(sorted(twice))}")
        rows += shard_rows
        for sub in ("feedback", ".cache"):
            if (Path(folder) / sub).is_dir():
                shutil.copytree(Path(folder) / sub, Path(out_dir) / sub, dirs_exist_ok=True)
    if chapter is None:
        raise ValueError("no folders to merge")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_all(rows, titles, chapter, Path(out_dir))


def lms_grades(rows: list[Row], max_feedback: int = 2000) -> dict[str, dict]:
    """Each student's total for the LMS's gradebook file (``book_kit.grading.lms.fill``):
    ``{student: {"points", "max", "feedback"}}``, the feedback a line per exercise.

    Example
    -------
    >>> rows = [Row("12345", "ex1", True, "", points=2.5, max_points=2.5),
    ...         Row("12345", "ex2", False, "wrong on a hidden test", points=5.0, max_points=7.5)]
    >>> lms_grades(rows)["12345"]["points"]
    7.5
    >>> print(lms_grades(rows)["12345"]["feedback"])
    ex1: 2.5/2.5
    ex2: 5/7.5 (wrong on a hidden test)
    """
    grades = {}
    for student, results in by_student(rows).items():
        total, most = totals(results)
        lines = [f"{r.exercise}: {_number(r.points)}/{_number(r.max_points)}"
                 + ("" if r.passed else f" ({r.message})") for r in results.values()]
        grades[student] = {"points": total, "max": most,
                           "feedback": "\n".join(lines)[:max_feedback]}
    return grades
