"""One module per framework with the same function names, as keras/src/backend/ does.

``frameworks.get("torch").devices()`` imports torch only when called.
"""

from __future__ import annotations

import importlib

NAMES = ("tensorflow", "torch", "jax")


def get(name: str):
    """The book_kit module for one framework (imports that framework)."""
    if name not in NAMES:
        raise ValueError(f"Unknown framework {name!r}; choose one of {', '.join(NAMES)}.")
    return importlib.import_module(f"book_kit.frameworks.{name}")
