"""The linear-classifier explorer (ch03_2)."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

import book_kit  # noqa: E402

from plot_artifacts import save  # noqa: E402


def test_the_explorer_says_when_training_diverged():
    from book_kit import explorer

    assert explorer.diverged_at([1.0, 0.5, 0.25]) is None
    assert explorer.diverged_at([1.0, 0.5, 40.0, 9e4, float("inf")]) == 4
    assert explorer.diverged_at([1.0, float("nan")]) == 2
    inputs, targets = book_kit.make_blobs(seed=0)
    start = np.full((2, 1), 0.5, "float32"), np.zeros((1,), "float32")
    widget = explorer.LinearClassifierExplorer(inputs, targets, *start, framework="PyTorch")
    assert widget.message.value == "" and "final loss" in widget.summary()
    widget.learning_rate.value = 1.995  # the slider's top: every step overshoots
    assert "diverged at step" in widget.summary()
    assert "Training diverged at step" in widget.message.value
    assert widget.learning_rate.layout.width == "640px"  # a drag moves it in small steps
    fig = widget.draw()
    assert fig.axes[1].get_yscale() == "log" and "diverged" in fig.axes[1].get_title()
    save(fig, "explorer_diverged")


def test_the_explorer_shows_a_picture_and_a_sentence_where_no_kernel_runs_it():
    """A notebook opened without a kernel (or untrusted, as a fresh download is) cannot show
    the widget: its stored output then falls back to a picture of the start and a sentence."""
    from book_kit import explorer

    inputs, targets = book_kit.make_blobs(seed=0)
    start = np.full((2, 1), 0.5, "float32"), np.zeros((1,), "float32")
    bundle = explorer.LinearClassifierExplorer(inputs, targets, *start)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"] and "run this cell" in bundle["text/plain"]
    assert "VBox" not in bundle["text/plain"]
