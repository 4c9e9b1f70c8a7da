"""One module per framework with the same function names, as keras/src/backend/ does.

``frameworks.get("torch").devices()`` imports torch only when called.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util

NAMES = ("tensorflow", "torch", "jax")


def get(name: str):
    """The book_kit module for one framework (imports that framework)."""
    if name not in NAMES:
        raise ValueError(f"Unknown framework {name!r}; choose one of {', '.join(NAMES)}.")
    return importlib.import_module(f"book_kit.frameworks.{name}")


def _module_tree(name: str) -> tuple[str, ast.Module]:
    if name not in NAMES:
        raise ValueError(f"Unknown framework {name!r}; choose one of {', '.join(NAMES)}.")
    text = open(importlib.util.find_spec(f"book_kit.frameworks.{name}").origin,
                encoding="utf-8").read()
    return text, ast.parse(text)


def title(name: str) -> str:
    """How a framework is written for readers ("PyTorch"): its module's ``NAME``, read from the
    file, so nothing is imported.

    Example
    -------
    >>> title("torch")
    'PyTorch'
    """
    _, tree = _module_tree(name)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAME"
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError(f"book_kit.frameworks.{name} has no NAME")


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
