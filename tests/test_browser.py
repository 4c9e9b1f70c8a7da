"""End to end: JupyterLab serves the chapter notebooks, headless Chromium runs them through the UI.

nbval runs kernels; this runs what a student sees. JupyterLab serves copies of the chapters (a run
in the UI rewrites a notebook's outputs and JupyterLab autosaves: the committed chapters must not
change), Chromium opens each one, clicks Run > Run All Cells and waits for every cell to finish,
runs one cell again and Run All once more, as readers do. After each Run All: no error or stderr
output anywhere in the page, as many figures as the committed chapter stores, and the saved
notebook has every code cell executed and the chapter's stored outputs (compared as strict nbval
compares). The kernels are stock ones (plain pip's) and compute as another CPU does
(tests/cpu_profiles.py), so this is also each chapter's portability test on its stored backend.
In ch03_2 the explorer widget redraws its plot when a slider moves. Screenshots go to
test-artifacts/browser/.

Chromium comes from Debian (`make test` installs it); Playwright only drives it, no browser
download.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from book_kit.notebook import convention, runner

from conftest import CHROMIUM, MIRROR, ROOT, free_port
from cpu_profiles import OTHER_CPU
from notebook_outputs import differences

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTEBOOK_TIMEOUT = float(os.environ.get("BOOK_KIT_BROWSER_TIMEOUT", 300))
EXPLORER_NOTEBOOK = "ch03_2_linear_classifier.ipynb"
SIDE_BY_SIDE_NOTEBOOK = "ch03_1_tensors_and_gradients.ipynb"
DIGITS_NOTEBOOK = "ch03_3_keras_and_mnist.ipynb"
# one worker runs them all: they share one JupyterLab and one Chromium
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

# JupyterLab settings for the test only: render every cell (JupyterLab 4 otherwise keeps only the
# cells near the viewport in the page) and no "Jupyter news?" pop-up over the screenshots.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}

# One JavaScript probe of the notebook in view: prompts, error/stderr outputs, figures.
PAGE_STATE = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return null;
  const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
      .map(e => e.textContent.trim());
  // JupyterLab renders errors and stderr alike; keyed by cell index (every cell is rendered)
  const stderr = [...nb.querySelectorAll('.jp-Cell')].flatMap((cell, index) =>
      [...cell.querySelectorAll(
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => [index, e.textContent.slice(0, 2000)]));
  const images = [...nb.querySelectorAll('.jp-OutputArea-output img')]
      .filter(img => !img.closest('.jupyter-widgets'));
  return {prompts, stderr, images: images.length};
}"""


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STOCK_KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=True"]  # ipykernel's own default


def _stored_figures(notebook: Path) -> int:
    """Figures a run shows as images (a widget's stored picture is shown as the widget)."""
    nb = nbformat.read(notebook, as_version=4)
    return sum("image/png" in output.get("data", {}) and WIDGET_VIEW not in output["data"]
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1, a random port and token, serving cleared copies of the chapters."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(apt-get install chromium chromium-driver).")
    home = tmp_path_factory.mktemp("lab")
    root = home / "served"
    root.mkdir()
    for chapter in CHAPTERS:
        nb = nbformat.read(chapter, as_version=4)
        for cell in nb.cells:  # the page must show this run's outputs, not the stored ones
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, root / chapter.name)
    # A stock kernel, as plain pip, conda and Colab give: ipykernel's default forwards what C++
    # writes to fd 2 into the cells (the command line wins over make install's quiet setting), so
    # only the chapter's own set-up (book_kit.setup_notebook()) can keep TensorFlow's lines out.
    # JUPYTER_DATA_DIR comes first among the kernel folders: this python3 replaces the venv's.
    stock = home / "data" / "kernels" / "python3"
    stock.mkdir(parents=True)
    (stock / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 *STOCK_KERNEL_ARGUMENTS],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"))
    for name in ("CI", "BOOK_KIT_STATIC_PLOTS", "KERAS_BACKEND"):  # a browser IS a live display
        env.pop(name, None)
    # ipykernel sends C-level output (TensorFlow's log lines) to cells except under pytest: the
    # kernels here must behave as make lab's do, so no stderr box escapes the test
    env.pop("PYTEST_CURRENT_TEST", None)
    if MIRROR.is_dir():  # MNIST for the kernels, offline
        env.setdefault("BOOK_KIT_DATA_MIRROR", str(MIRROR))
    env.update(runner.thread_settings())  # its kernels share the cores with the other test worker
    # The kernels compute as another CPU does (one thread, other vector kernels): the strict
    # comparison with the stored outputs is the chapter's portability test (test_chapters.py
    # runs only its other backends; test_workbooks.py runs it on this CPU's own kernels).
    env.update(OTHER_CPU)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "jupyterlab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.3)
        yield {"base": base, "token": token, "root": root}
    finally:
        _shut_down(server, base, token, log_path)


def _shut_down(server, base, token, log_path):
    """The clean way, as File > Shut Down does: POST /api/shutdown, then wait for the exit."""
    if server.poll() is None:
        request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=10)
            server.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            server.kill()
            server.wait()
            raise AssertionError("JupyterLab did not shut down cleanly:\n"
                                 + log_path.read_text()[-3000:])
    assert server.returncode == 0, log_path.read_text()[-3000:]


def _sessions(lab, name: str) -> list[dict]:
    """The server's sessions (notebook + kernel) for this notebook."""
    with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={lab['token']}",
                                timeout=10) as r:
        return [s for s in json.load(r) if s.get("path") == name]


def _kernel_state(lab, name: str) -> str | None:
    """The execution state of the kernel the server runs for this notebook (None: no kernel)."""
    states = [s["kernel"]["execution_state"] for s in _sessions(lab, name)]
    return states[0] if states else None


def _shut_down_kernel(lab, name: str) -> None:
    """Free the notebook's kernel (a loaded framework holds a GB or more) once it is checked."""
    for session in _sessions(lab, name):
        request = urllib.request.Request(
            f"{lab['base']}/api/sessions/{session['id']}?token={lab['token']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30)


def _open_with_kernel(page, lab, name: str) -> None:
    """Open the notebook and wait for its kernel, answering "Select Kernel" as a student would."""
    # a workspace of its own: JupyterLab would otherwise reopen the notebooks opened before
    workspace = Path(name).stem
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell",
                           timeout=120_000)
    deadline = time.time() + 120
    while _kernel_state(lab, name) != "idle":
        dialog = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
        if dialog.count():
            dialog.locator(".jp-mod-accept").click()
        if time.time() > deadline:
            pytest.fail(f"{name}: no idle kernel after 120 s (state {_kernel_state(lab, name)})")
        time.sleep(0.5)


def _expected_errors(chapter: Path) -> set[int]:
    """Cells that fail on purpose (tagged raises-exception: Run All goes on after them). Check
    cells are tagged too, but fail only on a wrong answer: in a workbook, not in the chapter."""
    nb = nbformat.read(chapter, as_version=4)
    return {i for i, cell in enumerate(nb.cells) if not convention.is_check_cell(cell)
            and "raises-exception" in cell.metadata.get("tags", [])}


def _wait_for_cells(page, lab, name: str, expected_errors: set[int], last_count: int,
                    what: str) -> dict:
    """Wait until the kernel has run up to execution count ``last_count`` and is idle; the page's
    state then (an error or stderr output ends the wait at once)."""
    deadline, state = time.time() + NOTEBOOK_TIMEOUT, None
    while time.time() < deadline:
        time.sleep(1)
        state = page.evaluate(PAGE_STATE)
        state["stderr"] = [text for index, text in state["stderr"] if index not in expected_errors]
        if state["stderr"]:  # an error stops Run All: report it at once
            break
        # Run All runs the cells in order, so the last one numbered is the end (a folded cell's
        # prompt is not redrawn while folded: the saved notebook's counts are checked after)
        prompts = state["prompts"]
        if prompts and prompts[-1] == f"[{last_count}]:" and not any("*" in p for p in prompts) \
                and _kernel_state(lab, name) == "idle":
            break
    else:
        page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}-timeout.png"))
        pytest.fail(f"{name}: {what} not finished after {NOTEBOOK_TIMEOUT:.0f} s (last prompt "
                    f"{state['prompts'][-1:]}, waiting for [{last_count}])")
    return state


def _run_all_cells(page, lab, chapter: Path, last_count: int, what: str) -> dict:
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    return _wait_for_cells(page, lab, chapter.name, _expected_errors(chapter), last_count, what)


def _rerun_one_cell(page, lab, chapter: Path, last_count: int) -> str:
    """Run one cell again, as a reader does between two Run Alls (Ctrl+Enter on it); its id.

    The cell: the middle one of the code cells a reader sees (not folded, not failing on
    purpose), so what it changes (random draws, names, variables) is still there when Run All
    starts again from the top."""
    nb = nbformat.read(chapter, as_version=4)
    visible = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
               and not c.metadata.get("jupyter", {}).get("source_hidden")
               and "raises-exception" not in c.metadata.get("tags", [])]
    index = visible[len(visible) // 2]
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()  # selects it (command mode)
    page.keyboard.press("Control+Enter")
    _wait_for_prompt(page, lab, chapter.name, index, last_count)
    return nb.cells[index].id


def _wait_for_prompt(page, lab, name: str, index: int, count: int) -> None:
    deadline = time.time() + NOTEBOOK_TIMEOUT
    prompt = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt")
    while prompt.inner_text().strip() != f"[{count}]:" or _kernel_state(lab, name) != "idle":
        if time.time() > deadline:
            pytest.fail(f"{name}: cell {index} not run again after {NOTEBOOK_TIMEOUT:.0f} s")
        time.sleep(0.5)


def _saved_notebook(page, lab, name: str):
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-current.jp-mod-dirty')",
                           timeout=30_000)
    return nbformat.read(lab["root"] / name, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_in_jupyterlab(lab, browser, chapter):
    """A reader's session in a stock kernel: Run All, one cell run again, Run All again. Both
    runs show no error or stderr output, as many figures as the chapter stores, and give the
    chapter's stored outputs (compared as strict nbval does, on an imitated other CPU)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    stored = nbformat.read(chapter, as_version=4)
    count = sum(c.cell_type == "code" for c in stored.cells)
    try:
        started = time.time()
        if chapter.name == EXPLORER_NOTEBOOK:
            _explorer_before_running(browser, lab)
        _open_with_kernel(page, lab, chapter.name)
        state = _run_all_cells(page, lab, chapter, count, "Run All")
        seconds = time.time() - started
        _check_page(page, chapter, state, "the first Run All")
        first = _saved_notebook(page, lab, chapter.name)
        _check_saved(first, chapter, stored, range(1, count + 1), "the first Run All")

        rerun = _rerun_one_cell(page, lab, chapter, count + 1)
        state = _run_all_cells(page, lab, chapter, 2 * count + 1, "the second Run All")
        _check_page(page, chapter, state, f"Run All after cell {rerun} ran again")
        second = _saved_notebook(page, lab, chapter.name)
        _check_saved(second, chapter, stored, range(count + 2, 2 * count + 2),
                     f"Run All after cell {rerun} ran again")

        if chapter.name == EXPLORER_NOTEBOOK:
            _check_explorer(page, chapter)
        elif chapter.name == SIDE_BY_SIDE_NOTEBOOK:
            _check_side_by_side_source(page, chapter)
        elif chapter.name == DIGITS_NOTEBOOK:
            _check_digit_captions(page, chapter)
        else:  # the last figure (or the last cell), as a student would scroll to it
            target = ".jp-OutputArea-output img" if state["images"] else ".jp-Notebook .jp-Cell"
            page.locator(target).last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{chapter.stem}.png"))
        print(f"{chapter.name}: first Run All {seconds:.0f} s in the browser, then cell {rerun} "
              f"again and Run All: {time.time() - started:.0f} s in all, {state['images']} figures")
        # JupyterLab logs to the console too; only its errors count, and none is expected
        assert not console_errors, console_errors
    finally:
        page.close()
        _shut_down_kernel(lab, chapter.name)


def _check_page(page, chapter: Path, state: dict, what: str) -> None:
    """What the reader sees after a Run All: no error or stderr box, maths and badge shown, the
    chapter's figures."""
    if state["stderr"]:
        page.screenshot(path=str(ARTIFACTS / f"{chapter.stem}-error.png"))
    assert not state["stderr"], f"{chapter.name}, {what}: error/stderr output:\n" + \
        "\n---\n".join(state["stderr"])
    # R code's `$` must not be read as maths (JupyterLab leaves @@0@@ where it took some out)
    garbled = page.evaluate("() => [...document.querySelectorAll('.jp-RenderedMarkdown')]"
                            ".map(e => e.textContent).filter(t => /@@\\d+@@/.test(t))")
    assert not garbled, f"{chapter.name}: markdown rendered with maths placeholders: {garbled}"
    # the Open in Colab badge, an image in the first cell, decoded (no network needed)
    badge = page.evaluate("""() => { const img = document.querySelector(
        '.jp-Notebook .jp-Cell:first-child .jp-RenderedMarkdown img[alt="Open in Colab"]');
        return img && img.complete && img.naturalWidth; }""")
    assert badge, f"{chapter.name}: no Open in Colab badge shown in the first cell"
    assert state["images"] == _stored_figures(chapter), \
        f"{chapter.name}, {what}: {state['images']} figures in the page, the chapter stores " \
        f"{_stored_figures(chapter)}"


def _check_saved(saved, chapter: Path, stored, counts: range, what: str) -> None:
    """The notebook JupyterLab saved: every code cell run in order, errors only where the chapter
    expects them, and the chapter's stored outputs."""
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(counts), f"{what}: cells the UI did not run"
    failed = [i for i, c in enumerate(saved.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    assert set(failed) == _expected_errors(chapter), f"{what}: cells with an error: {failed}"
    differ = differences(saved, stored)
    assert not differ, f"{chapter.name}, {what}: outputs differ from the stored ones:\n" + \
        "\n".join(differ)


def _explorer_before_running(browser, lab):
    """A reader who opens ch03_2 as stored (untrusted, as a fresh download is, and no kernel)
    sees, where the explorer will be, a picture of it and a sentence, not a bare VBox(...)."""
    import shutil

    shutil.copy(ROOT / "chapters" / EXPLORER_NOTEBOOK, lab["root"] / "stored-ch03_2.ipynb")
    page = browser.new_page()
    try:
        page.goto(f"{lab['base']}/lab/workspaces/stored/tree/stored-ch03_2.ipynb?reset"
                  f"&token={lab['token']}")
        cell = page.locator(".jp-CodeCell").filter(has_text="LinearClassifierExplorer(").first
        cell.locator(".jp-OutputArea-output img").wait_for(timeout=60_000)
        cell.scroll_into_view_if_needed()
        assert "VBox(" not in cell.locator(".jp-OutputArea").inner_text()
        page.screenshot(path=str(ARTIFACTS / "ch03_2-explorer-before-running.png"))
    finally:
        page.close()


def _check_explorer(page, chapter):
    """The explorer rendered as a widget, and moving its slider redraws its plot."""
    explorer = page.locator(".jupyter-widgets.widget-vbox").filter(has_text="learning rate").first
    explorer.scroll_into_view_if_needed()
    plot = explorer.locator("img")
    plot.wait_for(timeout=60_000)
    before = plot.get_attribute("src")
    steps = explorer.locator(".widget-slider").filter(has_text="steps")
    readout = steps.locator(".widget-readout")
    old_steps = readout.inner_text()
    box = steps.locator(".noUi-target").bounding_box()
    # a click on the track moves the handle there: 60 % of the way, 120 steps or so
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.wait_for_function("([el, old]) => el.textContent.trim() !== old",
                           arg=[readout.element_handle(), old_steps], timeout=10_000)
    # the redraw replaces the image element: look it up afresh each time
    page.wait_for_function("([box, old]) => { const img = box.querySelector('img');"
                           " return img && img.getAttribute('src') !== old; }",
                           arg=[explorer.element_handle(), before], timeout=60_000)
    new_steps = readout.inner_text()
    assert new_steps != old_steps and plot.get_attribute("src") != before
    page.screenshot(path=str(ARTIFACTS / f"{chapter.stem}-explorer.png"))
    print(f"explorer: steps {old_steps} -> {new_steps}, plot redrawn")
    # the learning-rate slider is wide enough to move in small steps ...
    rate = explorer.locator(".widget-slider").filter(has_text="learning rate")
    track = rate.locator(".noUi-target").bounding_box()
    assert track["width"] >= 400, f"learning-rate slider only {track['width']:.0f} px wide"
    # ... and at its top the training diverges, and the explorer says so
    before = explorer.locator("img").get_attribute("src")
    page.mouse.click(track["x"] + track["width"] - 1, track["y"] + track["height"] / 2)
    message = explorer.locator("text=Training diverged at step")
    message.wait_for(timeout=60_000)
    page.wait_for_function("([box, old]) => { const img = box.querySelector('img');"
                           " return img && img.getAttribute('src') !== old; }",
                           arg=[explorer.element_handle(), before], timeout=60_000)
    explorer.screenshot(path=str(ARTIFACTS / f"{chapter.stem}-explorer-diverged.png"))
    print(f"explorer: slider {track['width']:.0f} px; at the top: {message.inner_text()[:40]}")


def _check_side_by_side_source(page, chapter):
    """The three framework columns: highlighted, lines kept whole (scrolled, never broken)."""
    columns = page.locator(".jp-OutputArea-output pre").filter(has_text="def training_step")
    assert columns.count() == 3, columns.count()
    columns.first.scroll_into_view_if_needed()
    for i in range(3):
        style = columns.nth(i).evaluate(
            "e => ({ws: getComputedStyle(e).whiteSpace, wb: getComputedStyle(e).wordBreak,"
            " spans: e.querySelectorAll('span').length, font: getComputedStyle(e).fontSize,"
            " lines: e.textContent.split('\\n').length, height: e.clientHeight,"
            " lineHeight: parseFloat(getComputedStyle(e).lineHeight),"
            " clipped: e.scrollWidth > e.clientWidth + 1})")
        assert style["ws"] == "pre" and style["wb"] == "normal", style
        assert style["spans"] > 10, "not highlighted"
        assert not style["clipped"], "a line is cut off at the column's edge"
        assert float(style["font"].rstrip("px")) >= 12, style
        # as many rendered lines as source lines (a wrapped line would add one)
        rendered = round((style["height"] - 12) / style["lineHeight"])
        assert rendered <= style["lines"], style
    columns.first.locator("xpath=../..").screenshot(
        path=str(ARTIFACTS / f"{chapter.stem}-side-by-side.png"))


def _check_digit_captions(page, chapter):
    """The misclassified digits are shown at their own size, not shrunk to fit the page."""
    cell = page.locator(".jp-Cell").filter(has_text="misclassified").last
    image = cell.locator(".jp-OutputArea-output img").last
    image.scroll_into_view_if_needed()
    size = image.evaluate("e => ({shown: e.clientWidth, natural: e.naturalWidth,"
                          " declared: e.getAttribute('width')})")
    intended = float(size["declared"]) if size["declared"] else size["natural"]
    assert size["shown"] >= 0.95 * intended, f"digits shrunk to fit: {size}"
    image.screenshot(path=str(ARTIFACTS / f"{chapter.stem}-mistakes.png"))
