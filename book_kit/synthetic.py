"""The chapter's synthetic data: two classes of random points for the linear classifier.

(Kept apart from ``book_kit.datasets``, which downloads and verifies files; public as
``book_kit.make_blobs``.)
"""

from __future__ import annotations

# make_blobs is public as book_kit.make_blobs


def make_blobs(n_per_class: int = 1000, seed: int | None = None):
    """Two 2-D Gaussian classes, the chapter's linear-classifier data (listing 3.x).

    Negatives (target 0) around (0, 3), positives (target 1) around (3, 0), both with covariance
    [[1, 0.5], [0.5, 1]]; negatives first, as in the book. ``inputs`` is float32 (2n, 2) and
    ``targets`` float32 (2n, 1). With ``seed=None`` NumPy's global generator is used (so
    ``book_kit.set_seed`` makes it repeatable), otherwise a generator of its own.

    Parameters
    ----------
    n_per_class : int
        Points in each class.
    seed : int, optional
        A seed for a generator of its own; None uses NumPy's global one.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``inputs`` (2n, 2) and ``targets`` (2n, 1), float32.

    Example
    -------
    >>> inputs, targets = make_blobs(seed=0)
    >>> inputs.shape, targets.shape
    ((2000, 2), (2000, 1))
    """
    import numpy as np

    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) \
            or n_per_class < 1:
        raise ValueError(f"n_per_class is a whole number of samples per class (>= 1); "
                         f"got {n_per_class!r}.")
    rng = np.random if seed is None else np.random.default_rng(seed)
    cov = [[1, 0.5], [0.5, 1]]
    negative = rng.multivariate_normal(mean=[0, 3], cov=cov, size=n_per_class)
    positive = rng.multivariate_normal(mean=[3, 0], cov=cov, size=n_per_class)
    inputs = np.vstack((negative, positive)).astype(np.float32)
    targets = np.vstack((np.zeros((n_per_class, 1), dtype="float32"),
                         np.ones((n_per_class, 1), dtype="float32")))
    return inputs, targets
