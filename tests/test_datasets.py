"""Data: blobs as the book makes them; MNIST from cache, mirror or URL, verified, never corrupt.

Downloads go to a local HTTP server on 127.0.0.1, never the internet.
"""

import dataclasses
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import numpy as np
import pytest

import book_kit
from book_kit import datasets

from conftest import MIRROR, ROOT

MNIST_FILE = MIRROR / "mnist.npz"


# --- blobs -----------------------------------------------------------------------------------

def test_blobs_match_the_book():
    inputs, targets = book_kit.make_blobs(seed=0)
    assert inputs.shape == (2000, 2) and inputs.dtype == np.float32
    assert targets.shape == (2000, 1) and targets.dtype == np.float32
    assert (targets[:1000] == 0).all() and (targets[1000:] == 1).all()  # negatives first
    negative, positive = inputs[:1000], inputs[1000:]
    # sampling tolerance for n=1000: standard error of a mean ~0.03, of a covariance entry ~0.05
    np.testing.assert_allclose(negative.mean(axis=0), [0, 3], atol=0.12)
    np.testing.assert_allclose(positive.mean(axis=0), [3, 0], atol=0.12)
    for part in (negative, positive):
        np.testing.assert_allclose(np.cov(part.T), [[1, 0.5], [0.5, 1]], atol=0.15)


def test_blobs_are_deterministic_per_seed():
    a, b, c = (book_kit.make_blobs(100, seed=s)[0] for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    np.random.seed(5)
    d = book_kit.make_blobs(50)[0]
    np.random.seed(5)
    assert np.array_equal(d, book_kit.make_blobs(50)[0])  # seed=None follows set_seed / np.random


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_blobs_reject_bad_sizes(bad):
    with pytest.raises(ValueError, match="whole number"):
        book_kit.make_blobs(bad)


# --- a local server with every way a download can go wrong ----------------------------------

def _wrong_content_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.zeros(s.shape, s.dtype)
                                   for k, s in datasets.MNIST.arrays.items()})
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    good = MNIST_FILE.read_bytes() if MNIST_FILE.exists() else b""
    wrong = _wrong_content_npz()
    hits = Counter()

    def log_message(self, *args):
        pass

    def do_GET(self):
        route = self.path.strip("/").split("/")[0]
        self.hits[route] += 1
        if route == "error":
            self.send_error(500, "Internal Server Error")
            return
        if route == "slow":
            time.sleep(3)
        body = {"good": self.good, "slow": self.good, "wrong": self.wrong,
                "truncated": self.good[: len(self.good) // 2],
                "broken": self.good}.get(route)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if route == "broken":  # promise the whole file, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    assert MNIST_FILE.exists(), (f"the offline mirror {MNIST_FILE} is missing "
                                 "(set BOOK_KIT_DATA_MIRROR)")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty data dir, an empty Keras cache, no mirror."""
    monkeypatch.setenv("BOOK_KIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("BOOK_KIT_DATA_MIRROR", raising=False)
    _Handler.hits.clear()
    return tmp_path / "data"


def _mnist_at(url):
    return dataclasses.replace(datasets.MNIST, url=url)


def _leftovers(folder):
    """Anything in the data folder besides verified data and the corrupt/ quarantine."""
    return sorted(p.name for p in folder.iterdir() if p.name not in ("mnist.npz", "corrupt"))


def _assert_verified(arrays):
    for key, spec in datasets.MNIST.arrays.items():
        assert hashlib.sha256(arrays[key].tobytes()).hexdigest() == spec.sha256


# --- loading ---------------------------------------------------------------------------------

def test_mnist_loads_from_the_mirror_folder_then_from_cache(data, monkeypatch):
    monkeypatch.setenv("BOOK_KIT_DATA_MIRROR", str(MIRROR))
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert (x_train.shape, x_train.dtype, y_train.shape, y_train.dtype) == \
        ((60000, 28, 28), np.uint8, (60000,), np.uint8)
    assert (x_test.shape, y_test.shape) == ((10000, 28, 28), (10000,))
    assert x_train.mean() == pytest.approx(33.318421449829934)
    assert (data / "mnist.npz").exists() and _leftovers(data) == []
    monkeypatch.delenv("BOOK_KIT_DATA_MIRROR")  # now offline: the cache serves it
    _assert_verified(datasets.load("mnist"))


def test_download_from_url_is_verified_and_leaves_nothing_else(data, server):
    path = datasets.fetch(_mnist_at(f"{server}/good/mnist.npz"))
    assert path == data / "mnist.npz"
    _assert_verified(datasets.load("mnist"))
    assert _leftovers(data) == []


def test_http_mirror_is_tried_before_the_canonical_url(data, server, monkeypatch):
    monkeypatch.setenv("BOOK_KIT_DATA_MIRROR", f"{server}/good/")
    datasets.fetch(_mnist_at(f"{server}/error/mnist.npz"))
    assert _Handler.hits["good"] == 1 and _Handler.hits["error"] == 0


@pytest.mark.parametrize("route, words", [
    ("truncated", "cannot be read as an .npz file"),
    ("wrong", "has SHA-256 "),
])
def test_bad_content_is_never_given_the_final_name(data, server, route, words):
    with pytest.raises(datasets.DataError) as caught:
        datasets.fetch(_mnist_at(f"{server}/{route}/mnist.npz"))
    message = str(caught.value)
    assert words in message and f"{server}/{route}/mnist.npz" in message
    if route == "wrong":
        assert datasets.MNIST.arrays["x_train"].sha256 in message  # the expected hash is named
    assert not (data / "mnist.npz").exists()
    assert _leftovers(data) == []
    kept = list((data / "corrupt").glob("mnist.npz.*[0-9]"))
    assert len(kept) == 1  # moved aside for inspection, with a note saying why
    assert words in (data / "corrupt" / f"{kept[0].name}.why.txt").read_text()


@pytest.mark.parametrize("route, words", [
    ("error", "500"),
    ("slow", "timed out"),
    ("broken", "Connection"),
])
def test_failed_downloads_retry_once_then_explain(data, server, route, words):
    url = f"{server}/{route}/mnist.npz"
    with pytest.raises(datasets.DataError) as caught:
        datasets.fetch(_mnist_at(url), timeout=1)
    message = str(caught.value)
    assert url in message and words.lower() in message.lower()
    assert _Handler.hits[route] == 2  # first try and one retry
    assert not (data / "mnist.npz").exists() and _leftovers(data) == []


def test_offline_with_nothing_cached_says_every_way_out(data):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mnist.npz"
    with pytest.raises(datasets.DataError) as caught:
        datasets.fetch(_mnist_at(url), timeout=1)
    message = str(caught.value)
    for words in (url, "BOOK_KIT_DATA_MIRROR", "BOOK_KIT_DATA_DIR", "book-kit data fetch mnist"):
        assert words in message


def test_corrupt_cache_is_moved_aside_and_fetched_again(data, monkeypatch):
    data.mkdir(parents=True)
    (data / "mnist.npz").write_bytes(MNIST_FILE.read_bytes()[:1000])
    monkeypatch.setenv("BOOK_KIT_DATA_MIRROR", str(MIRROR))
    _assert_verified(datasets.load("mnist"))
    kept = list((data / "corrupt").glob("mnist.npz.*[0-9]"))
    assert len(kept) == 1 and kept[0].stat().st_size == 1000  # the user's file is kept, not deleted


def test_corrupt_cache_without_a_source_names_file_and_hashes(data, server):
    data.mkdir(parents=True)
    (data / "mnist.npz").write_bytes(_Handler.wrong)
    with pytest.raises(datasets.DataError) as caught:
        datasets.fetch(_mnist_at(f"{server}/error/mnist.npz"), timeout=1)
    message = str(caught.value)
    assert str(data / "mnist.npz") in message and "moved aside" in message
    assert "expected " + datasets.MNIST.arrays["x_train"].sha256 in message
    zeros_sha256 = hashlib.sha256(np.zeros((60000, 28, 28), np.uint8).tobytes()).hexdigest()
    assert "has SHA-256 " + zeros_sha256 in message
    assert not (data / "mnist.npz").exists()


def test_a_verified_keras_cache_copy_is_reused_read_only(data, tmp_path):
    keras_copy = tmp_path / "keras" / "datasets" / "mnist.npz"
    keras_copy.parent.mkdir(parents=True)
    keras_copy.write_bytes(MNIST_FILE.read_bytes())
    before = (keras_copy.stat().st_mtime_ns, keras_copy.stat().st_size)
    assert datasets.fetch("mnist") == keras_copy
    assert (keras_copy.stat().st_mtime_ns, keras_copy.stat().st_size) == before
    assert not data.exists() or not any(data.iterdir())


def test_a_bad_keras_cache_copy_is_left_alone(data, tmp_path, monkeypatch):
    keras_copy = tmp_path / "keras" / "datasets" / "mnist.npz"
    keras_copy.parent.mkdir(parents=True)
    keras_copy.write_bytes(b"not an npz")
    monkeypatch.setenv("BOOK_KIT_DATA_MIRROR", str(MIRROR))
    assert datasets.fetch("mnist") == data / "mnist.npz"
    assert keras_copy.read_bytes() == b"not an npz"  # never touch Keras's folder


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="known: mnist"):
        datasets.load("cifar")


# --- command line and import weight ----------------------------------------------------------

def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "book_kit.cli", "data", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_list_fetch_verify(tmp_path):
    env = dict(os.environ, BOOK_KIT_DATA_DIR=str(tmp_path / "d"), KERAS_HOME=str(tmp_path / "k"),
               BOOK_KIT_DATA_MIRROR=str(MIRROR))
    listed = _cli("list", env=env)
    assert listed.returncode == 0 and "mnist  not cached" in listed.stdout
    fetched = _cli("fetch", "mnist", env=env)
    assert fetched.returncode == 0 and "mnist: verified" in fetched.stdout
    assert "mnist  verified" in _cli("list", env=env).stdout
    assert _cli("verify", env=env).returncode == 0
    (tmp_path / "d" / "mnist.npz").write_bytes(b"garbage")
    verified = _cli("verify", env=env)
    assert verified.returncode == 1 and "corrupt" in verified.stdout
    unknown = _cli("fetch", "cifar", env=env)
    assert unknown.returncode == 2 and "Unknown data set 'cifar'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_loading_mnist_imports_no_framework(tmp_path):
    env = dict(os.environ, BOOK_KIT_DATA_DIR=str(tmp_path), BOOK_KIT_DATA_MIRROR=str(MIRROR))
    code = ("import sys, json, book_kit; book_kit.datasets.load_mnist(); "
            "print(json.dumps([m for m in ('keras', 'tensorflow', 'torch', 'jax') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
