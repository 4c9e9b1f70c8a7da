"""The live plot, and figures in Jupyter: each shown once."""

import math

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402

import book_kit  # noqa: E402

from plot_artifacts import save  # noqa: E402


def test_live_plot_without_display_draws_once_at_the_end():
    live = book_kit.LivePlot(live=False)
    for step in range(1, 31):
        live.update(step, loss=1 / step, val_loss=math.sqrt(1 / step))
    assert live.figure is None  # nothing drawn while training
    fig = live.close()
    assert fig.axes[0].get_xlabel() == "step" and len(fig.axes[0].lines) == 4
    save(fig, "live_plot_final")
    with pytest.raises(ValueError, match="at least one named value"):
        live.update(31)


def test_in_jupyter_each_figure_shows_exactly_once(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    # as a chapter's first cell does: setup_notebook() makes figures sharp PNGs shown at the end
    # of the cell (without it, a figure only assigned waits for the next plt.show())
    setup = ("import matplotlib.pyplot as plt, numpy as np\nimport book_kit\n"
             "book_kit.setup_notebook()\n"
             "h = {'loss': [1.0, 0.5, 0.25]}")
    cells = [setup,
             "book_kit.plot_history(h)",                     # the cell's value
             "fig = book_kit.plot_history(h)",               # only assigned
             "book_kit.plot_history(h)\nplt.show()",         # the book's habit
             "fig = book_kit.plot_history(h)\nfig"]          # assigned, then the value
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells[1:]:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        texts = [o for o in cell.outputs if "text/plain" in o.get("data", {})]
        assert len(images) == 1, (cell.source, cell.outputs)
        assert not texts, f"stray text repr in {cell.source!r}"
