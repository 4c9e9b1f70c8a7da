"""Keep framework log lines out of notebook cells, in every kernel we start and in a reader's.

TensorFlow and XLA write start-up lines to file descriptor 2 from C++; a stock kernel forwards
them into whichever cell is running. Two ways to stop it: a setting for the kernels of an
environment (:func:`install_quiet_kernels`, ``make install``), and a switch a running kernel
flips itself (:func:`keep_c_output_out_of_cells`, which ``book_kit.setup_notebook()`` calls),
so a reader who installed with plain pip, conda or on Colab gets quiet cells too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from book_kit.frameworks import REGISTRY

# Kernels we start write C-level output (TensorFlow's start-up log lines, with timestamps) to
# their own stderr instead of the notebook: otherwise it lands in stored outputs, in whichever
# cell happens to be running. Our kernels get these settings through a private IPython profile
# (the one thing both nbclient and nbval kernels read), graded kernels on their command line.
KERNEL_SETTINGS = {"IPKernelApp.capture_fd_output": "False"}
KERNEL_CONFIG = "".join(f"c.{name} = {value}\n" for name, value in KERNEL_SETTINGS.items())


def kernel_arguments() -> list[str]:
    """:data:`KERNEL_SETTINGS` as ipykernel command-line options.

    Example
    -------
    >>> kernel_arguments()
    ['--IPKernelApp.capture_fd_output=False']
    """
    return [f"--{name}={value}" for name, value in KERNEL_SETTINGS.items()]


def install_quiet_kernels(prefix: str | os.PathLike | None = None) -> Path:
    """Make every IPython kernel of this Python environment keep C-level output out of cells.

    Writes the setting above into ``<prefix>/etc/ipython/ipython_kernel_config.py``, a file
    IPython reads for every kernel started from this environment (``make lab``'s too); a line
    already there is kept. ``make install`` calls it.

    Parameters
    ----------
    prefix : path, optional
        The environment's prefix (default: ``sys.prefix``).

    Returns
    -------
    Path
        The configuration file.

    Example
    -------
    >>> # this environment's file: the path depends on the machine
    >>> install_quiet_kernels()   # doctest: +SKIP
    PosixPath('/home/reader/book_kit/.venv/etc/ipython/ipython_kernel_config.py')
    >>> config = install_quiet_kernels("my-env")   # another environment, by its prefix
    >>> config
    PosixPath('my-env/etc/ipython/ipython_kernel_config.py')
    >>> print(config.read_text(), end="")
    c.IPKernelApp.capture_fd_output = False
    """
    config = Path(prefix or sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = config.read_text() if config.exists() else ""
    if not all(line in text.splitlines() for line in KERNEL_CONFIG.splitlines()):
        config.write_text(text + ("" if not text or text.endswith("\n") else "\n") + KERNEL_CONFIG)
    return config


def keep_c_output_out_of_cells() -> str | None:
    """In a running kernel, keep what C and C++ code writes to stderr out of the cells.

    A stock ipykernel (``capture_fd_output=True``, its default) turns file descriptor 2 into a
    pipe and forwards what arrives there into whichever cell is running: TensorFlow's and XLA's
    start-up log lines (``WARNING: All log messages before absl::InitializeLog()``,
    ``I0000 ... cpu_feature_guard.cc``, ``E0000``/``W0000`` lines) become red boxes. This stops
    that forwarding for fd 2 only, as the quiet kernels of :func:`install_quiet_kernels` do: the
    lines go to the kernel's own stderr (the terminal that runs JupyterLab). Python's
    ``sys.stderr`` is not a file descriptor in a kernel, so warnings and
    ``print(..., file=sys.stderr)`` still show in the cell; C-level stdout is still forwarded.

    Where the kernel's stream is not one this recognises (another ipykernel version, another
    kernel), TensorFlow's own switch is set instead, if TensorFlow is not loaded yet and the
    reader has not set it: ``TF_CPP_MIN_LOG_LEVEL=1`` (no INFO lines; warnings and errors stay).
    ``book_kit.setup_notebook()`` calls this; outside a kernel it does nothing.

    Returns
    -------
    str or None
        ``"fd"`` if fd 2's forwarding was stopped, ``"env"`` if the variable was set, None if
        nothing needed doing (no kernel, a quiet kernel, called before).

    Example
    -------
    >>> keep_c_output_out_of_cells()   # needs a stock Jupyter kernel   # doctest: +SKIP
    'fd'
    >>> keep_c_output_out_of_cells() is None   # outside a kernel: nothing to do
    True
    """
    stream = sys.stderr
    if type(stream).__module__ != "ipykernel.iostream":
        return None  # a terminal, pytest, a script: C-level output is not in any cell
    copy = getattr(stream, "_original_stdstream_copy", None)
    watcher = getattr(stream, "watch_fd_thread", None)
    if getattr(stream, "_original_stdstream_fd", None) == 2 and copy is not None \
            and watcher is not None and hasattr(stream, "_should_watch"):
        if not stream._should_watch:
            return None  # done before
        # ipykernel's watcher thread reads the pipe and forwards while _should_watch holds: clear
        # it, then wake the thread with a byte it reads but no longer forwards, so it ends (and
        # the kernel's shutdown, which writes such a byte and joins it, does not wait for it).
        stream._should_watch = False
        os.write(2, b"\0")
        watcher.join(timeout=5)
        os.dup2(copy, 2)  # fd 2 is the kernel's own stderr again
        return "fd"
    if getattr(stream, "_should_watch", True) is False:
        return None  # a quiet kernel (capture_fd_output=False): nothing is forwarded
    switched = None
    for framework in REGISTRY.values():  # each framework's own switch, read once as it loads
        for name, value in framework.quiet_env.items():
            if framework.name not in sys.modules and name not in os.environ:
                os.environ[name] = value
                switched = "env"
    return switched
