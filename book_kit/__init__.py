"""book_kit: the helpers every chapter notebook of the book's chapter 3 companion imports.

Importing book_kit is cheap and imports no framework (TensorFlow, PyTorch, JAX or Keras): a
framework is imported only by the helper that uses it, so choosing a Keras backend stays possible.
"""

from __future__ import annotations

import importlib

from book_kit.backends import backend, current_seed, jax_key, set_seed, use_backend

__version__ = "0.1.0"

# Submodules loaded on first attribute access (book_kit.datasets, book_kit.plotting, ...).
_LAZY_MODULES = {"backends", "sysinfo", "frameworks", "cli", "datasets", "devices", "plotting",
                 "liveplot", "nbrun", "explorer", "exercises", "compare", "workbook", "grading",
                 "claims"}

# Everyday helpers reachable as book_kit.NAME, loaded from their module on first use.
_LAZY_ATTRS = {
    "make_blobs": "datasets", "load_mnist": "datasets",
    "history_frame": "plotting", "plot_history": "plotting", "print_history": "plotting",
    "plot_blobs": "plotting", "plot_predictions": "plotting", "plot_decision_line": "plotting",
    "plot_loss_curves": "plotting", "show_digits": "plotting", "LivePlot": "plotting",
}

__all__ = ["backend", "current_seed", "info", "jax_key", "set_seed", "use_backend", "__version__"]


def info(devices: bool = True):
    """Versions, the Keras backend Keras will use, devices and warnings (imports no framework)."""
    from book_kit.sysinfo import info as _info

    return _info(devices=devices)


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"book_kit.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(f"book_kit.{_LAZY_ATTRS[name]}"), name)
    raise AttributeError(f"module 'book_kit' has no attribute {name!r}")
