"""A training plot that redraws while a model trains, in Jupyter; one plot at the end elsewhere.

``LivePlot`` is for hand-written loops (TensorFlow, PyTorch, JAX): call ``update(step, loss=...)``
each step. ``keras_callback()`` gives the same for ``model.fit``. Where there is no live display
(plain Python, nbval, CI: ``BOOK_KIT_STATIC_PLOTS=1`` or ``CI`` set) nothing is redrawn during
training and a single static plot appears at the end, so stored notebook outputs stay stable.
"""

from __future__ import annotations

import os
import time

from book_kit.notebook.shell import ipython_shell


def live_display_available() -> bool:
    """True in a Jupyter kernel where a figure can be redrawn in place (not under tests or CI).

    Example
    -------
    >>> live_display_available()   # in a plain Python shell
    False
    """
    if os.environ.get("BOOK_KIT_STATIC_PLOTS") or os.environ.get("CI"):
        return False
    return type(ipython_shell()).__name__ == "ZMQInteractiveShell"  # a Jupyter kernel


class LivePlot:
    """Collects values per step and keeps one figure up to date.

    ``every_seconds`` limits redraws (drawing costs far more than a training step). Values named
    ``val_...`` go on the same panel as their training counterpart.
    """

    def __init__(self, metrics=None, *, every_seconds: float = 0.5, smooth=None, live=None,
                 xlabel: str = "step"):
        self.rows: list[tuple[int, str, str, float]] = []
        self.metrics, self.smooth, self.xlabel = metrics, smooth, xlabel
        self.every_seconds = every_seconds
        self.live = live_display_available() if live is None else live
        self._handle = None
        self._last_draw = 0.0
        self.figure = None

    def update(self, step: int, **values) -> None:
        """Record this step's values and redraw (at most every ``every_seconds`` seconds).

        Parameters
        ----------
        step : int
            The step or epoch the values belong to.
        **values : float or tensor
            Named values: ``loss=0.3``, ``val_loss=0.4`` (``val_`` ones are drawn as validation).

        Example
        -------
        >>> plot = LivePlot(live=False)   # as outside Jupyter: nothing redrawn while training
        >>> plot.update(3, loss=0.25, val_loss=0.31)
        >>> plot.rows
        [(3, 'loss', 'training', 0.25), (3, 'loss', 'validation', 0.31)]
        """
        from book_kit.frameworks.arrays import to_numpy

        if not values:
            raise ValueError("update(step, loss=0.3, ...) needs at least one named value.")
        for name, value in values.items():
            validation = name.startswith("val_")
            self.rows.append((int(step), name[4:] if validation else name,
                              "validation" if validation else "training",
                              float(to_numpy(value, name))))
        if self.live and time.monotonic() - self._last_draw >= self.every_seconds:
            self._draw()

    def frame(self):
        """Everything recorded so far as a long table: epoch, metric, data, value."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["epoch", "metric", "data", "value"])

    def _figure(self):
        import matplotlib.pyplot as plt

        from book_kit.plots.history import plot_history

        fig = plot_history(self.frame(), metrics=self.metrics, smooth=self.smooth,
                           xlabel=self.xlabel)
        plt.close(fig)  # shown by us, never a second time by pyplot at the end of the cell
        return fig

    def _draw(self) -> None:
        from book_kit.plots.display import show_png

        fig = self._figure()
        if self._handle is None:
            self._handle = show_png(fig, updatable=True)
        else:
            show_png(fig, self._handle)
        self._last_draw = time.monotonic()
        self.figure = fig

    def close(self):
        """Final drawing: bring the live figure up to date, or show the one static plot."""
        if not self.rows:
            return None
        if self.live:
            self._draw()
            return self.figure
        self.figure = self._figure()
        if ipython_shell() is not None:
            from book_kit.plots.display import show_png

            show_png(self.figure)
        return self.figure


def keras_callback(metrics=None, **kwargs):
    """A Keras callback that live-plots each epoch's logs. It imports Keras, so call it after
    choosing the backend."""
    import keras

    class LivePlotCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.plot = LivePlot(metrics=metrics, xlabel="epoch", **kwargs)

        def on_epoch_end(self, epoch, logs=None):
            if logs:
                self.plot.update(epoch + 1, **logs)

        def on_train_end(self, logs=None):
            self.plot.close()

    return LivePlotCallback()
