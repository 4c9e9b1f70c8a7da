"""Which Keras backend, which framework versions, and one seed for everything.

Keras reads its backend once, when it is first imported (``KERAS_BACKEND`` over
``~/.keras/keras.json``), and ``import tensorflow`` imports Keras. So everything here avoids
importing a framework: choosing a backend or a seed must never lock the choice by accident.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import sys
import warnings

from book_kit import _import_hooks
from book_kit.frameworks import REGISTRY

BACKENDS = ("jax", "tensorflow", "torch", "numpy")

# Keras backend -> (module that must be importable, the book_kit extra that installs it): the
# frameworks' from their registry; numpy is always there, and any extra brings Keras.
_FRAMEWORK = {**{f.name: (f.name, f.extra) for f in REGISTRY.values()}, "numpy": ("numpy", "jax")}

# Names readers type that Keras rejects with an unhelpful "Unable to import backend".
_NOT_A_BACKEND = {
    "pytorch": "torch",
    "tf": "tensorflow",
    "np": "numpy",
}

_DEFAULT_BACKEND = "tensorflow"  # what Keras itself picks when nothing is configured


class BackendError(RuntimeError):
    """The backend cannot be changed now; the message says what to do instead."""


def parse_backend(name: str) -> tuple[str, str | None]:
    """``"JAX-cpu"`` -> ``("jax", "cpu")``, as the R package parses ``KERAS_BACKEND``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"A backend name is a string, one of {', '.join(BACKENDS)}; got {name!r}.")
    text = name.strip().lower()
    device = None
    for suffix in ("-cpu", "-gpu"):
        if text.endswith(suffix):
            text, device = text[: -len(suffix)], suffix[1:]
    if text in BACKENDS:
        return text, device
    hint = _NOT_A_BACKEND.get(text)
    if hint:
        raise ValueError(f"Unknown Keras backend {name!r}: use {hint!r} (Keras calls it that).")
    raise ValueError(f"Unknown Keras backend {name!r}; choose one of {', '.join(BACKENDS)} "
                     "(optionally with '-cpu' or '-gpu').")


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it.

    Example
    -------
    >>> is_installed("numpy")
    True
    """
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _require_installed(backend_name: str) -> None:
    module, extra = _FRAMEWORK[backend_name]
    if not is_installed("keras"):
        raise ImportError("Keras is not installed. Install it with: "
                          f"pip install 'book_kit[{extra}]' "
                          "(or 'book_kit[all]' for every backend).")
    if not is_installed(module):
        raise ImportError(f"The {backend_name!r} backend needs {module}, which is not installed. "
                          f"Install it with: pip install 'book_kit[{extra}]' "
                          "(or 'book_kit[all]' for every backend).")


def _loaded_keras_backend() -> str | None:
    """The backend of the Keras already imported in this process, or None."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    try:
        return keras.config.backend()
    except AttributeError:  # Keras 2 / half-imported: ask its backend module
        return getattr(getattr(keras, "backend", None), "backend", lambda: None)()


def keras_home() -> str:
    """Keras's folder (``keras.json``, ``datasets/``): ``KERAS_HOME``, else ``~/.keras``.

    Example
    -------
    >>> keras_home()   # path depends on the machine   # doctest: +SKIP
    '/home/reader/.keras'
    >>> keras_home().endswith(".keras")   # without KERAS_HOME: ~/.keras
    True
    """
    return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))


def _configured_backend() -> str:
    """What Keras will pick when first imported: KERAS_BACKEND, then keras.json, then its
    default."""
    env = os.environ.get("KERAS_BACKEND")
    if env:
        return parse_backend(env)[0]
    config = os.path.join(keras_home(), "keras.json")
    try:
        with open(config) as f:
            return parse_backend(json.load(f)["backend"])[0]
    except (OSError, ValueError, KeyError, TypeError):
        return _DEFAULT_BACKEND


def backend() -> str:
    """The Keras backend in use, or the one Keras will use when imported (without importing it)."""
    return _loaded_keras_backend() or _configured_backend()


def _hide_gpus() -> None:
    # Must happen before the frameworks initialise their devices; harmless if there are none.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["JAX_PLATFORMS"] = "cpu"


# The KERAS_BACKEND value use_backend itself set in this process, if any: any other value was set
# outside (the shell, a JupyterHub, a test), and wins over the name a chapter passes.
_set_here: str | None = None


def use_backend(name: str, *, force: bool = False):
    """Choose the Keras backend, as R's ``use_backend()``: call it before Keras is imported.

    A ``KERAS_BACKEND`` set before the notebook started wins over ``name``: whoever set it (you,
    in your shell; a course's JupyterHub; the book's tests running a chapter on every backend)
    chose the backend for this whole session, so a chapter can say ``use_backend("jax")`` and
    still run on the backend chosen outside it. The name returned is the backend Keras will use,
    and ``book_kit.info()`` says where the choice came from.

    Parameters
    ----------
    name : str
        ``"jax"``, ``"tensorflow"``, ``"torch"`` or ``"numpy"``, optionally ``"-cpu"``/``"-gpu"``:
        the backend to use when ``KERAS_BACKEND`` is not set.
    force : bool
        After Keras was loaded with another backend, switch anyway (through
        ``keras.config.set_backend``): every Keras object made before becomes unusable and the
        ``keras`` name you imported is stale, so ``import keras`` again and re-create models (a
        saved ``.keras`` file still loads).

    Returns
    -------
    str
        The backend's name, always.

    Raises
    ------
    BackendError
        Keras is loaded with another backend and ``force`` is False: the message says to restart.

    Example
    -------
    >>> # sets KERAS_BACKEND for the whole process (and needs JAX installed)
    >>> book_kit.use_backend("jax")   # doctest: +SKIP
    'jax'
    """
    wanted, device = parse_backend(name)
    global _set_here
    chosen_outside = os.environ.get("KERAS_BACKEND") not in (None, "", _set_here) and not force
    if chosen_outside:
        wanted, device = parse_backend(os.environ["KERAS_BACKEND"])
    _require_installed(wanted)
    loaded = _loaded_keras_backend()
    if loaded is None:
        os.environ["KERAS_BACKEND"] = wanted  # "jax-cpu" set outside reaches Keras as "jax"
        if not chosen_outside:
            _set_here = wanted
        if device == "cpu":
            _hide_gpus()
        return wanted
    if loaded == wanted:
        return wanted
    if not force:
        why = (" (importing TensorFlow imports Keras)" if "tensorflow" in sys.modules else "")
        raise BackendError(
            f"Keras is already loaded with the {loaded!r} backend{why}; a backend is chosen once, "
            f"before Keras loads. Restart the kernel (Kernel > Restart Kernel) and call "
            f"book_kit.use_backend({wanted!r}) before importing keras or tensorflow. "
            "Or pass force=True to switch anyway (every existing Keras object becomes unusable).")
    keras = sys.modules["keras"]
    keras.config.set_backend(wanted)
    os.environ["KERAS_BACKEND"] = wanted
    warnings.warn(f"Switched Keras from {loaded!r} to {wanted!r}: every model, layer and variable "
                  "made before is now unusable, and any earlier `import keras` name is stale: "
                  "run `import keras` again.", RuntimeWarning, stacklevel=2)
    return wanted


# --- seeding -------------------------------------------------------------------------------

_seed: int | None = None


def _framework_seeder(name: str):
    """Seeds framework ``name`` through its module (called once the framework is imported)."""
    def seed(_module) -> None:
        from book_kit import frameworks

        frameworks.get(name).seed(_seed)
    return seed


def _random_state():
    import numpy as np

    return random.getstate(), np.random.get_state()


def _set_random_state(state) -> None:
    import numpy as np

    random.setstate(state[0])
    np.random.set_state(state[1])


def _seed_keras(keras) -> None:
    # Keras's global state starts afresh, as in a new kernel: clear_session resets the counters
    # behind its automatic names, so a second Run All names its models and layers as the first
    # did ("sequential", not "sequential_10"); models made before keep working.
    # keras.utils.set_random_seed also reseeds python and numpy (and resets Keras's global
    # SeedGenerator, which is what we want from it); keep their streams where set_seed left them.
    state = _random_state()
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(_seed)
    _set_random_state(state)


# What importing a framework draws from Python's and NumPy's global generators is given back
# (_guard): importing Keras imports ``rich.style``, whose ``count(getrandbits(24))`` takes a word
# of Python's stream, and importing JAX runs ``np.random.rand(5)`` (jax/_src/clusters/
# k8s_cluster.py). Keras's initializers take their default seeds from Python's stream and its
# ``fit`` shuffles with NumPy's, so without that the same seed gave other first weights and
# batches depending on whether Keras was imported before set_seed or after it, and a second Run
# All (frameworks loaded already) printed other numbers than the first.
# Framework imports under way, outermost first (TensorFlow imports Keras, Keras imports JAX).
_importing: list[str] = []


def _guard(module: str, seeder=None):
    """(around, after) import hooks for ``module``: what its import draws from Python's and
    NumPy's generators is given back; then it is seeded. Made once, so set_seed twice registers
    one pair."""

    @contextlib.contextmanager
    def around():
        outermost = not _importing
        state = _random_state() if outermost else None
        _importing.append(module)
        try:
            yield
        finally:
            del _importing[_importing.index(module):]  # and any inner import that failed
            if outermost:
                _set_random_state(state)

    def after(imported) -> None:
        if seeder is not None:
            seeder(imported)  # keeps the streams as they are (_seed_keras)
    return around, after


_SEEDERS = {**{f.name: _framework_seeder(f.name) for f in REGISTRY.values() if f.global_seed},
            "keras": _seed_keras}
# Every framework and Keras: JAX has no global generator to seed, but its import draws from NumPy's.
_IMPORT_GUARDS = {name: _guard(name, _SEEDERS.get(name)) for name in (*REGISTRY, "keras")}


def set_seed(seed: int) -> None:
    """Seed python ``random``, NumPy, TensorFlow, PyTorch and Keras with one integer.

    Keras also starts its global state afresh (``keras.backend.clear_session()``: the counters
    behind automatic names such as ``dense_3``), so everything after set_seed prints the same in
    a second *Run All* as in a fresh kernel. Models made before it keep working.

    Frameworks already imported are seeded now; the others the moment they are imported, so that
    seeding never imports TensorFlow or Keras (which would lock the Keras backend). Either way the
    same seed gives the same numbers (Keras's first weights and shuffles, NumPy's and Python's
    draws) whether the frameworks were imported before or after it, as when a notebook is run
    twice in one kernel: importing a framework takes nothing from NumPy's or Python's streams
    (what it draws is given back). JAX has no global generator:
    use ``book_kit.jax_key()`` for a key derived from the same seed.

    Parameters
    ----------
    seed : int
        A whole number from 0 to 2**32 - 1.

    Example
    -------
    >>> import numpy as np
    >>> book_kit.set_seed(42)
    >>> first = np.random.rand(3)
    >>> book_kit.set_seed(42)
    >>> bool((np.random.rand(3) == first).all())   # the same seed, the same numbers
    True
    >>> import keras   # needs Keras: seeded as it loads   # doctest: +SKIP
    >>> # needs Keras: the same first weights as with set_seed after the import
    >>> keras.layers.Dense(2)   # doctest: +SKIP
    <Dense name=dense, built=False>
    """
    global _seed
    import numpy as np  # not at module level: `import book_kit` stays fast

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed takes a whole number such as 42; got {seed!r} "
                        f"({type(seed).__name__}).")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"set_seed takes a whole number from 0 to 2**32 - 1 (NumPy's range); "
                         f"got {seed}.")
    _seed = seed
    random.seed(seed)
    np.random.seed(seed)
    for module, (around, after) in _IMPORT_GUARDS.items():
        if module in sys.modules:
            if module in _SEEDERS:
                _SEEDERS[module](sys.modules[module])
        elif is_installed(module):
            _import_hooks.when_imported(module, after, around=around)


def current_seed() -> int | None:
    """The seed given to the last ``set_seed`` call, or None."""
    return _seed


def jax_key(seed: int | None = None):
    """A JAX PRNG key from ``seed``, or from the last ``set_seed`` (raw JAX has no global seed)."""
    if seed is None:
        if _seed is None:
            raise ValueError("No seed yet: call book_kit.set_seed(42) first, or pass jax_key(42).")
        seed = _seed
    from book_kit import frameworks

    return frameworks.get("jax").key(seed)
