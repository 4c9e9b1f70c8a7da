"""Compare two runs of a notebook the way strict nbval compares a run with the stored outputs.

nbval compares only while it executes; the browser test runs notebooks in JupyterLab and compares
afterwards, so it reuses nbval's own pieces here: its stream merging, its sanitizer file format
(our nbval_sanitize.cfg), the output fields it never compares (images, widget model ids,
tracebacks, execution counts) and its tags (nbval-ignore-output, nbval-skip).
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

from book_kit.notebook import convention
from book_kit.notebook.runner import SANITIZE_FILE

# nbval's IPyNbFile.skip_compare without --nbdime
SKIPPED = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
           "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}
NOT_COMPARED = {convention.IGNORE_OUTPUT, "nbval-skip"}
PATTERNS = get_sanitize_patterns(SANITIZE_FILE.read_text(encoding="utf-8"))


def _sanitize(value):
    if not isinstance(value, str):
        return value
    for regex, replace in PATTERNS:
        value = re.sub(regex, replace, value)
    return value


def comparable(outputs) -> dict:
    """One cell's outputs as nbval compares them: mime type or stream name -> sanitized values."""
    fields = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(list(outputs)))):
        for key, value in output.items():
            if key in SKIPPED:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIPPED:
                        fields[mime].append(_sanitize(data))
            else:
                fields[key].append(_sanitize(value))
    return dict(fields)


def differences(test_nb, reference_nb, *, limit: int = 5) -> list[str]:
    """The code cells whose outputs in ``test_nb`` differ from ``reference_nb``'s (by cell id),
    each with the first differing field; at most ``limit`` of them. Empty: they agree.

    Example
    -------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("print(1)", id="a", outputs=[
    ...     nbformat.v4.new_output("stream", name="stdout", text="1\\n")])
    >>> nb = nbformat.v4.new_notebook(cells=[cell])
    >>> differences(nb, nb)
    []
    """
    reference = {cell.id: cell for cell in reference_nb.cells if cell.cell_type == "code"}
    found = []
    for cell in test_nb.cells:
        if cell.cell_type != "code" or NOT_COMPARED & set(convention.tags(cell)):
            continue
        got, stored = comparable(cell.outputs), comparable(reference[cell.id].outputs)
        if got != stored:
            key = next(k for k in sorted(set(got) | set(stored)) if got.get(k) != stored.get(k))
            found.append(f"cell {cell.id}, {key}:\n  this run: {str(got.get(key))[:600]}\n"
                         f"  reference: {str(stored.get(key))[:600]}")
            if len(found) == limit:
                break
    return found
