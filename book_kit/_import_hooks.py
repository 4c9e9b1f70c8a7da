"""Run a function right after a module is first imported, without importing it ourselves.

``set_seed`` needs this: importing TensorFlow (or Keras) just to seed it would lock the Keras
backend, so instead we seed it the moment the reader's own code imports it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading

_pending: dict[str, list] = {}
_lock = threading.Lock()


def when_imported(module: str, callback, around=None) -> None:
    """Call ``callback(module_object)`` once ``module`` has been imported (now, if it already is).

    Parameters
    ----------
    module : str
        A top-level module's name, e.g. ``"keras"``.
    callback : callable
        Called with the module once its code has run.
    around : callable, optional
        Returns a context manager that the module's code runs inside (entered just before it,
        left just after, also when it raises); not used if the module is imported already.
        ``set_seed`` gives the random generators back what a framework's import drew from them.

    Example
    -------
    >>> when_imported("sys", lambda sys: print(sys.__name__))   # imported already: called now
    sys
    >>> # a hook in this process's imports, printing when (or now, if) Keras is imported
    >>> when_imported("keras", lambda keras: print(keras.__version__))   # doctest: +SKIP
    """
    if module in sys.modules:
        callback(sys.modules[module])
        return
    with _lock:
        hooks = _pending.setdefault(module, [])
        if (around, callback) not in hooks:  # set_seed twice registers once
            hooks.append((around, callback))
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


class _LoaderThatNotifies(importlib.abc.Loader):
    def __init__(self, loader, name):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with _lock:
            arounds = [around() for around, _ in _pending.get(self._name, []) if around is not None]
        with contextlib.ExitStack() as stack:
            for context in arounds:
                stack.enter_context(context)
            try:
                self._loader.exec_module(module)
            finally:
                # Hand the module its real loader back so nothing downstream ever sees this wrapper.
                module.__loader__ = self._loader
                if module.__spec__ is not None:
                    module.__spec__.loader = self._loader
        with _lock:
            hooks = _pending.pop(self._name, [])
        for _, callback in hooks:
            callback(module)

    def __getattr__(self, attr):  # get_resource_reader, is_package, ... of the real loader
        return getattr(self._loader, attr)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _LoaderThatNotifies(spec.loader, name)
                return spec
        return None


_finder = _Finder()
