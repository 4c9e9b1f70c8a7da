"""Feedback pages (``gradebook.write_feedback``) written straight from a small notebook, no
sandbox or kernel: maths as MathML, nothing a submission writes becomes markup, and every verdict
names and links to its section."""

from html.parser import HTMLParser

import nbformat
import pytest

from book_kit.grading import gradebook, markdown_html
from book_kit.grading.gradebook import Row

from conftest import ROOT

TITLES = {"ex1": "Exercise 1 (a gradient)", "ex2": "Exercise 2 (a second derivative)"}


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, the ids it defines, and the links inside
    its verdict boxes."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.verdict_links: list[str] = []
        self._divs, self._verdict = 0, None  # how deep in divs; that of the verdict we are in
        self.feed(page)
        self.ids = [a["id"] for _, a in self.tags if "id" in a]

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag == "div":
            self._divs += 1
            if "verdict" in attrs.get("class", "").split():
                self._verdict = self._divs
        elif tag == "a" and self._verdict is not None:
            self.verdict_links.append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "div":
            if self._divs == self._verdict:
                self._verdict = None
            self._divs -= 1


def _notebook(*markdown_cells: str):
    """A graded notebook: the markdown cells, then two exercises under their own sections."""
    cells = [nbformat.v4.new_markdown_cell(m) for m in markdown_cells]
    cells += [
        nbformat.v4.new_markdown_cell("## 3.6.4 The compile step\nFor $g(x) = x^3 - 2x$, "
                                      "compute $g'(1.5)$:\n\n$$\n\\frac{d}{dx} g(x)\n$$"),
        nbformat.v4.new_code_cell("price = '$5 and $x$'  # a dollar in code"),
        nbformat.v4.new_code_cell("exercise.check(g, expected=4.75)"),
        nbformat.v4.new_markdown_cell("### Exercise 2 — a second derivative\nNo maths here, "
                                      "but `$h''(1)$` in code, and a fence:\n\n```\n$x$\n```"),
        nbformat.v4.new_code_cell("exercise.check(h, expected=1.0)"),
    ]
    cells[-3].id, cells[-1].id = "ex1-check", "ex2-check"
    return nbformat.v4.new_notebook(cells=cells)


def _rows(student="ada"):
    return [Row(student, "ex1", True, "", points=1.0),
            Row(student, "ex2", False, "wrong", points=0.0)]


def _page(tmp_path, nb, rows=None) -> str:
    path = tmp_path / "feedback" / "ada.html"
    gradebook.write_feedback(nb, rows or _rows(), TITLES, "ch03_1.ipynb", path)
    return path.read_text(encoding="utf-8")


def test_feedback_maths_is_mathml_and_a_dollar_in_code_stays_a_dollar(tmp_path):
    page = _page(tmp_path, _notebook())
    tags = _Tags(page)
    names = [t for t, _ in tags.tags]
    assert names.count("math") == 3  # two inline, one displayed; nothing to fetch, no script
    assert [a.get("display") for t, a in tags.tags if t == "math"] == ["inline", "inline", "block"]
    assert "mfrac" in names and "msup" in names
    assert "$g(x)" not in page and "\\frac" not in page
    assert "<code>$h''(1)$</code>" in page
    assert "$x$\n</code></pre>" in page  # the fenced block too
    assert "$5 and $x$" in page  # the code cell, highlighted as it is
    assert "<script" not in page and "src=" not in page and "http" not in page.split("<body>")[0]


def test_tex_the_converter_cannot_read_is_shown_as_source():
    assert markdown_html.mathml("\\frac{1}{") == "<code class='tex'>$\\frac{1}{$</code>"
    assert markdown_html.mathml("{" * 5000 + "x" + "}" * 5000, "block").startswith(
        "<code class='tex'>$${{{")  # too deep for the converter: source, not a failed page
    assert markdown_html.mathml("x^2").startswith("<math display=\"inline\"><mrow><msup>")
    assert "&amp;#xD800;" in markdown_html.mathml("\\text{&#xD800;}")  # no lone surrogate


HOSTILE = [
    "<script>alert(1)</script> <img src=x onerror=alert(1)> <a href='javascript:alert(1)'>a</a>",
    "[link](javascript:alert(1)) ![img](javascript:alert(1)) <javascript:alert(1)>",
    "$<script>alert(1)</script>$ and $$</math><script>alert(2)</script>$$",
    ("$\\href{javascript:alert(1)}{click}$ $\\text{<svg/onload=alert(1)>}$ "
     "$\\text{<img src=x onerror=alert(1)>}$ $\\mathrm{&lt;script&gt;}$"),
    '$\\color{red" onmouseover="alert(1)}{x}$ $\\style{color:red}{x}$ $\\class{x}{y}$',
    ("# Heading <b onclick=alert(1)>$\\href{javascript:x}{y}$</b>\n\n$$\n\\text{</mtext>"
     "<script>alert(3)</script>}\n$$"),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_markdown_and_maths_make_no_script_handler_or_link(tmp_path, hostile):
    page = _page(tmp_path, _notebook(hostile))
    tags = _Tags(page)
    for tag, attrs in tags.tags:
        assert tag not in ("script", "svg", "iframe", "object", "embed", "form", "base"), tag
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "xlink:href", "action", "formaction"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), (tag, attrs)
        if tag == "a":  # the only links: in the page itself
            assert attrs["href"].startswith("#"), attrs
        assert "style" not in attrs and "mathcolor" not in attrs, (tag, attrs)


def test_each_verdict_links_to_its_section_and_the_summary_to_each_verdict(tmp_path):
    page = _page(tmp_path, _notebook("# My notes\n## 3.6.4 The compile step"))  # its id taken
    tags = _Tags(page)
    assert len(tags.ids) == len(set(tags.ids))  # unique
    links = tags.verdict_links
    assert links and all(link.startswith("#") and link[1:] in tags.ids for link in links), links
    # the summary's two boxes link to the notebook's two, which link to their sections
    assert links[:4] == ["#exercise-ex1", "#sec-3-6-4-the-compile-step-2",
                         "#exercise-ex2", "#sec-exercise-2-a-second-derivative"]
    assert links[4:] == ["#sec-3-6-4-the-compile-step-2", "#sec-exercise-2-a-second-derivative"]
    assert "Section: <a href='#sec-3-6-4-the-compile-step-2'>3.6.4 The compile step</a>" in page
    assert page.index("id='exercise-ex1'") > page.index("compute")  # after its check cell
    assert "<h2 id='sec-3-6-4-the-compile-step-2'>3.6.4 The compile step</h2>" in page


def test_a_page_without_a_notebook_links_nowhere(tmp_path):
    page = _page(tmp_path, None, [Row("ada", "ex1", False, "no submission")])
    assert "no submission" in page and "href" not in page


@pytest.mark.browser
def test_chromium_lays_the_maths_out_from_the_file_alone(tmp_path, browser):
    """Opened from disk, as from a zip on a laptop: no request but the file, and the MathML
    laid out as maths (a fraction's numerator above its denominator, an exponent raised)."""
    _page(tmp_path, _notebook())
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto((tmp_path / "feedback" / "ada.html").as_uri(), wait_until="load")
        box = page.evaluate("""() => {
            const top = e => e.getBoundingClientRect().top;
            const bottom = e => e.getBoundingClientRect().bottom;
            const [numerator, denominator] = document.querySelector('mfrac').children;
            const [base, exponent] = document.querySelector('msup').children;
            return {numerator: bottom(numerator), denominator: top(denominator),
                    base: top(base), exponent: top(exponent)};
        }""")
        artifacts = ROOT / "test-artifacts" / "feedback"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "maths.png"), full_page=True)
    finally:
        page.close()
    assert box["numerator"] <= box["denominator"] + 1, box
    assert box["exponent"] < box["base"], box
    assert all(url.startswith("file:") for url in requests), requests
    assert not errors, errors
