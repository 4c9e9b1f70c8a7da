"""The benchmark command runs (a quick pass) and writes its report; no timing is asserted."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    report = (tmp_path / "RESULTS.md").read_text()
    for section in ("## Machine", "## The linear classifier's training step",
                    "### The chapter's claims",
                    "## Keras backends", "## Toolkit overhead", "import book_kit"):
        assert section in report
    for variant in ("TF eager", "tf.function(jit_compile=True)", "torch.compile", "jax.jit"):
        assert f"| {variant} |" in report
    assert "| NO |" not in report  # every compiled variant matched eager
    assert (tmp_path / "step_times.png").stat().st_size > 10_000
