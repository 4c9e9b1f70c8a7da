"""The chapter's figures and digit grids: structure checked here, PNGs written for a person to
look at (test-artifacts/plotting/)."""

import matplotlib
import matplotlib.colors as mcolors

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import book_kit  # noqa: E402
from book_kit.plots import figures, style  # noqa: E402

from plot_artifacts import colour, save  # noqa: E402


def test_blobs_predictions_and_decision_line():
    inputs, targets = book_kit.make_blobs(seed=0)
    fig = book_kit.plot_blobs(inputs, targets)
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.collections] == ["class 0", "class 1"]
    assert [len(c.get_offsets()) for c in ax.collections] == [1000, 1000]
    assert [colour(c) for c in ax.collections] == [style.TRAINING.lower(),
                                                    style.VALIDATION.lower()]
    save(fig, "fig_3_1_blobs")

    W, b = np.array([[0.2], [-0.2]]), np.array([0.5])  # the line x - y = 0
    predictions = inputs @ W + b
    fig = book_kit.plot_predictions(inputs, predictions)
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == \
        [int((predictions <= 0.5).sum()), int((predictions > 0.5).sum())]
    save(fig, "fig_3_2_predictions")

    fig = book_kit.plot_decision_line(inputs, predictions, W, b)
    line = next(ln for ln in fig.axes[0].lines if ln.get_label() == "decision line")
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(0.2 * x - 0.2 * y + 0.5, 0.5, atol=1e-9)
    save(fig, "fig_3_3_decision_line")


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_figures_take_tensors_of_every_framework(py, framework):
    make = {"torch": "import torch; t = lambda a: torch.tensor(a, requires_grad=True)",
            "tensorflow": "import tensorflow as tf; t = lambda a: tf.Variable(a)",
            "jax": "import jax.numpy as jnp; t = jnp.asarray"}[framework]
    out = py(f"""
        import matplotlib; matplotlib.use("Agg")
        {make}
        import book_kit
        inputs, targets = book_kit.make_blobs(50, seed=1)
        W, b = t([[0.1], [-0.1]]), t([0.5])
        fig = book_kit.plot_decision_line(t(inputs), t(targets), W, b)
        fig = book_kit.plot_blobs(t(inputs), t(targets))
        print(sum(len(c.get_offsets()) for c in fig.axes[0].collections))
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "100"


@pytest.mark.parametrize("call, words", [
    (lambda x, y: book_kit.plot_blobs(x[:, :1], y), r"shape \(n, 2\)"),
    (lambda x, y: book_kit.plot_blobs(x, y[:10]), "10 values but there are 2000 points"),
    (lambda x, y: book_kit.plot_blobs(None, y), "inputs is None"),
    (lambda x, y: book_kit.plot_decision_line(x, y, np.ones(3), 0.0), "W should hold 2 weights"),
    (lambda x, y: book_kit.plot_decision_line(x, y, np.ones(2), [1, 2]), "b should hold 1 value"),
    (lambda x, y: book_kit.show_digits(np.zeros((3, 5)), [1, 2, 3]), r"\(n, 28, 28\)"),
    (lambda x, y: book_kit.show_digits(np.zeros((3, 28, 28)), [1, 2]), "3 images but 2 labels"),
])
def test_figure_helpers_explain_mismatched_shapes(call, words):
    inputs, targets = book_kit.make_blobs(seed=0)
    with pytest.raises(ValueError, match=words):
        call(inputs, targets)


def test_show_digits_marks_mistakes():
    (x, y), _ = book_kit.load_mnist()
    x, y = x[:20], y[:20]
    wrong = y.copy()
    wrong[[3, 7]] = (wrong[[3, 7]] + 1) % 10
    fig = book_kit.show_digits(x.reshape(20, 784), y, predictions=np.eye(10)[wrong], columns=5)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 20 and titles[3] == f"{wrong[3]} (true {y[3]})"
    red = [i for i, ax in enumerate(fig.axes) if mcolors.to_hex(ax.title.get_color())
           == style.MISTAKE.lower()]
    assert red == [3, 7]
    save(fig, "mnist_digits_mistakes")


def test_captioned_digits_stay_legible_at_a_notebooks_width():
    (x, y), _ = book_kit.load_mnist()
    fig = book_kit.show_digits(x[:20], y[:20], predictions=(y[:20] + 1) % 10, columns=10)
    width = fig.get_size_inches()[0]
    assert width <= figures.MAX_FIGURE_WIDTH  # not shrunk to fit a notebook
    assert min(ax.title.get_fontsize() for ax in fig.axes) >= 10  # points, at 100 dpi
    # each caption fits its panel: no caption wider than the panel it sits over
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert ax.title.get_window_extent(renderer).width <= \
            ax.get_window_extent(renderer).width * 1.3
    save(fig, "mnist_digits_captions")


def test_show_digits_takes_channels_last_images_as_image_layers_return_them():
    (x, y), _ = book_kit.load_mnist()
    fig = book_kit.show_digits(x[:4, :, :, None] / 255, y[:4])
    shown = fig.axes[2].images[0].get_array()
    assert shown.shape == (28, 28) and np.allclose(shown, x[2] / 255)
