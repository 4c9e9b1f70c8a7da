"""book_kit: the helpers every chapter notebook of the book's chapter 3 companion imports.

Importing book_kit is cheap and imports no framework (TensorFlow, PyTorch, JAX or Keras): a
framework is imported only by the helper that uses it, so choosing a Keras backend stays possible.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys

from book_kit.backends import backend, current_seed, jax_key, set_seed, use_backend

try:  # written once, in pyproject.toml
    __version__ = importlib.metadata.version("book_kit")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"

# Submodules loaded on first attribute access (book_kit.datasets, book_kit.plotting, ...).
_LAZY_MODULES = {"backends", "sysinfo", "frameworks", "cli", "datasets", "devices", "plotting",
                 "liveplot", "nbrun", "explorer", "exercises", "compare", "workbook", "grading",
                 "claims", "display", "history", "style", "tables", "colab", "site", "synthetic",
                 "verdicts", "diagnoses"}

# Everyday helpers reachable as book_kit.NAME, loaded from their module on first use.
_LAZY_ATTRS = {
    "make_blobs": "synthetic", "load_mnist": "datasets",
    "history_frame": "history", "plot_history": "history", "print_history": "history",
    "plot_blobs": "plotting", "plot_predictions": "plotting", "plot_decision_line": "plotting",
    "plot_loss_curves": "plotting", "show_digits": "plotting", "LivePlot": "plotting",
}

__all__ = ["backend", "current_seed", "info", "jax_key", "set_seed", "setup_notebook",
           "use_backend", "__version__", *sorted(_LAZY_ATTRS)]


def info(devices: bool = True):
    """Versions, the Keras backend Keras will use, devices and warnings (imports no framework)."""
    from book_kit.sysinfo import info as _info

    return _info(devices=devices)


def setup_notebook() -> None:
    """What a chapter's first cell calls: sharp (retina) figures shown at the end of the cell
    that made them, exercise checks whose failure shows as its message alone, without a
    traceback, and no framework log line in any cell (the C-level lines TensorFlow and XLA write
    to stderr go to the terminal that runs Jupyter, however book_kit was installed:
    :func:`book_kit.nbrun.keep_c_output_out_of_cells`). Call it before importing a framework.
    Outside IPython it does nothing; importing book_kit never does either.

    Example
    -------
    >>> import book_kit
    >>> book_kit.setup_notebook()
    """
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        return
    from book_kit.display import use_retina
    from book_kit.exercises import install_friendly_failures
    from book_kit.nbrun import keep_c_output_out_of_cells

    keep_c_output_out_of_cells()
    use_retina()
    install_friendly_failures()


def __dir__() -> list[str]:
    # tab completion offers the lazily loaded names too
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_ATTRS))


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"book_kit.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(f"book_kit.{_LAZY_ATTRS[name]}"), name)
    raise AttributeError(f"module 'book_kit' has no attribute {name!r}")
