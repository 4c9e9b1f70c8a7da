"""The chapters follow the book: every numbered section of chapter 3 (R edition) is a heading with
its number and title, in the book's order within each notebook, and the deterministic values the
book prints are in the stored outputs.

The list below is the chapter's table of contents (numbers and titles, as identifiers); titles
that name an R function are given with the Python one (``jax$jit()`` is ``jax.jit()``).
"""

import json
import re

import pytest

from conftest import ROOT

BOOK_SECTIONS = [
    ("3.1", "A brief history of deep learning frameworks"),
    ("3.2", "How these frameworks relate to each other"),
    ("3.3", "Introduction to TensorFlow"),
    ("3.3.1", "First steps with TensorFlow"),
    ("3.3.1.1", "Tensors and variables in TensorFlow"),
    ("3.3.1.1.1", "Constant tensors"),
    ("3.3.1.1.2", "Random tensors"),
    ("3.3.1.1.3", "Tensor assignment and the Variable class"),
    ("3.3.1.2", "Tensor operations: Doing math in TensorFlow"),
    ("3.3.1.3", "Gradients in TensorFlow: A second look at the GradientTape API"),
    ("3.3.1.4", "Making TensorFlow functions fast using compilation"),
    ("3.3.2", "An end-to-end example: A linear classifier in pure TensorFlow"),
    ("3.3.3", "What makes the TensorFlow approach unique"),
    ("3.4", "Introduction to PyTorch"),
    ("3.4.1", "First steps with PyTorch"),
    ("3.4.1.1", "Tensors and parameters in PyTorch"),
    ("3.4.1.1.1", "Constant tensors"),
    ("3.4.1.1.2", "Random tensors"),
    ("3.4.1.1.3", "Tensor assignment and the Parameter class"),
    ("3.4.1.2", "Tensor operations: Doing math in PyTorch"),
    ("3.4.1.3", "Computing gradients with PyTorch"),
    ("3.4.2", "An end-to-end example: A linear classifier in pure PyTorch"),
    ("3.4.2.1", "Packaging state and computation with the Module class"),
    ("3.4.2.2", "Making PyTorch modules fast using compilation"),
    ("3.4.3", "What makes the PyTorch approach unique"),
    ("3.5", "Introduction to JAX"),
    ("3.5.1", "First steps with JAX"),
    ("3.5.2", "Tensors in JAX"),
    ("3.5.3", "Random number generation in JAX"),
    ("3.5.3.1", "Tensor assignment"),
    ("3.5.3.2", "Tensor operations: Doing math in JAX"),
    ("3.5.3.3", "Computing gradients with JAX"),
    ("3.5.3.4", "JAX gradient-computation best practices"),
    ("3.5.3.4.1", "Returning the loss value"),
    ("3.5.3.4.2", "Getting gradients for a complex function"),
    ("3.5.3.4.3", "Returning auxiliary outputs"),
    ("3.5.3.5", "Making JAX functions fast with jax.jit()"),
    ("3.5.4", "An end-to-end example: A linear classifier in pure JAX"),
    ("3.5.5", "What makes the JAX approach unique"),
    ("3.6", "Introduction to Keras"),
    ("3.6.1", "First steps with Keras"),
    ("3.6.1.1", "Picking a backend framework"),
    ("3.6.2", "Layers: The building blocks of deep learning"),
    ("3.6.2.1", "The base Layer class in Keras"),
    ("3.6.2.2", "Automatic shape inference: Building layers on the fly"),
    ("3.6.3", "From layers to models"),
    ("3.6.4", "The compile step: Configuring the learning process"),
    ("3.6.5", "Picking a loss function"),
    ("3.6.6", "Understanding the fit() method"),
    ("3.6.7", "Monitoring loss and metrics on validation data"),
    ("3.6.8", "Inference: Using a model after training"),
    ("3.7", "Summary"),
]

# Values the book prints that any machine reproduces exactly (JAX's random generator is the
# same everywhere), as they appear in a stored output.
BOOK_VALUES = {
    "jax.random.normal, key 0": "1.6226422 ,  2.0252647 , -0.43359444",
    "jax.random.normal, key 123": "1.6359469 , 0.8408094 , 0.02212393",
    "jax.random.normal after split": "-0.49093357, -0.9478693 , -1.775197",
}

CHAPTERS = sorted((ROOT / "chapters").glob("ch*.ipynb"))
HEADING = re.compile(r"^#{1,6}\s+(3(?:\.\d+)+)\s+(.*)$")  # the chapter's numbers


def _normal(title: str) -> str:
    """Titles compared without case, quotes, backticks or extra spaces."""
    return " ".join(re.sub(r"[`\"“”'‘’]", "", title).lower().split())


def _numbered_headings(path):
    cells = json.loads(path.read_text())["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                match = HEADING.match(line.strip())
                if match:
                    found.append((match.group(1), match.group(2)))
    return found


def test_every_numbered_section_of_the_book_is_a_heading_with_its_number_and_title():
    headings = {}
    for path in CHAPTERS:
        for number, title in _numbered_headings(path):
            headings.setdefault(number, []).append((path.name, _normal(title)))
    missing = [f"{n} {t}" for n, t in BOOK_SECTIONS if n not in headings]
    assert not missing, "sections with no heading: " + "; ".join(missing)
    for number, title in BOOK_SECTIONS:
        for name, ours in headings[number]:
            assert ours == _normal(title), (f"{name}: {number} is titled {ours!r}, "
                                            f"the book's is {title!r}")
    unknown = set(headings) - {n for n, _ in BOOK_SECTIONS}
    assert not unknown, f"headings numbered like no section of the book: {sorted(unknown)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_numbered_sections_come_in_the_books_order_within_a_notebook(path):
    order = [n for n, _ in BOOK_SECTIONS]
    numbers = [number for number, _ in _numbered_headings(path)]
    positions = [order.index(n) for n in numbers if n in order]
    assert positions == sorted(positions), f"{path.name}: {numbers}"


def test_the_deterministic_values_the_book_prints_are_in_the_stored_outputs():
    stored = ""
    for path in CHAPTERS:
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                stored += "".join(output.get("text", "")) + "".join(
                    output.get("data", {}).get("text/plain", "")) + "\n"
    for what, value in BOOK_VALUES.items():
        assert value in stored, f"{what}: the book's [{value}] is in no stored output"
    # key 123 twice from the same key (the book shows the call twice)
    assert stored.count(BOOK_VALUES["jax.random.normal, key 123"]) >= 2
