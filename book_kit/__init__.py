"""book_kit: the helpers every chapter notebook of the book's chapter 3 companion imports.

``import book_kit`` offers the reader's library: ``book_kit.use_backend``, ``set_seed``,
``load_mnist``, ``make_blobs``, ``plot_history``, ... (``__all__`` lists them). Beside it, a
package per concern:

- ``book_kit.frameworks``: everything TensorFlow-, PyTorch- or JAX-specific, a module each;
- ``book_kit.plots``: figures, training histories, the live plot, the book's style;
- ``book_kit.exercises``: exercise checks and their hints;
- ``book_kit.grading``: ``book-kit grade``, a module a stage;
- ``book_kit.publishing``: workbooks, Colab cells, the website, readers' working copies;
- ``book_kit.notebook``: the notebook conventions (cell markers, tags) and running notebooks;
- ``book_kit.cli``: the ``book-kit`` command, a module a subcommand.

Importing book_kit is cheap and imports no framework (TensorFlow, PyTorch, JAX or Keras): a
framework is imported only by the helper that uses it, so choosing a Keras backend stays possible.
"""

from __future__ import annotations

import importlib
import importlib.metadata

from book_kit.backends import backend, current_seed, jax_key, set_seed, use_backend

try:  # written once, in pyproject.toml
    __version__ = importlib.metadata.version("book_kit")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"

# The reader's library: every name a chapter uses as ``book_kit.NAME``, and the module that
# defines it. Loaded on first use, so `import book_kit` stays cheap and imports no framework.
# This table is the one import path of these names (tests/test_layout.py): the modules behind
# them do not list them in their own ``__all__``.
_READER_NAMES = {
    "to_numpy": "frameworks.arrays",
    "make_blobs": "synthetic", "load_mnist": "datasets",
    "history_frame": "plots.history", "plot_history": "plots.history",
    "print_history": "plots.history",
    "plot_blobs": "plots.figures", "plot_predictions": "plots.figures",
    "plot_decision_line": "plots.figures", "plot_loss_curves": "plots.figures",
    "show_digits": "plots.figures",
    "LivePlot": "plots.live", "keras_callback": "plots.live",
}

# The packages and modules reachable as attributes too (``book_kit.claims.close(...)``)
_SUBMODULES = {"backends", "claims", "compare", "datasets", "devices", "exercises", "explorer",
               "frameworks", "plots", "synthetic", "sysinfo", "tables", "notebook", "publishing",
               "grading", "cli"}

__all__ = ["backend", "current_seed", "info", "jax_key", "set_seed", "setup_notebook",
           "use_backend", "__version__", *sorted(_READER_NAMES)]


def info(devices: bool = True):
    """Versions, the Keras backend Keras will use, devices and warnings (imports no framework)."""
    from book_kit.sysinfo import info as _info

    return _info(devices=devices)


def setup_notebook() -> None:
    """What a chapter's first cell calls: sharp (retina) figures shown at the end of the cell
    that made them, exercise checks whose failure shows as its message alone, without a
    traceback, and no framework log line in any cell (the C-level lines TensorFlow and XLA write
    to stderr go to the terminal that runs Jupyter, however book_kit was installed:
    :func:`book_kit.notebook.quiet.keep_c_output_out_of_cells`), and torch.compile's cache
    cleared of kernels an interrupted build left half-written
    (:func:`book_kit.frameworks.torch_compile_cache.repair`). Call it before importing a
    framework. Outside IPython it does nothing; importing book_kit never does either.

    Example
    -------
    >>> import book_kit
    >>> book_kit.setup_notebook()
    """
    from book_kit.notebook.shell import ipython_shell

    if ipython_shell() is None:
        return
    from book_kit.exercises.checks import install_friendly_failures
    from book_kit.frameworks import torch_compile_cache
    from book_kit.notebook.quiet import keep_c_output_out_of_cells
    from book_kit.plots.display import use_retina

    keep_c_output_out_of_cells()
    use_retina()
    install_friendly_failures()
    # a torch.compile interrupted in an earlier session must not fail this one
    torch_compile_cache.repair()


def __dir__() -> list[str]:
    # tab completion offers the reader's names and the chapters' modules, not private ones
    return sorted(set(__all__) | _SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"book_kit.{name}")
    if name in _READER_NAMES:
        return getattr(importlib.import_module(f"book_kit.{_READER_NAMES[name]}"), name)
    raise AttributeError(f"module 'book_kit' has no attribute {name!r}")
