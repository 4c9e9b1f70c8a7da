"""Which build of each framework is installed, told from its files without importing it.

Importing the three frameworks to ask them took 3-5 s here, most of ``book-kit info``'s time.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import os
import platform
import re


def installed_version(*distributions: str) -> str | None:
    """The version of the first of ``distributions`` that is installed, or None (imports nothing).

    Example
    -------
    >>> # the version depends on the machine
    >>> installed_version("tensorflow-cpu", "tensorflow")   # doctest: +SKIP
    '2.21.0'
    >>> import numpy as np
    >>> installed_version("numpy") == np.__version__
    True
    >>> installed_version("no-such-distribution") is None
    True
    """
    for dist in distributions:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


# Builds that can only ever see the CPU, told from their files without importing them (importing
# the three frameworks to ask took 3-5 s here, most of `book-kit info`'s time).
_JAX_ACCELERATOR_PLUGINS = ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-rocm60-plugin",
                            "jax-rocm7-plugin", "libtpu", "jax-metal")


def cpu_only(framework: str) -> bool:
    """True when the installed build of ``framework`` has no accelerator support at all.

    Parameters
    ----------
    framework : str
        ``"tensorflow"``, ``"torch"`` or ``"jax"``.

    Returns
    -------
    bool
        False where it cannot tell (then asking the framework is the way to know).

    Example
    -------
    >>> cpu_only("tensorflow")   # tensorflow-cpu installed   # doctest: +SKIP
    True
    """

    if framework == "tensorflow":
        return installed_version("tensorflow-cpu") is not None \
            and installed_version("tensorflow") is None
    if framework == "torch":
        if platform.system() == "Darwin":  # Apple's GPU (MPS) needs no CUDA in the version file
            return False
        spec = importlib.util.find_spec("torch")
        version_file = os.path.join(os.path.dirname(spec.origin), "version.py") if spec else ""
        if not os.path.isfile(version_file):
            return False
        text = open(version_file, encoding="utf-8").read()
        return all(re.search(rf"^{kind}\b.*=\s*None\s*$", text, re.M)
                   for kind in ("cuda", "hip", "xpu"))
    if framework == "jax":
        return not any(installed_version(plugin) for plugin in _JAX_ACCELERATOR_PLUGINS)
    return False
