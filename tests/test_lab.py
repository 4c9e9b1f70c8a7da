"""The README's main-job command starts JupyterLab serving the reader's own copies of the
chapters, whose kernels keep TensorFlow's log lines out of the cells."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from book_kit.publishing import workspace

from conftest import ROOT, free_port


def test_make_lab_serves_the_chapter_notebooks(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={token} --ServerApp.port_retries=0")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    work = tmp_path / "work"
    # the news setting is written by `make lab` itself: take away one an earlier run left (only
    # when it holds nothing else), so that this test sees this run's
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if overrides.exists() and json.loads(overrides.read_text()) == workspace.NEWS_OFF:
        overrides.unlink()
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
            assert (work / "chapters" / name).read_bytes() == \
                (ROOT / "chapters" / name).read_bytes()
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
        # no "get notified about official Jupyter news?" pop-up: the setting the page reads says
        # never, and it comes from the environment, not from the user's own settings
        settings_url = (f"http://127.0.0.1:{port}/lab/api/settings/"
                        f"@jupyterlab/apputils-extension:notification?token={token}")
        with urllib.request.urlopen(settings_url, timeout=10) as response:
            notification = json.load(response)
        # the server hands the page the schema with the environment's overrides as defaults
        assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"
        assert notification["settings"] == {}                 # and no user setting over it
        assert not (tmp_path / "cfg" / "lab" / "user-settings").exists() or not any(
            (tmp_path / "cfg" / "lab" / "user-settings").rglob("*notification*"))
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

    # a bare name is the chapter, and the note says how to name the workbook
    copy, kept, note = workspace.fresh("ch03_1", tmp_path, "work")
    assert copy == mine and copy.read_text() == "chapters 1"
    assert kept.read_text() == "my notes"
    assert "workbooks/ch03_1" in note and "chapter" in note
    # kept in a folder of its own, the date first: the file browser tells the two apart
    assert kept.parent == mine.parent / "kept"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d{6} ch03_1_tensors\.ipynb", kept.name), kept.name
    assert kept.name.startswith(time.strftime("%Y-%m-%d "))
    assert sorted(p.name for p in mine.parent.iterdir()) == [
        "README.md", "ch03_1_tensors.ipynb", "ch03_2_linear.ipynb", "kept"]
    # a second time within the same second keeps both old copies
    copy.write_text("more notes")
    _, again, _ = workspace.fresh("chapters/ch03_1", tmp_path, "work")
    assert again != kept and again.read_text() == "more notes" and kept.read_text() == "my notes"

    # the workbook by its folder; prepare() never copies into kept/
    workbook = tmp_path / "work" / "workbooks" / "ch03_1_tensors.ipynb"
    workbook.write_text("my answers")
    copy, kept, note = workspace.fresh("workbooks/ch03_1", tmp_path, "work")
    assert copy == workbook and copy.read_text() == "notebooks 1" and note == ""
    assert kept.parent.name == "kept" and kept.read_text() == "my answers"
    assert workspace.prepare(tmp_path, "work") == []

    copy, kept, note = workspace.fresh("ch03_2", tmp_path, "work")
    assert copy.read_text() == "chapter 2" and kept is not None and note == ""
    with pytest.raises(ValueError, match="no notebooks"):
        workspace.fresh("ch09", tmp_path, "work")
    with pytest.raises(ValueError, match="matches 2 notebooks: name more of it"):
        workspace.fresh("chapters/ch03", tmp_path, "work")
    with pytest.raises(ValueError, match="not a folder of working copies"):
        workspace.fresh("mine/ch03_1", tmp_path, "work")


def test_the_command_takes_the_chapter_for_a_bare_name_and_says_how_to_name_the_workbook(
        tmp_path, monkeypatch, capsys):
    from book_kit import cli

    for folder in ("chapters", "notebooks"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ch03_1_tensors.ipynb").write_text(folder)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["workspace", "--dir", "work"]) == 0
    (tmp_path / "work" / "chapters" / "ch03_1_tensors.ipynb").write_text("mine")
    capsys.readouterr()
    assert cli.main(["workspace", "--dir", "work", "--fresh", "ch03_1"]) == 0  # exited 2 before
    out = capsys.readouterr().out
    assert "fresh copy: work/chapters/ch03_1_tensors.ipynb" in out
    assert "kept as work/chapters/kept/" in out
    assert "book-kit workspace --fresh workbooks/ch03_1" in out


def test_help_says_where_kept_copies_go_and_how_to_name_a_workbook(capsys):
    from book_kit import cli

    with pytest.raises(SystemExit):
        cli.main(["workspace", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "workbooks/ch03_1" in text and "kept/" in text and "date first" in text


def test_lab_settings_turn_the_news_off_in_the_environment_and_keep_other_settings(tmp_path):
    path = workspace.lab_settings(tmp_path)
    assert path == tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(path.read_text()) == {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
    path.write_text(json.dumps({
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "true"}}))
    workspace.lab_settings(tmp_path)                   # what is there already stays
    assert json.loads(path.read_text())["@jupyterlab/apputils-extension:notification"] == {
        "fetchNews": "true"}
    assert "themes" in path.read_text()
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        workspace.lab_settings(tmp_path)
    assert path.read_text() == "{not json"


def test_the_news_setting_is_the_one_jupyterlab_reads():
    """fetchNews of the notification plugin, with "false" among its choices, as the installed
    JupyterLab's schema says (a JupyterLab that renamed it would ask again)."""
    plugin, values = next(iter(workspace.NEWS_OFF.items()))
    package, name = plugin.split(":")
    schema = json.loads((Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / package
                         / f"{name}.json").read_text())
    choices = [c["const"] for c in schema["properties"]["fetchNews"]["oneOf"]]
    assert values["fetchNews"] in choices and "false" in choices


def test_kernels_of_this_environment_show_no_tensorflow_log_lines():
    """A kernel started the way JupyterLab starts one: TensorFlow's start-up and XLA lines stay
    out of the cell (book_kit.notebook.quiet.install_quiet_kernels, run by make install)."""
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
