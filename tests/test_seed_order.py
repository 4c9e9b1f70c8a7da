"""``book_kit.set_seed(s)`` gives the same numbers whether the frameworks were imported before or
after it: a notebook run twice in one kernel (Run All twice) meets both orders.

Importing Keras draws a word from Python's generator (``rich.style``) and importing JAX five numbers
from NumPy's (``jax/_src/clusters/k8s_cluster.py``); Keras's initializers seed themselves from
Python's generator (and its fit shuffles with NumPy's), so before the fix the same seed gave other
Dense weights in each order. Now an import gives back what it drew, and set_seed starts Keras's
state afresh: the chapters are stored from a second Run All, which a fresh kernel reproduces.
"""

import json
import textwrap

import nbformat
import pytest

from conftest import ROOT

BACKENDS = ["jax", "tensorflow", "torch"]

WEIGHTS = """
    def weights():
        layer = keras.layers.Dense(2)
        layer.build((1, 3))
        return [float(v).hex() for v in keras.ops.convert_to_numpy(layer.kernel).ravel()]
"""


def _run(py, backend: str, code: str) -> list:
    out = py(textwrap.dedent(code).replace("WEIGHTS", textwrap.dedent(WEIGHTS)),
             env={"KERAS_BACKEND": backend})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_first_weights_do_not_depend_on_when_keras_was_imported(py, backend):
    # (1) as the chapters do, set_seed before the import; then (3) again twice in the same
    # process, as a second Run All does: Keras is loaded by then
    seed_first = _run(py, backend, """
        import json, book_kit
        book_kit.set_seed(42)
        import keras
        WEIGHTS
        runs = [weights()]
        for _ in range(2):
            book_kit.set_seed(42)
            runs.append(weights())
        print(json.dumps(runs))
    """)
    # (2) Keras imported first
    import_first = _run(py, backend, """
        import json, book_kit
        import keras
        WEIGHTS
        book_kit.set_seed(42)
        runs = [weights()]
        book_kit.set_seed(42)
        runs.append(weights())
        book_kit.set_seed(43)                  # and the seed drives them
        runs.append(weights())
        print(json.dumps(runs))
    """)
    *import_first, other = import_first
    # the reference, without book_kit: Keras imported, then Python and NumPy seeded, Keras's own
    # state started afresh and seeded, the two streams left as seeded (an import takes nothing)
    reference = _run(py, backend, """
        import json, random
        import numpy as np
        import keras
        WEIGHTS
        random.seed(42); np.random.seed(42)
        state = random.getstate(), np.random.get_state()
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(42)
        random.setstate(state[0]); np.random.set_state(state[1])
        print(json.dumps([weights()]))
    """)
    runs = seed_first + import_first
    assert all(run == runs[0] for run in runs), runs
    assert runs[0] == reference[0], "set_seed is not Keras's own seeding on seeded streams"
    assert other != runs[0], "the seed should drive the weights"


def _stored_output(notebook: str, cell_id: str) -> str:
    nb = nbformat.read(ROOT / "chapters" / notebook, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return cell.outputs[0]["data"]["text/plain"]


@pytest.mark.slow
def test_numpy_draws_after_set_seed_are_the_chapters_stored_ones_in_either_order(py):
    """ch03_1 seeds with 0, imports TensorFlow (which imports Keras and JAX), then prints
    ``np.random.normal(size=(3,))``: a second Run All gave other numbers than the stored ones."""
    stored = _stored_output("ch03_1_tensors_and_gradients.ipynb", "np-random-twice")
    out = py("""
        import numpy as np
        import book_kit
        book_kit.set_seed(0)
        import tensorflow as tf
        print(repr(np.random.normal(size=(3,))))    # the chapter's first Run All
        book_kit.set_seed(0)
        print(repr(np.random.normal(size=(3,))))    # the second, TensorFlow loaded
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    first, second = out.stdout.strip().splitlines()
    assert first == second == stored


def test_draws_before_the_first_framework_import_are_the_seeds_first_numbers(py):
    """ch03_2 draws its points (make_blobs, NumPy's global generator) between set_seed and its
    first framework import: they are the seed's first numbers, as stored."""
    nb = nbformat.read(ROOT / "chapters" / "ch03_2_linear_classifier.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "make_blobs(n_per_class=1000)" in c.source)
    stored = "".join(o.get("text", "") for o in cell.outputs)
    out = py("""
        import book_kit
        book_kit.set_seed(1337)
        inputs, targets = book_kit.make_blobs(n_per_class=1000)
        print(inputs.shape, inputs.dtype, targets.shape, targets.dtype)
        print(inputs[:3])
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == stored


def test_an_import_after_set_seed_takes_nothing_from_the_seeded_streams(py, tmp_path):
    """The import guard on its own, with a stand-in module named like a framework (jax) that
    draws from both generators when imported; no real framework is loaded. Draws before and
    after the import continue one stream, and set_seed again (the framework loaded, as in a
    second Run All) gives the same numbers again."""
    (tmp_path / "jax").mkdir()
    (tmp_path / "jax" / "__init__.py").write_text(
        "import random, numpy as np\nDRAWN = random.random(), np.random.rand()\n")
    out = py(f"""
        import sys, random
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import book_kit
        ref, ref_np = random.Random(5), np.random.RandomState(5)

        def draws(py_stream, np_stream):
            return py_stream.random(), np_stream.rand()

        book_kit.set_seed(5)
        a = draws(random, np.random)          # before any framework import: the seed's first
        import jax                            # the stand-in draws b, and gives it back
        b = draws(random, np.random)
        book_kit.set_seed(5)                  # a framework is loaded: the same numbers again
        c = draws(random, np.random)
        d = draws(random, np.random)
        print(jax.__file__.startswith({str(tmp_path)!r}), a == draws(ref, ref_np),
              b == draws(ref, ref_np), (c, d) == (a, b), jax.DRAWN == b)
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["True"] * 5
