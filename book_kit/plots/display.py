"""How figures reach the notebook: sharp PNGs, shown once, updated in place when live.

Nothing here runs on import: ``use_retina()`` is called by ``book_kit.setup_notebook()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["BookFigure", "new_figure", "png_bundle", "show_png", "use_retina"]


def use_retina() -> None:
    """Sharp PNGs in Jupyter (PNG, not SVG: nbval would compare SVG text and see noise)."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def png_bundle(fig) -> tuple[dict, dict]:
    """A sharp (retina) PNG of a figure, as a Jupyter display bundle and its metadata."""
    from IPython.core.pylabtools import retina_figure

    png, size = retina_figure(fig)
    return {"image/png": png}, {"image/png": size}


def show_png(fig, handle=None, *, updatable: bool = False):
    """Show ``fig`` as a sharp PNG in the notebook; with ``handle``, replace what it showed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to show.
    handle : IPython.display.DisplayHandle, optional
        What an earlier call returned, to redraw in place (a live plot).
    updatable : bool
        Return a handle for later updates.

    Returns
    -------
    IPython.display.DisplayHandle or None
        With ``updatable``, the handle for later updates; else None.

    Example
    -------
    >>> fig, ax = new_figure()
    >>> # needs a notebook: shows the figure in the cell (plain Python prints the PNG's bytes)
    >>> handle = show_png(fig, updatable=True)   # doctest: +SKIP
    >>> show_png(fig, handle)   # the same output, redrawn (needs a notebook)   # doctest: +SKIP
    """
    from IPython.display import display

    bundle, metadata = png_bundle(fig)
    if handle is not None:
        handle.update(bundle, raw=True, metadata=metadata)
        return None
    return display(bundle, raw=True, metadata=metadata, display_id=True if updatable else None)


class BookFigure(Figure):
    """A Figure that shows exactly once in Jupyter: as a cell's last value, through plt.show(),
    or at the end of the cell when it was only assigned (``fig = plot_history(h)``).

    Displaying it also closes it in pyplot, so pyplot's end-of-cell display does not show it a
    second time (with a stray ``<Figure size ...>`` text).
    """

    def _ipython_display_(self):
        show_png(self)
        plt.close(self)


def new_figure(nrows=1, ncols=1, **kwargs):
    """``plt.subplots`` making a :class:`BookFigure`: returns ``(figure, axes)``.

    Example
    -------
    >>> fig, ax = new_figure(figsize=(5, 4))
    >>> fig
    <BookFigure size 500x400 with 1 Axes>
    """
    return plt.subplots(nrows, ncols, FigureClass=BookFigure, **kwargs)
