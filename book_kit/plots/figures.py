"""The chapter's figures 3.1-3.3, loss curves side by side, and grids of MNIST digits.

Every function takes NumPy arrays or tensors of TensorFlow, PyTorch or JAX, returns the
matplotlib Figure, and checks its input first so a mistake gets a sentence, not a traceback from
deep inside matplotlib.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from book_kit.frameworks.arrays import to_numpy
from book_kit.plots.display import new_figure
from book_kit.plots.style import MISTAKE, PALETTE, TRAINING, VALIDATION, style

# --- the chapter's figures -------------------------------------------------------------------


def _points(inputs, name="inputs") -> np.ndarray:
    points = to_numpy(inputs, name)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} should have shape (n, 2): one row per point, x and y; "
                         f"got shape {points.shape}.")
    return points.astype(float)


def _labels(values, n, name) -> np.ndarray:
    labels = to_numpy(values, name)
    if labels.size != n:
        raise ValueError(f"{name} has {labels.size} values but there are {n} points; "
                         f"pass one value per point (shape ({n},) or ({n}, 1)).")
    return labels.reshape(n).astype(float)


def _scatter(ax, points, classes):
    for value, colour, label in ((0, TRAINING, "class 0"), (1, VALIDATION, "class 1")):
        mask = classes == value
        ax.scatter(points[mask, 0], points[mask, 1], s=8, color=colour, label=label, alpha=0.7)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper right", markerscale=2)


def _figure_and_axes(ax, figsize=(5.5, 4.5)):
    """Draw on the axes given, or on a new figure of our own."""
    if ax is not None:
        return ax.figure, ax
    return new_figure(figsize=figsize)


def plot_blobs(inputs, targets, *, title="Two classes of random points (fig. 3.1)",
               ax=None) -> Figure:
    """The two classes of random points, coloured by class (the chapter's figure 3.1).

    Parameters
    ----------
    inputs : array (n, 2)
        The points.
    targets : array (n,) or (n, 1)
        Their classes, 0 or 1.
    title : str
        The figure's title.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> inputs, targets = book_kit.make_blobs(seed=0)
    >>> book_kit.plot_blobs(inputs, targets)   # in a notebook: the figure
    <BookFigure size 550x450 with 1 Axes>
    """
    points = _points(inputs)
    classes = _labels(targets, len(points), "targets")
    with style():
        fig, ax = _figure_and_axes(ax)
        _scatter(ax, points, classes)
        ax.set_title(title)
        fig.tight_layout()
    return fig


def plot_predictions(inputs, predictions, *, threshold=0.5, ax=None,
                     title="Predictions: class 1 where the model says > 0.5 (fig. 3.2)") -> Figure:
    """The points coloured by the model's predicted class (figure 3.2).

    Parameters
    ----------
    inputs : array (n, 2)
        The points.
    predictions : array (n,) or (n, 1)
        The model's scores; above ``threshold`` is class 1.
    threshold : float
        Where class 0 ends.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> inputs, targets = book_kit.make_blobs(seed=0)
    >>> W, b = np.array([[0.1], [0.2]]), np.array([0.3])
    >>> book_kit.plot_predictions(inputs, inputs @ W + b)   # the chapter: model(inputs, W, b)
    <BookFigure size 550x450 with 1 Axes>
    """
    points = _points(inputs)
    scores = _labels(predictions, len(points), "predictions")
    with style():
        fig, ax = _figure_and_axes(ax)
        _scatter(ax, points, (scores > threshold).astype(float))
        ax.set_title(title)
        fig.tight_layout()
    return fig


def plot_decision_line(inputs, predictions, W, b, *, threshold=0.5, ax=None,
                       title="The decision line w1*x + w2*y + b = 0.5 (fig. 3.3)") -> Figure:
    """Points coloured by predicted class, and the line where the model's output is 0.5."""
    points = _points(inputs)
    scores = _labels(predictions, len(points), "predictions")
    weights = to_numpy(W, "W").reshape(-1).astype(float)
    if weights.size != 2:
        raise ValueError(f"W should hold 2 weights (shape (2, 1)); got {weights.size} values.")
    bias = to_numpy(b, "b").reshape(-1).astype(float)
    if bias.size != 1:
        raise ValueError(f"b should hold 1 value (shape (1,)); got {bias.size} values.")
    w1, w2, bias = weights[0], weights[1], bias[0]
    with style():
        fig, ax = _figure_and_axes(ax)
        _scatter(ax, points, (scores > threshold).astype(float))
        x = np.linspace(points[:, 0].min() - 0.5, points[:, 0].max() + 0.5, 100)
        if abs(w2) > 1e-12:
            ax.plot(x, (threshold - bias - w1 * x) / w2, color="black", linewidth=2,
                    label="decision line")
        else:  # a vertical line: x = (0.5 - b) / w1
            ax.axvline((threshold - bias) / w1, color="black", linewidth=2, label="decision line")
        ax.set_ylim(points[:, 1].min() - 0.5, points[:, 1].max() + 0.5)
        ax.legend(loc="upper right", markerscale=2)
        ax.set_title(title)
        fig.tight_layout()
    return fig


def plot_loss_curves(curves: dict, *, title="Loss per training step", ax=None,
                     xlabel="step") -> Figure:
    """Several loss curves on one axis, e.g. {"TensorFlow": [...], "PyTorch": [...]}."""
    if not curves:
        raise ValueError("No curves: pass a dict of name -> list of losses.")
    styles = ["-", "--", ":", "-."]
    with style():
        fig, ax = _figure_and_axes(ax, figsize=(6.5, 4))
        for i, (name, values) in enumerate(curves.items()):
            values = to_numpy(values, f"curve {name!r}").reshape(-1).astype(float)
            ax.plot(np.arange(1, len(values) + 1), values, styles[i % len(styles)],
                    color=PALETTE[i % len(PALETTE)], linewidth=2, label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.legend(loc="best")
        fig.tight_layout()
    return fig


MAX_FIGURE_WIDTH = 9.0  # inches, for captioned digits: narrower than a notebook at 100 dpi


def show_digits(images, labels, predictions=None, *, n=None, columns=10, title=None) -> Figure:
    """A grid of digits titled with their labels; with predictions, mistakes are marked in red.

    Parameters
    ----------
    images : array
        Shape (n, 28, 28), (n, 28, 28, 1) or (n, 784).
    labels : array
        The true digits (or one-hot rows), one per image.
    predictions : array, optional
        Predicted digits (or class probabilities); each panel is then titled
        "prediction (true label)" and a mistake is framed in red.
    n : int, optional
        Show only the first ``n``.
    columns : int
        Panels per row at most (fewer with predictions, so captions stay legible).
    title : str, optional
        A title above the grid.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> # needs MNIST and a trained Keras model
    >>> show_digits(x_test[:20], y_test[:20],  # doctest: +SKIP
    ...             predictions=model.predict(x_test[:20]))
    >>> images = np.random.default_rng(0).integers(0, 256, (20, 28, 28))   # noise, not digits
    >>> labels = np.arange(20) % 10
    >>> wrong = np.where(labels == 3, 8, labels)   # every 3 predicted as 8: framed in red
    >>> show_digits(images, labels, predictions=wrong)
    <BookFigure size 875x640 with 20 Axes>
    """
    pixels = to_numpy(images, "images")
    if pixels.ndim == 2 and pixels.shape[1] == 784:
        pixels = pixels.reshape(-1, 28, 28)
    if pixels.ndim == 4 and pixels.shape[-1] == 1:  # channels-last, as image layers return them
        pixels = pixels[..., 0]
    if pixels.ndim != 3:
        raise ValueError("images should have shape (n, 28, 28), (n, 28, 28, 1) or (n, 784); "
                         f"got {pixels.shape}.")
    truth = to_numpy(labels, "labels")
    if truth.ndim == 2 and truth.shape[1] > 1:  # one-hot
        truth = truth.argmax(axis=1)
    truth = truth.reshape(-1)
    if len(truth) != len(pixels):
        raise ValueError(f"{len(pixels)} images but {len(truth)} labels; pass one label per image.")
    guess = None
    if predictions is not None:
        guess = to_numpy(predictions, "predictions")
        if guess.ndim == 2 and guess.shape[1] > 1:  # class probabilities
            guess = guess.argmax(axis=1)
        guess = guess.reshape(-1)
        if len(guess) != len(pixels):
            raise ValueError(f"{len(pixels)} images but {len(guess)} predictions.")
    count = len(pixels) if n is None else min(n, len(pixels))
    if count == 0:
        raise ValueError("No images to show.")
    # Captions with a prediction ("7 (true 2)") need wider panels; the figure stays about as wide
    # as a notebook, where JupyterLab would otherwise shrink it and the captions with it.
    panel = 1.1 if guess is None else 1.75
    if guess is not None:
        columns = min(columns, int(MAX_FIGURE_WIDTH // panel))
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    with style():
        fig, axes = new_figure(rows, columns, squeeze=False,
                                figsize=(panel * columns, (1.35 if guess is None else 1.6) * rows))
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i >= count:
                continue
            ax.imshow(pixels[i], cmap="gray_r")
            text = f"{int(truth[i])}"
            colour = "black"
            if guess is not None:
                text = f"{int(guess[i])} (true {int(truth[i])})"
                if int(guess[i]) != int(truth[i]):
                    colour = MISTAKE
                    ax.axis("on")
                    ax.set_xticks([]), ax.set_yticks([])
                    for spine in ax.spines.values():
                        spine.set_visible(True)
                        spine.set_color(MISTAKE)
                        spine.set_linewidth(2)
            ax.set_title(text, fontsize=10 if guess is None else 11, color=colour)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig
