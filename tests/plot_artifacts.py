"""Where the plot tests write their PNGs, for a person to look at (test-artifacts/plotting/)."""

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt

from conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "plotting"


def save(fig, name):
    """Write ``fig`` as ARTIFACTS/<name>.png and close it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(ARTIFACTS / f"{name}.png")
    plt.close(fig)


def colour(artist):
    """An artist's colour as #rrggbb."""
    return mcolors.to_hex(artist.get_color() if hasattr(artist, "get_color")
                          else artist.get_facecolor()[0])
