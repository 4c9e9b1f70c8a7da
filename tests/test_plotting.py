"""History frames and figures: structure checked here, PNGs written for a person to look at
(test-artifacts/plotting/)."""

import json
import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from book_kit import datasets, plotting  # noqa: E402
from conftest import ROOT  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts" / "plotting"

KERAS_FIT = """
    import json
    import book_kit
    book_kit.use_backend("{backend}")
    book_kit.set_seed(0)
    import keras
    from book_kit import datasets, plotting
    inputs, targets = datasets.make_blobs(200, seed=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    live = plotting.keras_callback()
    history = model.fit(inputs, targets, epochs=12, batch_size=64, validation_split=0.3,
                        shuffle=True, verbose=0, callbacks=[live])
    print(json.dumps({{"history": history.history, "epoch": history.epoch,
                      "live_rows": len(live.plot.rows), "live_closed": live.plot.figure is not None}}))
"""


def _save(fig, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(ARTIFACTS / f"{name}.png")
    plt.close(fig)


def _colour(artist):
    return mcolors.to_hex(artist.get_color() if hasattr(artist, "get_color")
                          else artist.get_facecolor()[0])


# --- history_frame ---------------------------------------------------------------------------

def test_frame_is_tidy_and_one_based():
    frame = plotting.history_frame({"loss": [0.9, 0.5], "accuracy": [0.6, 0.8],
                                    "val_loss": [1.0, 0.7], "val_accuracy": [0.5, 0.7]})
    assert list(frame.columns) == ["epoch", "metric", "data", "value"]
    assert list(frame["metric"].unique()) == ["loss", "accuracy"]
    assert set(frame["data"]) == {"training", "validation"}
    row = frame[(frame.metric == "loss") & (frame.data == "validation") & (frame.epoch == 2)]
    assert row["value"].item() == 0.7
    assert frame["epoch"].min() == 1 and len(frame) == 8


def test_frame_joins_consecutive_fits_by_epoch():
    class History:  # what keras.callbacks.History looks like from outside
        def __init__(self, h):
            self.history = h

    frame = plotting.history_frame([History({"loss": [3.0, 2.0]}), {"loss": [1.0, 0.5, 0.25]}])
    assert frame["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert frame["value"].tolist() == [3.0, 2.0, 1.0, 0.5, 0.25]


def test_frame_lines_up_ragged_lists():
    # validation_freq=2 over 6 epochs; a learning_rate key that a callback added in a second fit
    frame = plotting.history_frame([{"loss": [6, 5, 4, 3, 2, 1], "val_loss": [5.5, 3.5, 1.5]},
                                    {"loss": [0.9, 0.8], "learning_rate": [0.01, 0.001]}])
    val = frame[frame.data == "validation"]
    assert val["epoch"].tolist() == [2, 4, 6]
    lr = frame[frame.metric == "learning_rate"]
    assert lr["epoch"].tolist() == [7, 8]
    early = plotting.history_frame({"loss": [1, 2, 3], "val_loss": [1, 2]})  # no even spacing
    assert early[early.data == "validation"]["epoch"].tolist() == [1, 2]


@pytest.mark.parametrize("bad, words", [
    ({}, "no values"), ([], "list is empty"), ({"loss": []}, "no values"),
    ("loss", "Expected a Keras History"), ({"loss": ["high"]}, "not a number"),
])
def test_frame_bad_input_explains(bad, words):
    with pytest.raises((ValueError, TypeError), match=words):
        plotting.history_frame(bad)


def test_summary_prints_the_final_epoch(capsys):
    plotting.print_history({"loss": [0.5, 0.123456], "val_loss": [0.6, 0.2]})
    out = capsys.readouterr().out
    assert out.splitlines() == ["Final epoch (2 epochs; plot to see history):",
                                "    loss: 0.1235", "val_loss: 0.2"]


# --- plot_history ----------------------------------------------------------------------------

def test_plot_history_one_panel_per_metric_training_vs_validation():
    history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.85],
               "val_loss": [1.0, 0.7, 0.6], "val_accuracy": [0.5, 0.7, 0.75]}
    fig = plotting.plot_history(history)
    loss_ax, acc_ax = fig.axes[:2]
    assert len(fig.axes) == 2
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert acc_ax.get_xlabel() == "epoch"
    assert loss_ax.get_shared_x_axes().joined(loss_ax, acc_ax)
    labels = [line.get_label() for line in loss_ax.lines]
    assert labels == ["training", "validation"]  # 3 epochs: lines, no smoothing
    assert [_colour(line) for line in loss_ax.lines] == [plotting.TRAINING.lower(),
                                                         plotting.VALIDATION.lower()]
    assert all(float(t).is_integer() for t in acc_ax.get_xticks())
    _save(fig, "history_3_epochs")


def test_plot_history_smooths_from_ten_epochs_like_r():
    epochs = np.arange(1, 16)
    history = {"loss": list(1 / epochs + 0.05 * np.sin(epochs)), "val_loss": list(1.2 / epochs)}
    fig = plotting.plot_history(history)
    ax = fig.axes[0]
    assert len(ax.lines) == 4  # points + a loess curve for each of training and validation
    points, curve = ax.lines[0], ax.lines[1]
    assert points.get_linestyle() == "None" and curve.get_linestyle() == "-"
    assert np.all(np.diff(curve.get_ydata()) < 0.05)  # the curve follows the downward trend
    _save(fig, "history_15_epochs_smoothed")
    assert len(plotting.plot_history(history, smooth=False).axes[0].lines) == 2


def test_plot_history_selects_metrics_and_rejects_unknown():
    history = {"loss": [1, 0.5], "accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5]}
    fig = plotting.plot_history(history, metrics="val_accuracy")
    assert [ax.get_ylabel() for ax in fig.axes] == ["accuracy"]
    with pytest.raises(ValueError, match="No metric named 'acc'.*it has 'loss', 'accuracy'"):
        plotting.plot_history(history, metrics=["acc"])


def test_plot_history_one_epoch_and_non_finite_values():
    fig = plotting.plot_history({"loss": [0.7]})
    assert fig.axes[0].get_xlim() == (0.5, 1.5)
    _save(fig, "history_1_epoch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plotting.plot_history({"loss": [1.0, float("nan"), 0.5, float("inf")]})
    assert any("non-finite" in str(w.message) for w in caught)
    assert list(fig.axes[0].lines[0].get_ydata()) == [1.0, 0.5]


# --- real Keras histories from every backend ----------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_real_keras_history_and_live_callback(py, backend):
    out = py(KERAS_FIT.format(backend=backend), env={"BOOK_KIT_STATIC_PLOTS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    history = result["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    frame = plotting.history_frame(history)
    assert len(frame) == 4 * 12 and frame["epoch"].max() == 12
    fig = plotting.plot_history(history)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert all(len(ax.lines) == 4 for ax in fig.axes)  # 12 epochs: smoothed
    _save(fig, f"history_keras_{backend}")
    assert result["live_rows"] == 4 * 12 and result["live_closed"]


# --- the chapter's figures ---------------------------------------------------------------

def test_blobs_predictions_and_decision_line():
    inputs, targets = datasets.make_blobs(seed=0)
    fig = plotting.plot_blobs(inputs, targets)
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.collections] == ["class 0", "class 1"]
    assert [len(c.get_offsets()) for c in ax.collections] == [1000, 1000]
    assert [_colour(c) for c in ax.collections] == [plotting.TRAINING.lower(),
                                                    plotting.VALIDATION.lower()]
    _save(fig, "fig_3_1_blobs")

    W, b = np.array([[0.2], [-0.2]]), np.array([0.5])  # the line x - y = 0
    predictions = inputs @ W + b
    fig = plotting.plot_predictions(inputs, predictions)
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == \
        [int((predictions <= 0.5).sum()), int((predictions > 0.5).sum())]
    _save(fig, "fig_3_2_predictions")

    fig = plotting.plot_decision_line(inputs, predictions, W, b)
    line = next(l for l in fig.axes[0].lines if l.get_label() == "decision line")
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(0.2 * x - 0.2 * y + 0.5, 0.5, atol=1e-9)
    _save(fig, "fig_3_3_decision_line")


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_figures_take_tensors_of_every_framework(py, framework):
    make = {"torch": "import torch; t = lambda a: torch.tensor(a, requires_grad=True)",
            "tensorflow": "import tensorflow as tf; t = lambda a: tf.Variable(a)",
            "jax": "import jax.numpy as jnp; t = jnp.asarray"}[framework]
    out = py(f"""
        import matplotlib; matplotlib.use("Agg")
        {make}
        from book_kit import datasets, plotting
        inputs, targets = datasets.make_blobs(50, seed=1)
        W, b = t([[0.1], [-0.1]]), t([0.5])
        fig = plotting.plot_decision_line(t(inputs), t(targets), W, b)
        fig = plotting.plot_blobs(t(inputs), t(targets))
        print(sum(len(c.get_offsets()) for c in fig.axes[0].collections))
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "100"


@pytest.mark.parametrize("call, words", [
    (lambda x, y: plotting.plot_blobs(x[:, :1], y), r"shape \(n, 2\)"),
    (lambda x, y: plotting.plot_blobs(x, y[:10]), "10 values but there are 2000 points"),
    (lambda x, y: plotting.plot_blobs(None, y), "inputs is None"),
    (lambda x, y: plotting.plot_decision_line(x, y, np.ones(3), 0.0), "W should hold 2 weights"),
    (lambda x, y: plotting.plot_decision_line(x, y, np.ones(2), [1, 2]), "b should hold 1 value"),
    (lambda x, y: plotting.show_digits(np.zeros((3, 5)), [1, 2, 3]), r"\(n, 28, 28\)"),
    (lambda x, y: plotting.show_digits(np.zeros((3, 28, 28)), [1, 2]), "3 images but 2 labels"),
])
def test_figure_helpers_explain_mismatched_shapes(call, words):
    inputs, targets = datasets.make_blobs(seed=0)
    with pytest.raises(ValueError, match=words):
        call(inputs, targets)


def test_show_digits_marks_mistakes():
    (x, y), _ = datasets.load_mnist()
    x, y = x[:20], y[:20]
    wrong = y.copy()
    wrong[[3, 7]] = (wrong[[3, 7]] + 1) % 10
    fig = plotting.show_digits(x.reshape(20, 784), y, predictions=np.eye(10)[wrong], columns=5)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 20 and titles[3] == f"{wrong[3]} (true {y[3]})"
    red = [i for i, ax in enumerate(fig.axes) if mcolors.to_hex(ax.title.get_color())
           == plotting.MISTAKE.lower()]
    assert red == [3, 7]
    _save(fig, "mnist_digits_mistakes")


def test_captioned_digits_stay_legible_at_a_notebooks_width():
    (x, y), _ = datasets.load_mnist()
    fig = plotting.show_digits(x[:20], y[:20], predictions=(y[:20] + 1) % 10, columns=10)
    width = fig.get_size_inches()[0]
    assert width <= plotting.MAX_FIGURE_WIDTH  # not shrunk to fit a notebook
    assert min(ax.title.get_fontsize() for ax in fig.axes) >= 10  # points, at 100 dpi
    # each caption fits its panel: no caption wider than the panel it sits over
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert ax.title.get_window_extent(renderer).width <= \
            ax.get_window_extent(renderer).width * 1.3
    _save(fig, "mnist_digits_captions")


def test_show_digits_takes_channels_last_images_as_image_layers_return_them():
    (x, y), _ = datasets.load_mnist()
    fig = plotting.show_digits(x[:4, :, :, None] / 255, y[:4])
    shown = fig.axes[2].images[0].get_array()
    assert shown.shape == (28, 28) and np.allclose(shown, x[2] / 255)


def test_live_plot_without_display_draws_once_at_the_end():
    live = plotting.LivePlot(live=False)
    for step in range(1, 31):
        live.update(step, loss=1 / step, val_loss=math.sqrt(1 / step))
    assert live.figure is None  # nothing drawn while training
    fig = live.close()
    assert fig.axes[0].get_xlabel() == "step" and len(fig.axes[0].lines) == 4
    _save(fig, "live_plot_final")
    with pytest.raises(ValueError, match="at least one named value"):
        live.update(31)


def test_in_jupyter_each_figure_shows_exactly_once(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    # as a chapter's first cell does: setup_notebook() makes figures sharp PNGs shown at the end
    # of the cell (without it, a figure only assigned waits for the next plt.show())
    setup = ("import matplotlib.pyplot as plt, numpy as np\nimport book_kit\n"
             "book_kit.setup_notebook()\nfrom book_kit import plotting\n"
             "h = {'loss': [1.0, 0.5, 0.25]}")
    cells = [setup,
             "plotting.plot_history(h)",                     # the cell's value
             "fig = plotting.plot_history(h)",               # only assigned
             "plotting.plot_history(h)\nplt.show()",         # the book's habit
             "fig = plotting.plot_history(h)\nfig"]          # assigned, then the value
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells[1:]:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        texts = [o for o in cell.outputs if "text/plain" in o.get("data", {})]
        assert len(images) == 1, (cell.source, cell.outputs)
        assert not texts, f"stray text repr in {cell.source!r}"


def test_the_explorer_says_when_training_diverged():
    from book_kit import explorer

    assert explorer.diverged_at([1.0, 0.5, 0.25]) is None
    assert explorer.diverged_at([1.0, 0.5, 40.0, 9e4, float("inf")]) == 4
    assert explorer.diverged_at([1.0, float("nan")]) == 2
    inputs, targets = datasets.make_blobs(seed=0)
    start = np.full((2, 1), 0.5, "float32"), np.zeros((1,), "float32")
    widget = explorer.LinearClassifierExplorer(inputs, targets, *start, framework="PyTorch")
    assert widget.message.value == "" and "final loss" in widget.summary()
    widget.learning_rate.value = 1.995  # the slider's top: every step overshoots
    assert "diverged at step" in widget.summary()
    assert "Training diverged at step" in widget.message.value
    assert widget.learning_rate.layout.width == "640px"  # a drag moves it in small steps
    fig = widget.draw()
    assert fig.axes[1].get_yscale() == "log" and "diverged" in fig.axes[1].get_title()
    _save(fig, "explorer_diverged")


def test_side_by_side_source_is_highlighted_and_never_broken_mid_word():
    from book_kit import compare

    page = compare.show_source("training_step").data
    assert page.count("<pre ") == 3
    assert "white-space:pre;" in page and "word-break:normal" in page and "overflow-x:auto" in page
    assert '<span style="color: #008000; font-weight: bold">def</span>' in page  # highlighted
    for name in ("TensorFlow", "PyTorch", "JAX"):
        assert f">{name}</div>" in page
