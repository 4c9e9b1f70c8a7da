import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# pytest-xdist runs this many workers, each starting kernels: they share the cores
# (book_kit.notebook.runner.thread_settings). Set here, in each worker, for every kernel it starts.
os.environ.setdefault("BOOK_KIT_KERNEL_JOBS", os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
# The offline MNIST mirror: CI sets BOOK_KIT_DATA_MIRROR; a checkout beside shared/ finds it too.
MIRROR = Path(os.environ.get("BOOK_KIT_DATA_MIRROR") or ROOT.parent / "shared" / "datasets")
# Debian's Chromium, driven by Playwright (tests/test_browser.py, tests/test_site.py)
CHROMIUM = os.environ.get("BOOK_KIT_CHROMIUM", "/usr/bin/chromium")
# The flags that work offline here: without the background-networking ones Chromium keeps
# trying Google's hosts, and the closed network refuses each attempt.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run_python(code: str, *, env: dict | None = None, timeout: float = 300
               ) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (a fresh process is the only honest way to test imports,
    backend choice and seeding)."""
    full_env = dict(os.environ)
    full_env.pop("KERAS_BACKEND", None)
    full_env.update(env or {})
    full_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=ROOT)


PACKAGE = ROOT / "book_kit"


def module_name(path) -> str:
    """book_kit/plots/figures.py -> "book_kit.plots.figures" (a package's __init__: the package)."""
    return ".".join(("book_kit", *Path(path).relative_to(PACKAGE).with_suffix("").parts)) \
        .removesuffix(".__init__")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a JupyterLab under test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def py():
    return run_python


# Rough seconds of the longest tests on 2 cores (measured with
# `make test PYTEST_ARGS=--durations=30`, 2026-12-03).
# pytest-xdist hands out tests in collection order; the longest first lets the two workers
# finish together instead of one idling while the other runs a 4-minute notebook at the end.
ROUGH_SECONDS = {
    "test_browser.py": 300,  # one unit: the whole group (about 20 minutes) runs on one worker
    "ch03_3_keras_and_mnist-torch": 255, "ch03_4_keras_extras-torch": 250,
    "ch03_3_keras_and_mnist-tensorflow": 190, "ch03_4_keras_extras-tensorflow": 110,
    "test_workbook_reproduces_its_chapter_and_fails_exactly_at_its_checks[ch03_4": 175,
    "test_workbook_reproduces_its_chapter_and_fails_exactly_at_its_checks[ch03_3": 135,
    "test_nbgrader_autogrades": 110, "test_grading_a_hostile_class": 105,
    "test_quick_benchmark": 95, "test_a_model_scores_what_the_grader_measures": 80,
    "test_grading_a_real_chapter": 60, "test_a_class_gets_points": 60, "test_cluster.py": 45,
    "test_workbook_reproduces_its_chapter_and_fails_exactly_at_its_checks[ch03_5": 55,
    "test_workbook_reproduces_its_chapter_and_fails_exactly_at_its_checks[ch03_2": 40,
    "test_keras_first_weights_do_not_depend": 40,
    "test_workbook_reproduces_its_chapter_and_fails_exactly_at_its_checks[ch03_1": 35,
    "test_set_seed_seeds_frameworks_imported_later": 35,
    "test_seeded_keras_fit_is_bit_identical": 30, "test_a_canvas_download": 30,
    "test_a_moodle_download": 30, "test_no_kernel_outlives": 30,
    "test_a_build_cut_short": 50,
}


def _rough_seconds(item) -> float:
    seconds = [s for name, s in ROUGH_SECONDS.items() if name in item.nodeid]
    if seconds:
        return max(seconds)
    return 10 if item.get_closest_marker("slow") else 1


def pytest_collection_modifyitems(items):
    items.sort(key=_rough_seconds, reverse=True)  # stable: equal costs keep their order


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium (a fresh profile) for the browser tests of one module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(apt-get install chromium chromium-driver).")
    from playwright import sync_api  # a dev dependency: `make test` installs it
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()
