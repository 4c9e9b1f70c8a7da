"""The harness really compares stored outputs: the example passes, a changed output fails."""

import json

from book_kit.notebook import runner

from conftest import ROOT

EXAMPLE = ROOT / "tests" / "notebooks" / "nbval_example.ipynb"


def test_example_notebook_passes_strict_nbval():
    result = runner.run_nbval(EXAMPLE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "5 passed" in result.stdout


def test_a_changed_stored_output_fails(tmp_path):
    nb = json.loads(EXAMPLE.read_text())
    last = nb["cells"][-1]
    assert "".join(last["outputs"][0]["data"]["text/plain"]) == "90"
    last["outputs"][0]["data"]["text/plain"] = "91"
    changed = tmp_path / EXAMPLE.name
    changed.write_text(json.dumps(nb))
    result = runner.run_nbval(changed)
    assert result.returncode != 0
    assert "1 failed, 4 passed" in result.stdout
    assert "91" in result.stdout and "90" in result.stdout


def test_an_exception_that_stops_being_raised_fails(tmp_path):
    nb = json.loads(EXAMPLE.read_text())
    raising = next(c for c in nb["cells"] if "NBVAL_RAISES_EXCEPTION" in "".join(c["source"]))
    raising["source"] = "# NBVAL_RAISES_EXCEPTION\n1 / 1"
    changed = tmp_path / EXAMPLE.name
    changed.write_text(json.dumps(nb))
    assert runner.run_nbval(changed).returncode != 0


def test_sanitize_file_has_every_rule():
    from nbval.plugin import get_sanitize_patterns

    rules = get_sanitize_patterns(runner.SANITIZE_FILE.read_text())
    assert len(rules) == 8
    assert ("\\x1b\\[[0-9;]*[A-Za-z]", "") in rules  # an empty replacement, not a dropped rule
