"""The README's main-job command starts JupyterLab serving the chapters."""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

from conftest import ROOT, free_port


def test_make_lab_serves_the_chapter_notebooks(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={token} --ServerApp.port_retries=0")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT,
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
