"""Training histories: the long table R's ``as.data.frame(history)`` gives, its summary, its
plot."""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from book_kit.frameworks.arrays import to_numpy
from book_kit.plots.display import new_figure
from book_kit.plots.style import TRAINING, VALIDATION, style

# history_frame, plot_history and print_history are public as book_kit.NAME
__all__ = ["history_summary"]


def _as_dicts(history) -> list[dict]:
    if isinstance(history, (list, tuple)):
        if not history:
            raise ValueError("The history list is empty: pass the History that fit() returned.")
        return [d for h in history for d in _as_dicts(h)]
    if hasattr(history, "history") and isinstance(history.history, dict):  # keras History
        return [history.history]
    if isinstance(history, dict):
        return [history]
    raise TypeError(f"Expected a Keras History (what model.fit returns), a dict of lists, or a "
                    f"list of those; got {type(history).__name__}.")


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
    """Print :func:`history_summary` (the last epoch's metrics), as R prints a history.

    Example
    -------
    >>> print_history(model.fit(x, y, epochs=3, verbose=0))   # needs Keras   # doctest: +SKIP
    >>> print_history({"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.6, 0.4]})   # a dict too
    Final epoch (3 epochs; plot to see history):
        loss: 0.3
    val_loss: 0.4
    """
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
        fig, axes = new_figure(len(metrics), 1, sharex=True, squeeze=False,
                                figsize=figsize or (7, 1.2 + 2.2 * len(metrics)))
        for ax, metric in zip(axes[:, 0], metrics):
            for data, colour, marker in (("training", TRAINING, "o"),
                                         ("validation", VALIDATION, "s")):
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
