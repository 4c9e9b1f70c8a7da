"""Run one thing in every framework and put the answers side by side.

- ``derivative_table``: f, f' and f'' of one function by GradientTape, autograd and jax.grad.
- ``step_timings``: the linear classifier's training step, eager and compiled, per framework,
  with every compiled variant checked against eager (the benchmarks call the same code).
- ``show_source``: one helper's source in the three framework modules, in three columns.
"""

from __future__ import annotations

import html
import statistics
import time

import numpy as np

from book_kit import frameworks
from book_kit.tables import RIGHT, WRONG, print_table

# (framework, mode) in the order the chapter introduces them, from the registry
STEP_VARIANTS = [(f.name, mode) for f in frameworks.REGISTRY.values() for mode in f.modes]
# the compiled variants, whose first call pays for tracing and compiling
COMPILED = [("tensorflow", "function"), ("tensorflow", "xla"), ("torch", "compile"),
            ("jax", "jit")]


def derivative_table(fn, x: float, analytic: tuple[float, float, float], *,
                     names=frameworks.NAMES, tolerance: float = 1e-6) -> bool:
    """Print f(x), f'(x), f''(x) from each framework beside the analytic values; return whether
    every framework agrees within ``tolerance`` (absolute).

    ``fn(x, math)`` is written once; ``math`` is tf.math, torch or jax.numpy, so ``math.sin``
    means each framework's own sin.
    """
    rows, agree = [], True
    for name in names:
        module = frameworks.get(name)
        values = module.derivatives(fn, x)
        error = max(abs(v - a) for v, a in zip(values, analytic))
        agree &= error <= tolerance
        rows.append((module.NAME, *(f"{v:.6f}" for v in values), f"{error:.1e}",
                     RIGHT if error <= tolerance else WRONG))
    rows.append(("analytic", *(f"{a:.6f}" for a in analytic), "", ""))
    print_table(["framework", "f(x)", "f'(x)", "f''(x)", "max |error|", "agrees"], rows)
    return agree


def _median_step(trainer, steps: int) -> float:
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _relative_difference(got, reference) -> float:
    got, reference = np.asarray(got, dtype=float), np.asarray(reference, dtype=float)
    scale = np.maximum(np.abs(reference), 1e-6)  # near-zero weights: compare absolutely
    return float(np.max(np.abs(got - reference) / scale))


def step_timings(inputs, targets, W0, b0, *, steps: int = 50, learning_rate: float = 0.1,
                 check_steps: int = 20, variants=STEP_VARIANTS, rtol: float = 1e-5):
    """Time each variant of the training step; verify each against its framework's eager run.

    Returns a pandas DataFrame: name and mode (the keys: ``("torch", "compile")``), framework
    and variant (their labels for readers), first call (ms), median step (µs),
    speed-up vs eager, max rel. diff (the largest relative difference from the same framework's
    eager run over ``check_steps`` losses and the final weights, from the same start) and
    matches eager (that difference within ``rtol``).
    """
    import pandas as pd

    rows, eager_runs, eager_median = [], {}, {}
    for name, mode in variants:
        module = frameworks.get(name)
        trainer = module.LinearTrainer(inputs, targets, W0, b0, learning_rate=learning_rate,
                                       mode=mode)
        start = time.perf_counter()
        losses = [trainer.step()]  # the first call pays for tracing / compiling
        first = time.perf_counter() - start
        losses += [trainer.step() for _ in range(check_steps - 1)]
        W, b = trainer.weights()
        median = _median_step(trainer, steps)
        if mode == "eager":
            eager_runs[name], eager_median[name] = (losses, W, b), median
            difference = 0.0
        else:
            ref_losses, ref_W, ref_b = eager_runs[name]
            difference = max(_relative_difference(losses, ref_losses),
                             _relative_difference(W, ref_W), _relative_difference(b, ref_b))
        rows.append({"name": name, "mode": mode,
                     "framework": module.NAME, "variant": module.MODES[mode],
                     "first call (ms)": 1e3 * first, "median step (µs)": 1e6 * median,
                     "speed-up vs eager": eager_median[name] / median,
                     "max rel. diff": difference, "matches eager": bool(difference <= rtol)})
    return pd.DataFrame(rows)


def speed_claims(timings) -> list[tuple[str, bool]]:
    """The chapter's claims about speed, judged from this machine's :func:`step_timings`.

    Parameters
    ----------
    timings : pandas.DataFrame or list of dict
        Rows with ``name``, ``mode``, ``first call (ms)`` and ``median step (µs)``, every
        variant of :data:`STEP_VARIANTS` present (the benchmarks pass one problem size's rows).

    Returns
    -------
    list of (str, bool)
        Each claim and whether it held. "Compiling costs the first call" holds when every
        compiled variant's first call took more than 3 of its median steps.

    Example
    -------
    >>> # needs TensorFlow, PyTorch, JAX and the chapter's inputs (it times their steps)
    >>> for claim, held in speed_claims(step_timings(inputs, targets, W0, b0)):  # doctest: +SKIP
    ...     print("held" if held else "did not hold", claim)

    Timings made up for the example: every step 100 µs, jax.jit's 20 µs, XLA's 50 µs:

    >>> steps = {("jax", "jit"): 20.0, ("tensorflow", "xla"): 50.0}
    >>> rows = [{"name": name, "mode": mode, "first call (ms)": 5.0,
    ...          "median step (µs)": steps.get((name, mode), 100.0)}
    ...         for name, mode in STEP_VARIANTS]
    >>> for claim, held in speed_claims(rows):
    ...     print("held" if held else "did not hold", claim)
    held compiling costs the first call (tf.function, XLA, torch.compile, jax.jit)
    held XLA is faster than TF eager
    did not hold PyTorch eager is the slowest eager framework
    held jax.jit is the fastest step of all
    did not hold torch.compile beats torch eager at this size
    """
    rows = timings.to_dict("records") if hasattr(timings, "to_dict") else list(timings)
    median = {(r["name"], r["mode"]): r["median step (µs)"] for r in rows}
    first = {(r["name"], r["mode"]): 1e3 * r["first call (ms)"] for r in rows}  # in µs too
    eager = {key: value for key, value in median.items() if key[1] == "eager"}
    return [
        ("compiling costs the first call (tf.function, XLA, torch.compile, jax.jit)",
         all(first[key] > 3 * median[key] for key in COMPILED)),
        ("XLA is faster than TF eager",
         median["tensorflow", "xla"] < median["tensorflow", "eager"]),
        ("PyTorch eager is the slowest eager framework",
         max(eager, key=eager.get) == ("torch", "eager")),
        ("jax.jit is the fastest step of all", min(median, key=median.get) == ("jax", "jit")),
        ("torch.compile beats torch eager at this size",
         median["torch", "compile"] < median["torch", "eager"]),
    ]


def show_source(name: str, names=frameworks.NAMES):
    """The source of ``name`` (e.g. "training_step") in each framework module, side by side.

    Parameters
    ----------
    name : str
        A function every framework module defines: ``model``, ``mean_squared_error``,
        ``training_step`` or ``derivatives``.
    names : list of str, optional
        The framework modules to show, in order.

    Returns
    -------
    IPython.display.HTML
        One column per framework, highlighted, each as wide as its longest line; columns that
        do not fit side by side wrap below each other, and no line is ever broken.

    Example
    -------
    >>> from book_kit import compare
    >>> compare.show_source("training_step")  # in a notebook cell: three columns of code
    <IPython.core.display.HTML object>
    """
    from IPython.display import HTML
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    # Inline styles only: JupyterLab keeps them in a stored (untrusted) notebook, not <style>.
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style="default")
    columns = []
    for framework in names:
        code = highlight(frameworks.source(framework, name), PythonLexer(), formatter)
        columns.append(
            "<div style='flex:0 1 auto;max-width:100%'>"
            f"<div style='font-weight:bold;margin-bottom:4px'>"
            f"{html.escape(frameworks.title(framework))}</div>"
            "<pre style='white-space:pre;word-break:normal;overflow-wrap:normal;overflow-x:auto;"
            "font-size:12.5px;line-height:1.4;margin:0;padding:6px;background:#f7f7f7'>"
            f"{code}</pre></div>")
    # Each column as wide as its longest line; columns that do not fit beside each other go
    # below, so no line is cut or broken (a narrow screen scrolls a column sideways instead).
    return HTML("<div style='display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start'>"
                f"{''.join(columns)}</div>")
