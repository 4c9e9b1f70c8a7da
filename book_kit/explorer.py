"""An interactive explorer for the linear classifier: pick a framework, a learning rate and a
number of steps; it re-trains from the same start and redraws the decision line and loss curve.

The state lives in ordinary attributes (``framework``, ``learning_rate``, ``steps`` widgets and
``result``), so a notebook cell can set values, call ``run()`` and print ``summary()``: that is what
nbval checks, while the widget's own output (which changes with every redraw) is not compared.
Without a live display (nbval, CI) it trains but does not draw: drawing into an ``Output`` widget
with no browser attached made nbclient wait for its cell timeout on about half the runs here.
"""

from __future__ import annotations

import numpy as np

from book_kit import frameworks
from book_kit.plots.live import live_display_available

# the dropdown shows titles ("PyTorch"); the registry's names ("torch") pick the module
FRAMEWORK_CHOICES = {f.title: f.name for f in frameworks.REGISTRY.values()}
# labels in full ("learning rate", not "learning r...")
LABEL_STYLE = {"description_width": "initial"}


def diverged_at(losses, growth: float = 1e3) -> int | None:
    """The first step (1-based) whose loss is not finite or ``growth`` times the first, else None.

    Example
    -------
    >>> diverged_at([1.0, 0.5, 40.0, 9e4, float("inf")])
    4
    """
    values = np.asarray(losses, dtype=float)
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(values) | (values > growth * max(values[0], 1e-12))
    return int(np.argmax(bad)) + 1 if bad.any() else None


class LinearClassifierExplorer:
    """Widgets for the linear classifier: framework, learning rate and steps; every change
    re-trains from the same start and redraws the decision line and the loss curve.

    Parameters
    ----------
    inputs, targets : array
        The points (n, 2) and their 0/1 labels (n, 1).
    W0, b0 : array
        The start: weights (2, 1) and bias (1,), the same for every run.
    learning_rate, steps, framework : optional
        The sliders' first values.

    Example
    -------
    >>> # needs TensorFlow (it trains at once) and the chapter's inputs
    >>> explorer = LinearClassifierExplorer(inputs, targets, W0, b0)   # doctest: +SKIP
    >>> # needs a notebook: shows the widgets; explorer.learning_rate.value = 0.5 re-trains
    >>> explorer   # doctest: +SKIP
    """

    def __init__(self, inputs, targets, W0, b0, *, learning_rate=0.1, steps=40,
                 framework="TensorFlow"):
        import ipywidgets as widgets

        self.inputs = np.asarray(inputs, dtype="float32")
        self.targets = np.asarray(targets, dtype="float32")
        self.W0 = np.asarray(W0, dtype="float32")
        self.b0 = np.asarray(b0, dtype="float32")
        self.framework = widgets.Dropdown(options=list(FRAMEWORK_CHOICES), value=framework,
                                          description="framework", style=LABEL_STYLE)
        # Wide sliders: at ipywidgets' default width a small drag jumped the rate from 0.05 to 2.
        slider = widgets.Layout(width="640px")
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=0.3,
                                                    step=0.025, description="learning rate",
                                                    readout_format=".3f", continuous_update=False,
                                                    style=LABEL_STYLE, layout=slider)
        self.steps = widgets.IntSlider(value=steps, min=1, max=200, description="steps",
                                       continuous_update=False, style=LABEL_STYLE, layout=slider)
        self.message = widgets.HTML()  # says so when training diverged
        self.output = widgets.Output()
        for control in (self.framework, self.learning_rate, self.steps):
            control.observe(lambda change: self.run(), names="value")
        self.widget = widgets.VBox([self.framework, self.learning_rate, self.steps, self.message,
                                    self.output])
        self.result: dict = {}
        self.run()

    def train(self) -> dict:
        """Train from the fixed start with the current settings (eager: no compile delay)."""
        module = frameworks.get(FRAMEWORK_CHOICES[self.framework.value])
        trainer = module.LinearTrainer(self.inputs, self.targets, self.W0, self.b0,
                                       learning_rate=float(self.learning_rate.value), mode="eager")
        losses = [trainer.step() for _ in range(int(self.steps.value))]
        W, b = trainer.weights()
        return {"framework": self.framework.value, "learning_rate": float(self.learning_rate.value),
                "steps": int(self.steps.value), "losses": losses, "W": W, "b": b,
                "diverged_at": diverged_at(losses)}

    def run(self) -> dict:
        """Train with the current settings, then redraw (when a browser shows the widget)."""
        self.result = self.train()
        step = self.result["diverged_at"]
        self.message.value = "" if step is None else (
            f"<b style='color:#b00020'>Training diverged at step {step}</b>: each step overshot "
            "the minimum by more than the last, so the loss grew without bound. Lower the "
            "learning rate.")
        if live_display_available():  # no browser to draw for (nbval, CI): just train
            self.draw()
        return self.result

    def figure(self):
        """The decision line and the loss curve of the current settings, as a new Figure."""
        import matplotlib.pyplot as plt

        from book_kit.plots import figures
        from book_kit.plots.style import style

        result = self.result
        predictions = self.inputs @ result["W"] + result["b"]
        with style():
            fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
            with np.errstate(all="ignore"):
                if result["diverged_at"] is None and np.all(np.isfinite(predictions)):
                    figures.plot_decision_line(self.inputs, predictions, result["W"],
                                               result["b"], ax=left, title="decision line")
                else:  # no line worth drawing: the points, and why
                    figures.plot_blobs(self.inputs, self.targets, ax=left,
                                       title="no decision line: training diverged")
            losses = np.asarray(result["losses"], dtype=float)
            step = result["diverged_at"]
            if step is not None:  # the curve up to the blow-up, on a log axis, with its step
                losses = losses[:step]
            figures.plot_loss_curves({result["framework"]: losses}, ax=right,
                                     title=f"loss, learning rate {result['learning_rate']:.3f}"
                                     + ("" if step is None else f": diverged at step {step}"))
            if step is not None:
                right.set_yscale("log")
            fig.tight_layout()
        plt.close(fig)
        return fig

    def draw(self):
        """Redraw the decision line and loss curve into the widget's output area."""
        from IPython.display import display

        fig = self.figure()
        self.output.clear_output(wait=True)
        with self.output:
            display(fig)
        return fig

    def summary(self) -> str:
        """One line: framework, learning rate, steps, final loss and weights (what nbval checks)."""
        r = self.result
        if r["diverged_at"] is not None:
            return (f"{r['framework']}: learning rate {r['learning_rate']:.3f}, {r['steps']} "
                    f"steps: diverged at step {r['diverged_at']}")
        numbers = lambda a: "[" + ", ".join(f"{v:.4f}" for v in a.ravel()) + "]"  # noqa: E731
        return (f"{r['framework']}: learning rate {r['learning_rate']:.3f}, {r['steps']} steps, "
                f"final loss {r['losses'][-1]:.4f}, W = {numbers(r['W'])}, b = {numbers(r['b'])}")

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The widget, and for a notebook opened without a kernel (or not trusted, as a fresh
        # download is: JupyterLab then skips widgets) a picture of where the sliders start and
        # a sentence, instead of the bare `VBox(children=...)` text of the widget alone.
        from book_kit.plots.display import png_bundle

        bundle = dict(self.widget._repr_mimebundle_())
        image, _ = png_bundle(self.figure())
        bundle.update(image)
        bundle["text/plain"] = ("The linear-classifier explorer: run this cell, in a running "
                                "kernel, to move its sliders (framework, learning rate, steps).")
        return bundle
