"""The IPython shell this code runs in, if any: one question several modules ask."""

from __future__ import annotations

import sys


def ipython_shell():
    """The running IPython shell (a Jupyter kernel's or a terminal's), or None.

    Never imports IPython: code that IPython is not running has not loaded it.

    Example
    -------
    >>> ipython_shell() is None   # in a plain Python process
    True
    """
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None
