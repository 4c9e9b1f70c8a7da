"""What the three framework modules share: the shape of the linear-classifier trainer."""

from __future__ import annotations

import numpy as np


class LinearTrainer:
    """Full-batch training of the linear classifier from given start weights, in one mode.

    Each framework module subclasses it with ``MODES`` (its registry entry's) and ``_setup``
    (how it holds the data and which step function it runs), ``step`` and ``weights``.

    Parameters
    ----------
    inputs, targets, W0, b0 : array-like
        The data and the starting weights (any array; float32 from here on).
    learning_rate : float
        The gradient-descent step size.
    mode : str
        One of the framework's modes (``"eager"``, ``"jit"``, ...).

    Example
    -------
    >>> from book_kit import frameworks
    >>> # needs JAX and the chapter's inputs, targets, W0 and b0
    >>> trainer = frameworks.get("jax").LinearTrainer(  # doctest: +SKIP
    ...     inputs, targets, W0, b0, mode="jit")
    >>> losses = [trainer.step() for _ in range(40)]   # needs JAX   # doctest: +SKIP
    >>> W, b = trainer.weights()   # needs JAX   # doctest: +SKIP
    """

    MODES: dict[str, str] = {}

    def __init__(self, inputs, targets, W0, b0, *, learning_rate=0.1, mode="eager"):
        if mode not in self.MODES:
            raise ValueError(f"mode is one of {', '.join(self.MODES)}; got {mode!r}")
        self.learning_rate = learning_rate
        self._setup(*(np.asarray(a, dtype="float32") for a in (inputs, targets, W0, b0)), mode)

    def _setup(self, inputs, targets, W0, b0, mode: str) -> None:
        raise NotImplementedError

    def step(self) -> float:
        """One training step on the whole batch; returns the loss before the update."""
        raise NotImplementedError

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The current ``W`` and ``b`` as NumPy arrays (copies)."""
        raise NotImplementedError
