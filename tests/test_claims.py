"""The chapter's claims about machine-dependent numbers: a fixed claim, this run's value masked."""

import doctest
import re

import numpy as np
import pytest

from book_kit import claims
from book_kit.notebook import runner


def test_docstring_examples_hold():
    assert doctest.testmod(claims).failed == 0


def test_a_claim_that_holds_prints_one_line(capsys):
    claims.close("loss", np.float32(0.02851), 0.0285, tol=1e-4)
    claims.at_least("accuracy", 0.98, 0.975)
    claims.at_most("MSE", 0.01, 0.02)
    assert capsys.readouterr().out.splitlines() == [
        "✔ loss: 0.0285 ± 0.0001 (this run: 0.02851)",
        "✔ accuracy ≥ 0.975 (this run: 0.98)",
        "✔ MSE ≤ 0.02 (this run: 0.01)"]


@pytest.mark.parametrize("call", [
    lambda: claims.close("loss", 0.03, 0.0285, tol=1e-4),
    lambda: claims.close("W", [0.1, 0.3], [0.1, 0.2], tol=1e-3),
    lambda: claims.close("loss", float("nan"), 0.0285, tol=1e-4),
    lambda: claims.at_least("accuracy", 0.5, 0.975),
    lambda: claims.at_least("accuracy", float("nan"), 0.975),
    lambda: claims.at_most("MSE", 0.5, 0.02),
])
def test_a_claim_that_fails_says_what_and_what_to_do(call, capsys):
    with pytest.raises(claims.ClaimFailed, match="the chapter claims .* but this run gave .*"
                                                 "Restart and Run All"):
        call()
    assert capsys.readouterr().out == ""


def test_wrong_number_of_values_is_explained():
    with pytest.raises(claims.ClaimFailed, match="expected 2 number"):
        claims.close("W", [0.1, 0.2, 0.3], [0.1, 0.2], tol=1e-3)


def test_the_sanitizer_masks_only_this_runs_value():
    from nbval.plugin import get_sanitize_patterns

    rules = get_sanitize_patterns(runner.SANITIZE_FILE.read_text())
    line = "✔ W: [0.1829, -0.1181] ± 0.0001 (this run: [0.182917, -0.11806])"
    for pattern, replacement in rules:
        line = re.sub(pattern, replacement, line)
    assert line == "✔ W: [0.1829, -0.1181] ± 0.0001 (this run: <machine-dependent>)"
