"""The README's main-job command starts JupyterLab serving the reader's own copies of the
chapters, whose kernels keep TensorFlow's log lines out of the cells."""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest

from book_kit import workspace
from conftest import ROOT, free_port


def test_make_lab_serves_the_chapter_notebooks(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={token} --ServerApp.port_retries=0")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    work = tmp_path / "work"
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}",
                            f"WORK={work}"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/chapters?token={token}"
        deadline, listing = time.time() + 120, None
        while time.time() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 120 s"
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in (ROOT / "chapters").glob("*.ipynb")}
        assert expected and expected <= names
        # ... and they are the reader's copies, not the book's
        for name in expected:
            assert (work / "chapters" / name).read_bytes() == (ROOT / "chapters" / name).read_bytes()
        assert {p.name for p in (work / "workbooks").glob("*.ipynb")} == \
            {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
        # without the token the API refuses
        try:
            urllib.request.urlopen(url.split("?")[0], timeout=5)
            raise AssertionError("the server answered without a token")
        except urllib.error.HTTPError as e:
            assert e.code == 403
        # the lab page itself opens on the chapters folder
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/chapters?token={token}",
                                    timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


def test_working_copies_are_made_once_and_a_fresh_one_keeps_yours(tmp_path):
    for folder in ("chapters", "notebooks"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ch03_1_tensors.ipynb").write_text(f"{folder} 1")
    (tmp_path / "chapters" / "ch03_2_linear.ipynb").write_text("chapter 2")
    (tmp_path / "chapters" / "README.md").write_text("R <-> Python")
    made = workspace.prepare(tmp_path, "work")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in made) == [
        "work/chapters/README.md", "work/chapters/ch03_1_tensors.ipynb",
        "work/chapters/ch03_2_linear.ipynb", "work/workbooks/ch03_1_tensors.ipynb"]
    mine = tmp_path / "work" / "chapters" / "ch03_1_tensors.ipynb"
    mine.write_text("my notes")
    assert workspace.prepare(tmp_path, "work") == []  # never overwritten
    assert mine.read_text() == "my notes"
    with pytest.raises(ValueError, match="matches 2 notebooks"):
        workspace.fresh("ch03_1", tmp_path, "work")  # the chapter or the workbook?
    copy, kept = workspace.fresh("chapters/ch03_1", tmp_path, "work")
    assert copy == mine and copy.read_text() == "chapters 1"
    assert kept.parent == mine.parent and kept.read_text() == "my notes"
    copy, kept = workspace.fresh("ch03_2", tmp_path, "work")
    assert copy.read_text() == "chapter 2" and kept is not None
    with pytest.raises(ValueError, match="no notebooks"):
        workspace.fresh("ch09", tmp_path, "work")


def test_kernels_of_this_environment_show_no_tensorflow_log_lines():
    """A kernel started the way JupyterLab starts one: TensorFlow's start-up and XLA lines stay
    out of the cell (book_kit.nbrun.install_quiet_kernels, run by make install)."""
    from jupyter_client.manager import start_new_kernel

    # ipykernel captures nothing under pytest (PYTEST_CURRENT_TEST): a kernel as JupyterLab's
    env = {k: v for k, v in os.environ.items()
           if k not in ("IPYTHONDIR", "TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        streams = []
        kc.execute_interactive(
            "import tensorflow as tf\n"
            "print(tf.function(jit_compile=True)(lambda x: x * 2)(tf.ones(2)).numpy())",
            output_hook=lambda m: streams.append(m) if m["msg_type"] == "stream" else None,
            timeout=180)
    finally:
        km.shutdown_kernel(now=True)
    assert [(m["content"]["name"], m["content"]["text"]) for m in streams] == [
        ("stdout", "[2. 2.]\n")]
