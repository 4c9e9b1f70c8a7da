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
                         text=True, env={"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin"}, timeout=300)
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
