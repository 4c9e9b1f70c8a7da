"""One module per framework with the same function names, as keras/src/backend/ does, and the
registry that says what each framework is without importing it.

``frameworks.REGISTRY["torch"].title`` is "PyTorch" (no import); ``frameworks.get("torch")``
imports ``book_kit.frameworks.torch``, and with it torch. Adding a framework is one module here
plus one registry entry.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Framework:
    """What book_kit knows about a framework before importing it.

    Attributes
    ----------
    name : str
        Its import name and the key used everywhere (``"torch"``); also the Keras backend name.
    title : str
        How readers see it written (``"PyTorch"``).
    extra : str
        The book_kit extra that installs it (``pip install "book_kit[torch]"``).
    distributions : tuple of str
        The pip distributions that provide it, the usual one first.
    modes : dict
        Its ways of running the training step: mode -> label (``"compile": "torch.compile"``).
    global_seed : bool
        Whether it has a global random generator for ``book_kit.set_seed`` to seed (JAX has not:
        its random functions take a key).
    array_modules : tuple of str
        The top-level modules its tensors' types come from (JAX's arrays are ``jaxlib``'s).
    aliases : tuple of str
        Words that name it in code and prose (``tf``, ``jnp``): how a check tells which
        framework an answer is meant to be in.
    quiet_env : dict
        Environment variables that keep its C++ start-up log lines out of notebook cells, read
        once as it loads (:mod:`book_kit.notebook.quiet`).
    """

    name: str
    title: str
    extra: str
    distributions: tuple[str, ...]
    modes: dict[str, str]
    global_seed: bool = True
    array_modules: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    quiet_env: dict = dataclasses.field(default_factory=dict)


REGISTRY = {f.name: f for f in (
    Framework("tensorflow", "TensorFlow", "tensorflow",
              ("tensorflow-cpu", "tensorflow", "tensorflow-macos"),
              {"eager": "TF eager", "function": "tf.function",
               "xla": "tf.function(jit_compile=True)"},
              array_modules=("tensorflow",), aliases=("tensorflow", "tf"),
              quiet_env={"TF_CPP_MIN_LOG_LEVEL": "1"}),
    Framework("torch", "PyTorch", "torch", ("torch",),
              {"eager": "torch eager", "compile": "torch.compile"}, array_modules=("torch",),
              aliases=("pytorch", "torch")),
    Framework("jax", "JAX", "jax", ("jax",), {"eager": "JAX without jit", "jit": "jax.jit"},
              global_seed=False, array_modules=("jax", "jaxlib"),
              aliases=("jax", "jnp")),
)}
# What Keras adds on top: its own import name, loaded with a backend (Colab's check, the seeding)
KERAS = "keras"
NAMES = tuple(REGISTRY)


def _check(name: str) -> str:
    if name not in REGISTRY:
        raise ValueError(f"Unknown framework {name!r}; choose one of {', '.join(NAMES)}.")
    return name


def get(name: str):
    """The book_kit module for one framework (imports that framework).

    Parameters
    ----------
    name : str
        ``"tensorflow"``, ``"torch"`` or ``"jax"``.

    Returns
    -------
    module
        ``book_kit.frameworks.<name>``: ``model``, ``training_step``, ``LinearTrainer``, ...

    Example
    -------
    >>> from book_kit import frameworks
    >>> frameworks.get("jax").devices()   # needs JAX   # doctest: +SKIP
    ['cpu:0']
    >>> frameworks.get("tf")   # the registry's names only
    Traceback (most recent call last):
    ValueError: Unknown framework 'tf'; choose one of tensorflow, torch, jax.
    """
    return importlib.import_module(f"book_kit.frameworks.{_check(name)}")


def _module_tree(name: str) -> tuple[str, ast.Module]:
    origin = importlib.util.find_spec(f"book_kit.frameworks.{_check(name)}").origin
    text = Path(origin).read_text(encoding="utf-8")
    return text, ast.parse(text)


def title(name: str) -> str:
    """How a framework is written for readers ("PyTorch"); imports nothing.

    Example
    -------
    >>> title("torch")
    'PyTorch'
    """
    return REGISTRY[_check(name)].title


def source(name: str, function: str) -> str:
    """The source of ``function`` in one framework's module, read from the file (no import).

    Parameters
    ----------
    name : str
        The framework: ``"tensorflow"``, ``"torch"`` or ``"jax"``.
    function : str
        A function the framework modules define, e.g. ``"training_step"``.

    Returns
    -------
    str
        Its source, decorators included.

    Example
    -------
    >>> print(source("jax", "model"))
    def model(inputs, W, b):
        return jnp.matmul(inputs, W) + b
    """
    text, tree = _module_tree(name)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(text.splitlines()[start - 1:node.end_lineno]) + "\n"
    raise ValueError(f"book_kit.frameworks.{name} has no {function!r}; try one of model, "
                     "mean_squared_error, training_step, derivatives.")
