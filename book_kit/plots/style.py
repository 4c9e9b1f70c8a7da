"""The book_kit look: a palette every reader can tell apart, and matplotlib settings."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt

__all__ = ["MISTAKE", "PALETTE", "STYLE", "TRAINING", "VALIDATION", "style"]

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
    """The book_kit look as a context manager: ``with style(): ...`` (``book_kit.plots.style``)."""
    return plt.rc_context(STYLE)
