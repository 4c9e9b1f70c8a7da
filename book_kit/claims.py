"""Check the book's claims about numbers that legitimately differ from one computer to another.

Training results (losses, accuracies, learned weights) depend on the floating-point kernels of the
CPU they ran on: an Intel laptop, an Apple M2 and a cloud AMD machine print different last digits
from the same seed. So a chapter states each such claim with its tolerance, and checks it:

    >>> from book_kit import claims
    >>> claims.close("loss at step 40", 0.02851, 0.0285, tol=5e-4)
    ✔ loss at step 40: 0.0285 ± 0.0005 (this run: 0.02851)

The line says the claim first, then what this computer measured. A claim that does not hold
raises ``ClaimFailed`` with a message that says what was expected and what came out.

The test suite compares these lines exactly, except the ``(this run: ...)`` part, which it masks
(``book_kit/nbval_sanitize.cfg``): the claim is compared on every machine, the number is shown to
the reader.
"""

from __future__ import annotations

import math

import numpy as np

from book_kit.frameworks.arrays import to_numpy
from book_kit.tables import RIGHT

__all__ = ["ClaimFailed", "at_least", "at_most", "close"]

HELD = RIGHT


class ClaimFailed(AssertionError):
    """A claim the chapter makes about a number did not hold on this run."""


def _text(value) -> str:
    """A number or an array as short text: ``0.02851`` or ``[0.1829, -0.1181]`` (6 significant
    digits, 4 in arrays of more than three numbers)."""
    array = np.asarray(to_numpy(value), dtype=float)
    digits = 6 if array.size <= 3 else 4
    if array.size == 1:
        return f"{float(array.reshape(())):.{digits}g}"
    return "[" + ", ".join(f"{v:.{digits}g}" for v in array.reshape(-1)) + "]"


def _fail(what: str, claim: str, value) -> None:
    raise ClaimFailed(
        f"{what}: the chapter claims {claim}, but this run gave {_text(value)}. If you changed a "
        "cell above, run the notebook again from the top (Kernel > Restart and Run All); if not, "
        "please report it with the output of `book-kit info`.")


def close(what: str, value, expected, tol: float) -> None:
    """Check that ``value`` is ``expected`` give or take ``tol`` (absolute), element by element.

    Parameters
    ----------
    what : str
        What the number is, as the reader should read it ("test accuracy").
    value : number, array or tensor
        What this run computed.
    expected : number or sequence of numbers
        The claimed value, written in the notebook.
    tol : float
        The largest absolute difference the claim allows (stated in the printed line).

    Returns
    -------
    None. Prints one line; raises ``ClaimFailed`` when the claim does not hold.

    Example
    -------
    >>> close("W", [0.18291676, -0.11805955], [0.1829, -0.1181], tol=1e-3)
    ✔ W: [0.1829, -0.1181] ± 0.001 (this run: [0.182917, -0.11806])
    """
    got = np.asarray(to_numpy(value), dtype=float)
    want = np.asarray(expected, dtype=float)
    claim = f"{_text(want)} ± {tol:g}"
    if got.shape != want.shape and got.size != want.size:
        raise ClaimFailed(f"{what}: expected {want.size} number(s), this run gave {got.size}.")
    if not (np.all(np.isfinite(got)) and np.all(np.abs(got.reshape(want.shape) - want) <= tol)):
        _fail(what, claim, got)
    print(f"{HELD} {what}: {claim} (this run: {_text(got)})")


def at_least(what: str, value, bound: float) -> None:
    """Check that ``value`` is at least ``bound``; print the claim and this run's value.

    Example
    -------
    >>> at_least("test accuracy", 0.9796, 0.975)
    ✔ test accuracy ≥ 0.975 (this run: 0.9796)
    """
    number = float(np.asarray(to_numpy(value)).reshape(()))
    if math.isnan(number) or number < bound:
        _fail(what, f"≥ {bound:g}", number)
    print(f"{HELD} {what} ≥ {bound:g} (this run: {_text(number)})")


def at_most(what: str, value, bound: float) -> None:
    """Check that ``value`` is at most ``bound``; print the claim and this run's value.

    Example
    -------
    >>> at_most("test MSE", 0.0076, 0.02)
    ✔ test MSE ≤ 0.02 (this run: 0.0076)
    """
    number = float(np.asarray(to_numpy(value)).reshape(()))
    if math.isnan(number) or number > bound:
        _fail(what, f"≤ {bound:g}", number)
    print(f"{HELD} {what} ≤ {bound:g} (this run: {_text(number)})")
