"""Plots a reader needs beside the code: training histories (as R's ``plot(history)``), the
chapter's figures 3.1-3.3, and grids of MNIST digits.

Every function takes NumPy arrays or tensors of TensorFlow, PyTorch or JAX, returns the
matplotlib Figure, and checks its input first so a mistake gets a sentence, not a traceback from
deep inside matplotlib.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from book_kit.arrays import to_numpy
from book_kit.liveplot import LivePlot, keras_callback  # noqa: F401  (part of this module's API)

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TRAINING, VALIDATION = PALETTE[0], PALETTE[1]
MISTAKE = PALETTE[1]

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "legend.frameon": False,
}


def style():
    """The book_kit look as a context manager: ``with book_kit.plotting.style(): ...``."""
    return plt.rc_context(STYLE)


def use_retina() -> None:
    """Sharp PNGs in Jupyter (PNG, not SVG: nbval would compare SVG text and see noise)."""
    with contextlib.suppress(Exception):
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def png_bundle(fig) -> tuple[dict, dict]:
    """A sharp (retina) PNG of a figure, as a Jupyter display bundle and its metadata."""
    from IPython.core.pylabtools import retina_figure

    png, size = retina_figure(fig)
    return {"image/png": png}, {"image/png": size}


class BookFigure(Figure):
    """A Figure that shows exactly once in Jupyter: as a cell's last value, through plt.show(),
    or at the end of the cell when it was only assigned (``fig = plot_history(h)``).

    Displaying it also closes it in pyplot, so pyplot's end-of-cell display does not show it a
    second time (with a stray ``<Figure size ...>`` text).
    """

    def _ipython_display_(self):
        from IPython.display import display

        bundle, metadata = png_bundle(self)
        display(bundle, raw=True, metadata=metadata)
        plt.close(self)


def _new_figure(nrows=1, ncols=1, **kwargs):
    return plt.subplots(nrows, ncols, FigureClass=BookFigure, **kwargs)


# --- training histories ----------------------------------------------------------------------

def _as_dicts(history) -> list[dict]:
    if isinstance(history, (list, tuple)):
        if not history:
            raise ValueError("The history list is empty: pass the History that fit() returned.")
        return [d for h in history for d in _as_dicts(h)]
    if hasattr(history, "history") and isinstance(history.history, dict):  # keras History
        return [history.history]
    if isinstance(history, dict):
        return [history]
    raise TypeError(f"Expected a Keras History (what model.fit returns), a dict of lists, or a list "
                    f"of those; got {type(history).__name__}.")


def _epochs_for(n_values: int, n_epochs: int) -> list[int]:
    """1-based epochs for a metric with fewer values than epochs (``validation_freq=k`` validates
    on epochs k, 2k, ...); otherwise the first ``n_values`` epochs."""
    if n_values == n_epochs or n_values == 0:
        return list(range(1, n_values + 1))
    if n_epochs % n_values == 0:
        step = n_epochs // n_values
        return list(range(step, n_epochs + 1, step))
    return list(range(1, n_values + 1))


def history_frame(history) -> pd.DataFrame:
    """Tidy long form, like R's ``as.data.frame(history)``: epoch, metric, data, value.

    Accepts a Keras ``History``, a dict of lists, or a list of them (consecutive ``fit`` calls are
    joined: the second continues the epoch count). Lists of unequal length are lined up by epoch.
    A frame that already has these columns is returned as a copy.
    """
    if isinstance(history, pd.DataFrame):
        missing = {"epoch", "metric", "data", "value"} - set(history.columns)
        if missing:
            raise ValueError(f"A history frame needs columns epoch, metric, data, value; "
                             f"missing {', '.join(sorted(missing))}.")
        if history.empty:
            raise ValueError("The history frame is empty: train for at least one step first.")
        return history.copy()
    rows = []
    offset = 0
    for record in _as_dicts(history):
        lengths = {k: len(v) for k, v in record.items() if _is_sequence(v)}
        if not lengths:
            continue
        n_epochs = max(lengths.values())
        for key, values in record.items():
            if key not in lengths:
                continue
            validation = key.startswith("val_")
            metric = key[4:] if validation else key
            for epoch, value in zip(_epochs_for(len(values), n_epochs), values):
                rows.append((offset + epoch, metric, "validation" if validation else "training",
                             _as_float(value, key)))
        offset += n_epochs
    if not rows:
        raise ValueError("The history has no values: train for at least one epoch "
                         "(history.history was empty).")
    frame = pd.DataFrame(rows, columns=["epoch", "metric", "data", "value"])
    # loss first (the panel readers look at), then metrics in the order training reported them
    names = list(dict.fromkeys(frame["metric"]))
    order = {m: i for i, m in enumerate(sorted(names, key=lambda m: m != "loss"))}
    frame = frame.sort_values(["metric", "data", "epoch"], key=lambda c: c.map(order)
                              if c.name == "metric" else c, kind="stable").reset_index(drop=True)
    return frame


def _is_sequence(v) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


def _as_float(value, key) -> float:
    try:
        return float(to_numpy(value))
    except (TypeError, ValueError):
        raise ValueError(f"History entry {key!r} holds {value!r}, which is not a number.") from None


def history_summary(history) -> str:
    """The final epoch's metrics, as R prints a history."""
    frame = history_frame(history)
    last = frame.loc[frame.groupby(["metric", "data"], sort=False)["epoch"].idxmax()]
    labels = [(("val_" if d == "validation" else "") + m, v)
              for m, d, v in zip(last["metric"], last["data"], last["value"])]
    width = max(len(k) for k, _ in labels)
    epochs = int(frame["epoch"].max())
    lines = [f"Final epoch ({epochs} epoch{'s' if epochs != 1 else ''}; plot to see history):"]
    lines += [f"{k:>{width}}: {v:.4g}" for k, v in labels]
    return "\n".join(lines)


def print_history(history) -> None:
    print(history_summary(history))


def _loess(x: np.ndarray, y: np.ndarray, span: float = 0.75) -> np.ndarray:
    """Local quadratic regression with tricube weights (ggplot's default ``loess`` smoother)."""
    n = len(x)
    k = max(3, int(math.ceil(span * n)))
    fitted = np.empty(n)
    for i, x0 in enumerate(x):
        distance = np.abs(x - x0)
        radius = np.sort(distance)[k - 1] * 1.0001 or 1.0
        weights = np.clip(1 - (distance / radius) ** 3, 0, None) ** 3
        design = np.vstack([np.ones(n), x - x0, (x - x0) ** 2]).T
        sqrt_w = np.sqrt(weights)[:, None]
        coef, *_ = np.linalg.lstsq(design * sqrt_w, y * sqrt_w[:, 0], rcond=None)
        fitted[i] = coef[0]
    return fitted


def plot_history(history, metrics=None, smooth=None, *, figsize=None, xlabel="epoch") -> Figure:
    """One panel per metric, stacked on a shared epoch axis, training vs validation.

    ``smooth=None`` smooths (a loess curve through the points) from 10 epochs on, as R keras3's
    ``plot(history)`` does; ``True``/``False`` force it.
    """
    frame = history_frame(history)
    available = list(dict.fromkeys(frame["metric"]))
    if metrics is None:
        metrics = available
    elif isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m.removeprefix("val_") for m in metrics if m.removeprefix("val_") not in available]
    if unknown:
        raise ValueError(f"No metric named {', '.join(map(repr, unknown))} in this history; "
                         f"it has {', '.join(map(repr, available))}.")
    metrics = list(dict.fromkeys(m.removeprefix("val_") for m in metrics))
    n_epochs = int(frame["epoch"].max())
    if smooth is None:
        smooth = n_epochs >= 10
    with style():
        fig, axes = _new_figure(len(metrics), 1, sharex=True, squeeze=False,
                                figsize=figsize or (7, 1.2 + 2.2 * len(metrics)))
        for ax, metric in zip(axes[:, 0], metrics):
            for data, colour, marker in (("training", TRAINING, "o"), ("validation", VALIDATION, "s")):
                part = frame[(frame.metric == metric) & (frame.data == data)]
                if part.empty:
                    continue
                x, y = part["epoch"].to_numpy(float), part["value"].to_numpy(float)
                finite = np.isfinite(y)
                if not finite.all():
                    warnings.warn(f"{(~finite).sum()} non-finite {data} {metric} value(s) "
                                  "(NaN or inf: did training diverge?) are left out of the plot.",
                                  RuntimeWarning, stacklevel=2)
                    x, y = x[finite], y[finite]
                if len(x) == 0:
                    continue
                ax.plot(x, y, linestyle="none" if smooth else "-", marker=marker, markersize=4,
                        color=colour, label=data, alpha=0.8 if smooth else 1.0)
                if smooth and len(x) >= 4:
                    ax.plot(x, _loess(x, y), color=colour, linewidth=2)
            ax.set_ylabel(metric)
            ax.legend(loc="best")
        bottom = axes[-1, 0]
        bottom.set_xlabel(xlabel)
        bottom.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if n_epochs == 1:
            bottom.set_xlim(0.5, 1.5)
        fig.tight_layout()
    return fig


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
    return _new_figure(figsize=figsize)


def plot_blobs(inputs, targets, *, title="Two classes of random points (fig. 3.1)",
               ax=None) -> Figure:
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
    >>> show_digits(x_test[:20], y_test[:20], predictions=model.predict(x_test[:20]))
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
        fig, axes = _new_figure(rows, columns, squeeze=False,
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


__all__ = ["history_frame", "history_summary", "print_history", "plot_history", "plot_blobs",
           "plot_predictions", "plot_decision_line", "plot_loss_curves", "show_digits", "to_numpy",
           "style", "LivePlot", "keras_callback", "PALETTE"]

use_retina()
