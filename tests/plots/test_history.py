"""Training histories: the tidy frame, R's plot(history), a real Keras fit."""

import json
import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import book_kit  # noqa: E402
from book_kit.plots import style  # noqa: E402

from plot_artifacts import colour, save  # noqa: E402

KERAS_FIT = """
    import json
    import book_kit
    book_kit.use_backend("{backend}")
    book_kit.set_seed(0)
    import keras
    inputs, targets = book_kit.make_blobs(200, seed=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    live = book_kit.keras_callback()
    history = model.fit(inputs, targets, epochs=12, batch_size=64, validation_split=0.3,
                        shuffle=True, verbose=0, callbacks=[live])
    print(json.dumps({{"history": history.history, "epoch": history.epoch,
                      "live_rows": len(live.plot.rows),
                      "live_closed": live.plot.figure is not None}}))
"""


def test_frame_is_tidy_and_one_based():
    frame = book_kit.history_frame({"loss": [0.9, 0.5], "accuracy": [0.6, 0.8],
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

    frame = book_kit.history_frame([History({"loss": [3.0, 2.0]}), {"loss": [1.0, 0.5, 0.25]}])
    assert frame["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert frame["value"].tolist() == [3.0, 2.0, 1.0, 0.5, 0.25]


def test_frame_lines_up_ragged_lists():
    # validation_freq=2 over 6 epochs; a learning_rate key that a callback added in a second fit
    frame = book_kit.history_frame([{"loss": [6, 5, 4, 3, 2, 1], "val_loss": [5.5, 3.5, 1.5]},
                                    {"loss": [0.9, 0.8], "learning_rate": [0.01, 0.001]}])
    val = frame[frame.data == "validation"]
    assert val["epoch"].tolist() == [2, 4, 6]
    lr = frame[frame.metric == "learning_rate"]
    assert lr["epoch"].tolist() == [7, 8]
    early = book_kit.history_frame({"loss": [1, 2, 3], "val_loss": [1, 2]})  # no even spacing
    assert early[early.data == "validation"]["epoch"].tolist() == [1, 2]


@pytest.mark.parametrize("bad, words", [
    ({}, "no values"), ([], "list is empty"), ({"loss": []}, "no values"),
    ("loss", "Expected a Keras History"), ({"loss": ["high"]}, "not a number"),
])
def test_frame_bad_input_explains(bad, words):
    with pytest.raises((ValueError, TypeError), match=words):
        book_kit.history_frame(bad)


def test_summary_prints_the_final_epoch(capsys):
    book_kit.print_history({"loss": [0.5, 0.123456], "val_loss": [0.6, 0.2]})
    out = capsys.readouterr().out
    assert out.splitlines() == ["Final epoch (2 epochs; plot to see history):",
                                "    loss: 0.1235", "val_loss: 0.2"]


def test_plot_history_one_panel_per_metric_training_vs_validation():
    history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.85],
               "val_loss": [1.0, 0.7, 0.6], "val_accuracy": [0.5, 0.7, 0.75]}
    fig = book_kit.plot_history(history)
    loss_ax, acc_ax = fig.axes[:2]
    assert len(fig.axes) == 2
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert acc_ax.get_xlabel() == "epoch"
    assert loss_ax.get_shared_x_axes().joined(loss_ax, acc_ax)
    labels = [line.get_label() for line in loss_ax.lines]
    assert labels == ["training", "validation"]  # 3 epochs: lines, no smoothing
    assert [colour(line) for line in loss_ax.lines] == [style.TRAINING.lower(),
                                                         style.VALIDATION.lower()]
    assert all(float(t).is_integer() for t in acc_ax.get_xticks())
    save(fig, "history_3_epochs")


def test_plot_history_smooths_from_ten_epochs_like_r():
    epochs = np.arange(1, 16)
    history = {"loss": list(1 / epochs + 0.05 * np.sin(epochs)), "val_loss": list(1.2 / epochs)}
    fig = book_kit.plot_history(history)
    ax = fig.axes[0]
    assert len(ax.lines) == 4  # points + a loess curve for each of training and validation
    points, curve = ax.lines[0], ax.lines[1]
    assert points.get_linestyle() == "None" and curve.get_linestyle() == "-"
    assert np.all(np.diff(curve.get_ydata()) < 0.05)  # the curve follows the downward trend
    save(fig, "history_15_epochs_smoothed")
    assert len(book_kit.plot_history(history, smooth=False).axes[0].lines) == 2


def test_plot_history_selects_metrics_and_rejects_unknown():
    history = {"loss": [1, 0.5], "accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5]}
    fig = book_kit.plot_history(history, metrics="val_accuracy")
    assert [ax.get_ylabel() for ax in fig.axes] == ["accuracy"]
    with pytest.raises(ValueError, match="No metric named 'acc'.*it has 'loss', 'accuracy'"):
        book_kit.plot_history(history, metrics=["acc"])


def test_plot_history_one_epoch_and_non_finite_values():
    fig = book_kit.plot_history({"loss": [0.7]})
    assert fig.axes[0].get_xlim() == (0.5, 1.5)
    save(fig, "history_1_epoch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = book_kit.plot_history({"loss": [1.0, float("nan"), 0.5, float("inf")]})
    assert any("non-finite" in str(w.message) for w in caught)
    assert list(fig.axes[0].lines[0].get_ydata()) == [1.0, 0.5]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_real_keras_history_and_live_callback(py, backend):
    out = py(KERAS_FIT.format(backend=backend), env={"BOOK_KIT_STATIC_PLOTS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    history = result["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    frame = book_kit.history_frame(history)
    assert len(frame) == 4 * 12 and frame["epoch"].max() == 12
    fig = book_kit.plot_history(history)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert all(len(ax.lines) == 4 for ax in fig.axes)  # 12 epochs: smoothed
    save(fig, f"history_keras_{backend}")
    assert result["live_rows"] == 4 * 12 and result["live_closed"]
