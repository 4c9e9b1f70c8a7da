"""No framework log line in any cell, however book_kit was installed: ``book_kit.setup_notebook()``
keeps TensorFlow's and XLA's C-level start-up lines out of the cells of a stock ipykernel."""

import json
import os
import re
import sys

import pytest

from book_kit.notebook import quiet

from conftest import ROOT

# What C-level framework logging looks like: absl's and glog-style lines (I0000 00:00:...),
# TensorFlow's CPU and oneDNN notices.
LOG_LINE = re.compile(r"absl|cpu_feature_guard|oneDNN|onednn|^[IWEF]\d{4} |TF_ENABLE_ONEDNN_OPTS"
                      r"|XLA service|StreamExecutor", re.MULTILINE)

CELLS = [
    "import book_kit; book_kit.setup_notebook()",
    "import tensorflow as tf; print((tf.constant(1.0) + 1).numpy())",
    "print(tf.function(jit_compile=True)(lambda x: x * 2)(tf.ones(2)).numpy())",  # XLA's lines
    "import torch; print(torch.ones(1) + 1)",
    "import jax; print(jax.numpy.ones(1))",
    'import sys; print("x", file=sys.stderr)',
    'import warnings; warnings.warn("a Python warning")',
]


@pytest.mark.slow
def test_setup_notebook_keeps_c_level_log_lines_out_of_a_stock_kernels_cells(tmp_path):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec = tmp_path / "kernels" / "stock"
    spec.mkdir(parents=True)
    # A plain `python -m ipykernel_launcher`, as `pip install -e ".[all,dev]"` leaves it. This
    # environment's `make install` wrote capture_fd_output=False into sys.prefix/etc/ipython
    # (install_quiet_kernels), which every kernel of it reads; the command line wins over that
    # file, so the kernel captures C-level output as a stock one does.
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.capture_fd_output=True"],
        "display_name": "stock", "language": "python"}))
    # ipykernel captures nothing under pytest (PYTEST_CURRENT_TEST); no TF switch set for it
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_CURRENT_TEST", "TF_CPP_MIN_LOG_LEVEL", "IPYTHONDIR")}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")  # no profile of the user's
    terminal = tmp_path / "kernel-stderr.txt"       # what the terminal running Jupyter gets
    km = KernelManager(kernel_name="stock",
                       kernel_spec_manager=KernelSpecManager(
                           kernel_dirs=[str(tmp_path / "kernels")]))
    streams: dict[str, list] = {}
    with open(terminal, "w") as stderr:
        km.start_kernel(env=env, cwd=str(ROOT), stderr=stderr)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)

            def run(code):
                out = streams.setdefault(code, [])
                kc.execute_interactive(code, timeout=300, output_hook=lambda m: out.append(
                    (m["content"]["name"], m["content"]["text"]))
                    if m["msg_type"] == "stream" else None)

            # first, proof that this kernel forwards C-level stderr into cells, as a stock one does
            run('import os; os.write(2, b"C-level before\\n")')
            for code in CELLS:
                run(code)
            run('import os; os.write(2, b"C-level after\\n")')
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    before, *cells, after = streams.values()
    assert before == [("stderr", "C-level before\n")], "the kernel does not capture fd 2"
    text = "".join(t for cell in cells for _, t in cell)
    assert not LOG_LINE.search(text), text
    assert ("stderr", "x\n") in streams[CELLS[5]]                          # the student's print
    assert any("UserWarning: a Python warning" in t for _, t in streams[CELLS[6]])
    assert streams[CELLS[1]] == [("stdout", "2.0\n")]
    assert streams[CELLS[2]] == [("stdout", "[2. 2.]\n")]
    assert after == []                                                     # no longer forwarded
    # ... the lines were written, to the terminal instead (so the test above could fail)
    logged = terminal.read_text()
    assert LOG_LINE.search(logged) and "C-level after" in logged, logged[-2000:]


def test_outside_a_kernel_nothing_changes(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert quiet.keep_c_output_out_of_cells() is None
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


def _kernel_stream(**attributes):
    """An object that looks like ipykernel's OutStream to keep_c_output_out_of_cells."""
    cls = type("OutStream", (), {"__module__": "ipykernel.iostream"})
    stream = cls()
    for name, value in attributes.items():
        setattr(stream, name, value)
    return stream


def test_an_unknown_kernel_stream_falls_back_to_tensorflows_switch(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.setattr(sys, "stderr", _kernel_stream())
    assert quiet.keep_c_output_out_of_cells() == "env"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    # the reader's own setting is kept
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert quiet.keep_c_output_out_of_cells() is None
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_a_quiet_kernel_is_left_alone(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    stream = _kernel_stream(_should_watch=False, _original_stdstream_fd=None,
                            watch_fd_thread=None, _original_stdstream_copy=None)
    monkeypatch.setattr(sys, "stderr", stream)
    assert quiet.keep_c_output_out_of_cells() is None
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


def test_setup_notebook_outside_ipython_does_nothing(py):
    out = py("""
        import os, sys, book_kit
        before = dict(os.environ), sys.stderr
        book_kit.setup_notebook()
        print(before == (dict(os.environ), sys.stderr))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]
