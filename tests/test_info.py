import re
import subprocess
import sys

import pytest

from book_kit import sysinfo as info_module


@pytest.fixture
def keras_not_loaded(monkeypatch):
    """info() reports the backend of a Keras already imported in this process (another test in
    the same pytest worker may have imported it); these tests are about the environment instead."""
    monkeypatch.delitem(sys.modules, "keras", raising=False)


def test_cli_info_reports_versions_backend_and_devices():
    out = subprocess.run([sys.executable, "-m", "book_kit.cli", "info"], capture_output=True,
                         text=True, env={"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin"},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for name in ("python", "numpy", "keras", "tensorflow", "torch", "jax"):
        assert f"\n{name} " in "\n" + text
    assert "keras backend       jax (from KERAS_BACKEND)" in text
    for framework in ("tensorflow", "torch", "jax"):
        assert f"{framework} devices" in text and "cpu:0" in text


def test_installed_versions_match_the_pins():
    pins = info_module.pinned_versions()
    assert {"keras", "torch", "jax", "tensorflow-cpu"} <= set(pins)
    report = info_module.info(devices=False)
    assert not [w for w in report.warnings if "tested with" in w], report.warnings


def test_warns_about_legacy_keras_and_bad_backend(monkeypatch, keras_not_loaded):
    real = info_module.installed_version
    monkeypatch.setattr(info_module, "installed_version",
                        lambda *d: "2.17.0" if d[0] == "tf-keras" else real(*d))
    monkeypatch.setenv("KERAS_BACKEND", "pytorch")
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    report = info_module.info(devices=False)
    text = str(report)
    assert "tf_keras (legacy Keras 2) is installed" in text
    assert "TF_USE_LEGACY_KERAS is set" in text
    assert "KERAS_BACKEND is not valid" in text and "use 'torch'" in text


def test_warns_when_chosen_backend_is_missing(monkeypatch, keras_not_loaded):
    real = info_module.installed_version
    monkeypatch.setattr(info_module, "installed_version",
                        lambda *d: None if d[0] == "torch" else real(*d))
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    text = str(info_module.info(devices=False))
    assert "Keras will use 'torch' but it is not installed: pip install 'book_kit[torch]'" in text


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "book_kit.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_info_asks_the_frameworks_only_when_a_build_could_see_more_than_the_cpu():
    quick = _cli("info")
    assert quick.returncode == 0, quick.stderr
    # the pinned builds here are CPU-only (tensorflow-cpu, torch +cpu, jax without plugins)
    for framework in ("tensorflow", "torch", "jax"):
        assert re.search(rf"^{framework} devices +{re.escape(info_module.CPU_ONLY)}$",
                         quick.stdout, re.M), quick.stdout
    asked = _cli("info", "--ask-frameworks")
    assert asked.returncode == 0, asked.stderr
    for framework in ("tensorflow", "torch", "jax"):
        assert re.search(rf"^{framework} devices +cpu:0$", asked.stdout, re.M), asked.stdout


def test_cli_version_help_and_usage_are_plain():
    from book_kit import __version__

    assert _cli("--version").stdout.strip() == f"book-kit {__version__}"
    help_text = _cli("--help").stdout
    assert "``" not in help_text and "workspace" in help_text and "--version" in help_text
    data = _cli("data")  # no action: what the actions are, not "NAME is required"
    assert data.returncode == 2
    assert "book-kit data fetch mnist" in data.stderr and "data sets: mnist" in data.stderr


def test_student_check_says_so_when_the_workbooks_are_up_to_date():
    from conftest import ROOT

    out = subprocess.run([sys.executable, "-m", "book_kit.cli", "student", "--check"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("up to date: the ") and "notebooks/" in out.stdout
