"""The companion website (`make site`): built from the stored outputs, checked in Chromium.

Every page loads with no console error and no failed request (the site is served from a local
folder with no network: MathJax and the theme come with it), every figure the chapter stores is
an image that decoded, the side-by-side source is framework tabs that switch, search finds a
chapter, the crosswalk is a page. Screenshots go to test-artifacts/site/.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading

import nbformat
import pytest

from book_kit.publishing import site

from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("ch*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts" / "site"
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("site")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The site built into a temporary folder and served on 127.0.0.1."""
    out = site.build(tmp_path_factory.mktemp("site") / "html")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@contextlib.contextmanager
def _page(browser, url: str, screenshot: str):
    """A page at ``url``; afterwards a screenshot, and no console error or failed request."""
    page = browser.new_page()
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        response = page.goto(url, wait_until="networkidle")
        assert response.ok, (url, response.status)
        yield page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / screenshot))
        assert not errors, errors
        assert not failed, failed
    finally:
        page.close()


def _stored_figures(chapter) -> int:
    nb = nbformat.read(chapter, as_version=4)
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def test_the_site_is_built_from_the_stored_outputs_without_running_anything(served):
    out, _ = served
    pages = {p.stem for p in out.glob("*.html")}
    assert {c.stem for c in CHAPTERS} | {"index", "crosswalk", "search"} <= pages
    source = out.parent / f"{out.name}-source"
    for chapter in CHAPTERS:  # the page's notebook keeps every stored output but the set-up's
        page_nb = nbformat.read(source / chapter.name, as_version=4)
        assert "colab-setup" not in [c.get("id") for c in page_nb.cells]
        assert _stored_figures(source / chapter.name) == _stored_figures(chapter)


@pytest.mark.parametrize("name", ["index", "crosswalk"] + [c.stem for c in CHAPTERS])
def test_every_page_loads_with_its_figures_and_no_error(served, browser, name):
    _, base = served
    with _page(browser, f"{base}/{name}.html", f"{name}.png") as page:
        images = page.evaluate("""() => [...document.querySelectorAll('article img')]
            .map(img => ({src: img.getAttribute('src').slice(0, 60), ok: img.complete
                          && img.naturalWidth > 0}))""")
        assert all(image["ok"] for image in images), [i for i in images if not i["ok"]]
        chapter = ROOT / "chapters" / f"{name}.ipynb"
        if chapter.exists():
            figures = [i for i in images if "open-in-colab" not in i["src"]]
            assert len(figures) == _stored_figures(chapter), (len(figures), name)
            assert page.locator("article img[alt='Open in Colab']").count() == 1
            assert page.locator("article h1").count() == 1
        if name.startswith("ch03_1"):  # MathJax, served by the site itself, typesets the maths
            page.wait_for_selector("mjx-container", timeout=20_000)


def test_side_by_side_source_is_tabs_that_switch(served, browser):
    _, base = served
    with _page(browser, f"{base}/{CHAPTERS[0].stem}.html", "tabs-jax.png") as page:
        tabs = page.locator(".sd-tab-set").first
        labels = [t.strip() for t in tabs.locator("label").all_inner_texts()]
        assert labels == ["TensorFlow", "PyTorch", "JAX"]
        panels = tabs.locator(".sd-tab-content")
        assert panels.nth(0).is_visible() and not panels.nth(1).is_visible()
        assert "tf.GradientTape" in panels.nth(0).inner_text()
        tabs.locator("label", has_text="PyTorch").click()
        assert panels.nth(1).is_visible() and not panels.nth(0).is_visible()
        assert "backward()" in panels.nth(1).inner_text()
        tabs.locator("label", has_text="JAX").click()
        assert panels.nth(2).is_visible() and "grad_fn" in panels.nth(2).inner_text()


def test_search_finds_the_chapter_that_teaches_a_word(served, browser):
    _, base = served
    with _page(browser, f"{base}/search.html?q=GradientTape", "search.png") as page:
        results = page.locator("#search-results li a")
        results.first.wait_for(timeout=20_000)
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
        assert any(CHAPTERS[0].stem in href for href in hrefs), hrefs


def test_the_crosswalk_page_shows_r_code_as_code_not_maths(served, browser):
    _, base = served
    with _page(browser, f"{base}/crosswalk.html", "crosswalk-table.png") as page:
        text = page.locator("article").inner_text()
        assert "tf$ones" in text and "tf.ones" in text
        assert page.locator("article table").count() >= 1
        assert page.locator("article mjx-container").count() == 0  # no $...$ taken for maths
