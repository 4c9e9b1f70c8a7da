"""Turn a tensor of any framework into a NumPy array, without importing any framework."""

from __future__ import annotations

import numpy as np

from book_kit.frameworks import KERAS, REGISTRY


def framework_of(x) -> str:
    """'torch', 'tensorflow', 'jax', 'numpy', 'keras' or 'python', read from the object's type.

    Example
    -------
    >>> framework_of(np.zeros(2)), framework_of([1, 2])
    ('numpy', 'python')
    """
    module = type(x).__module__.split(".")[0]
    for framework in REGISTRY.values():
        if module in framework.array_modules:
            return framework.name
    if module in ("numpy", KERAS):  # a Keras variable wraps its backend's tensor
        return module
    return "python"


def to_numpy(x, name: str = "array") -> np.ndarray:
    """A NumPy array from a NumPy array, number, list, or TensorFlow / PyTorch / JAX tensor or
    variable (a PyTorch tensor that requires grad is detached first). Imports no framework.

    Parameters
    ----------
    x : array-like or tensor
        What to convert.
    name : str
        How error messages call ``x``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``x`` is None or cannot become an array.

    Example
    -------
    >>> book_kit.to_numpy([1.0, 2.0])
    array([1., 2.])
    >>> to_numpy([[1, 2]]).shape
    (1, 2)
    """
    if x is None:
        raise ValueError(f"{name} is None; pass an array or tensor.")
    framework = framework_of(x)
    if framework in REGISTRY:  # its framework is loaded already (x is its tensor)
        from book_kit import frameworks

        x = frameworks.get(framework).to_numpy(x)
    elif framework == "keras" and hasattr(x, "numpy"):  # a Keras variable
        x = x.numpy()
    try:
        return np.asarray(x)
    except Exception as e:
        raise ValueError(f"{name} could not be turned into an array ({type(x).__name__}: {e})."
                         ) from None
