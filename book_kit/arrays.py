"""Turn a tensor of any framework into a NumPy array, without importing any framework."""

from __future__ import annotations

import numpy as np

from book_kit.frameworks import REGISTRY


def framework_of(x) -> str:
    """'torch', 'tensorflow', 'jax', 'numpy' or 'python', read from the object's type."""
    module = type(x).__module__.split(".")[0]
    if module in ("torch", "tensorflow", "numpy"):
        return module
    if module in ("jax", "jaxlib"):
        return "jax"
    if module == "keras":  # a Keras variable wraps its backend's tensor
        return "keras"
    return "python"


def to_numpy(x, name: str = "array") -> np.ndarray:
    """NumPy array from a NumPy array, number, list, or TensorFlow / PyTorch / JAX tensor or
    variable (a PyTorch tensor that requires grad is detached first)."""
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
