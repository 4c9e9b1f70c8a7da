import pytest

from book_kit import backends


@pytest.mark.parametrize("name, expected", [
    ("jax", ("jax", None)), ("JAX", ("jax", None)), (" Torch ", ("torch", None)),
    ("tensorflow-cpu", ("tensorflow", "cpu")), ("TENSORFLOW-GPU", ("tensorflow", "gpu")),
    ("numpy", ("numpy", None)), ("jax-cpu", ("jax", "cpu")),
])
def test_parse_backend_accepts_r_style_names(name, expected):
    assert backends.parse_backend(name) == expected


def test_pytorch_is_told_to_use_torch():
    with pytest.raises(ValueError, match="use 'torch'"):
        backends.use_backend("pytorch")


@pytest.mark.parametrize("name", ["mxnet", "cntk-cpu", "", None, 3])
def test_unknown_backend_lists_the_valid_ones(name):
    with pytest.raises(ValueError, match="jax, tensorflow, torch, numpy"):
        backends.use_backend(name)


def test_missing_framework_names_the_extra(monkeypatch):
    monkeypatch.setattr(backends, "is_installed", lambda module: module != "torch")
    with pytest.raises(ImportError, match=r"pip install 'book_kit\[torch\]'"):
        backends.use_backend("torch")


def test_missing_keras_names_an_extra(monkeypatch):
    monkeypatch.setattr(backends, "is_installed", lambda module: module != "keras")
    with pytest.raises(ImportError, match=r"Keras is not installed.*book_kit\[jax\]"):
        backends.use_backend("jax")


def test_use_backend_sets_environment_before_keras_loads(py):
    out = py("""
        import book_kit
        print(book_kit.use_backend("JAX-cpu"))
        import os; print(os.environ["KERAS_BACKEND"], os.environ["CUDA_VISIBLE_DEVICES"] == "")
        print(book_kit.backend())
        import keras; print(keras.config.backend())
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["jax", "jax", "True", "jax", "jax"]


def test_backend_reads_keras_json_without_importing_keras(py, tmp_path):
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    out = py("""
        import sys, book_kit
        print(book_kit.backend(), "keras" in sys.modules)
    """, env={"KERAS_HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torch", "False"]


def test_switch_after_tensorflow_loaded_says_restart(py):
    out = py("""
        import book_kit
        book_kit.use_backend("tensorflow")
        import tensorflow
        print(book_kit.use_backend("tensorflow"))     # same backend: a no-op
        try:
            book_kit.use_backend("jax")
        except book_kit.backends.BackendError as e:
            print("ERROR", e)
    """)
    assert out.returncode == 0, out.stderr
    first, error = out.stdout.strip().splitlines()
    assert first == "tensorflow"
    assert "already loaded with the 'tensorflow' backend" in error
    assert "importing TensorFlow imports Keras" in error
    assert "Restart the kernel" in error and "force=True" in error


def test_force_switch_returns_the_name_and_warns(py):
    out = py("""
        import warnings
        import book_kit
        book_kit.use_backend("jax")
        import keras
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            name = book_kit.use_backend("torch", force=True)
        import keras as fresh
        print(name, fresh.config.backend(), book_kit.backend())
        print(any("unusable" in str(w.message) for w in caught))
        layer = fresh.layers.Dense(2)
        print(tuple(layer(fresh.ops.ones((1, 3))).shape))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torch", "torch", "torch", "True", "(1,", "2)"]


@pytest.mark.parametrize("bad, error, words", [
    ("abc", TypeError, "whole number"), (1.5, TypeError, "whole number"),
    (True, TypeError, "whole number"), (None, TypeError, "whole number"),
    (-1, ValueError, "0 to 2\\*\\*32 - 1"), (2**32, ValueError, "0 to 2\\*\\*32 - 1"),
])
def test_set_seed_rejects_bad_seeds(bad, error, words):
    with pytest.raises(error, match=words):
        backends.set_seed(bad)


def test_jax_key_needs_a_seed(monkeypatch):
    monkeypatch.setattr(backends, "_seed", None)
    with pytest.raises(ValueError, match="set_seed"):
        backends.jax_key()


@pytest.mark.slow
def test_set_seed_seeds_frameworks_imported_later_without_importing_them(py):
    code = """
        import sys, random
        import numpy as np
        import book_kit
        book_kit.set_seed(7)
        before = ["tensorflow" in sys.modules, "torch" in sys.modules, "keras" in sys.modules]
        a = np.random.rand()                 # drawn before the frameworks are imported ...
        import torch, tensorflow as tf, jax
        b = np.random.rand()                 # ... the stream is not rewound by their import
        print(before, a != b)
        print(torch.rand(2).tolist(), tf.random.uniform((2,)).numpy().tolist())
        print(jax.random.uniform(book_kit.jax_key(), (2,)).tolist())
    """
    first, second = py(code), py(code)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[0] == "[False, False, False] True"
    assert first.stdout == second.stdout          # same numbers in a second process
    third = py(code.replace("set_seed(7)", "set_seed(8)"))
    assert third.stdout.splitlines()[1:] != lines[1:]  # and the seed really drives them


def test_a_keras_backend_chosen_outside_wins_over_the_chapters_name(py):
    """A chapter says use_backend("jax"); KERAS_BACKEND set before the kernel started (a shell,
    a JupyterHub, the tests running it on every backend) wins. Its own earlier choice does not:
    two calls in one process, before Keras loads, take the second name."""
    outside = py("""
        import os, book_kit
        print(book_kit.use_backend("jax"), book_kit.use_backend("jax"), os.environ["KERAS_BACKEND"])
    """, env={"KERAS_BACKEND": "torch"})
    assert outside.returncode == 0, outside.stderr[-2000:]
    assert outside.stdout.split() == ["torch", "torch", "torch"]
    inside = py("""
        import os, book_kit
        print(book_kit.use_backend("jax"), book_kit.use_backend("tensorflow"),
              os.environ["KERAS_BACKEND"])
    """)
    assert inside.returncode == 0, inside.stderr[-2000:]
    assert inside.stdout.split() == ["jax", "tensorflow", "tensorflow"]
