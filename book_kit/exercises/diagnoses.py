"""The usual mistakes, recognised by their symptom: what probably went wrong, and what to change.

A check that only says "your answer is None" or "raised RuntimeError: a leaf Variable ..." leaves
a newcomer guessing. The same few mistakes cause most wrong answers in chapter 3 (a gradient of an
unwatched ``tf.constant``, an in-place update of a PyTorch parameter outside ``torch.no_grad()``,
a Python ``if`` on a traced JAX value, a column where a row was expected ...), and each leaves a
recognisable value or exception. :func:`diagnose_value` reads a wrong value, and
:func:`diagnose_exception` an exception raised by the student's function; both return a sentence
for the student, or None when they recognise nothing.

Nothing here imports a framework: a value's framework is read from its type's module and class
name, an exception's from its class and message (book_kit must not load TensorFlow to tell a
PyTorch user what went wrong, and importing TensorFlow would lock the Keras backend).
"""

from __future__ import annotations

import math
import re

import numpy as np

from book_kit.frameworks import KERAS, REGISTRY
from book_kit.frameworks.arrays import framework_of

__all__ = ["diagnose_exception", "diagnose_value", "shape_diagnosis"]


# --- which framework ---------------------------------------------------------------------------

def _framework_named(what: str) -> str | None:
    """The framework a check's `what` names ("TensorFlow's answer", "gradient_torch()")."""
    words = set(re.findall(r"[a-z]+", what.lower()))  # "gradient_tf()" -> {"gradient", "tf"}
    for framework in REGISTRY.values():
        if words & set(framework.aliases):
            return framework.name
    return None


def _framework_of(value) -> str | None:
    """The framework whose object ``value`` is, from its type's module (nothing is imported)."""
    framework = framework_of(value)
    return None if framework == "python" else framework


_TITLES = {**{f.name: f.title for f in REGISTRY.values()}, KERAS: "Keras", "numpy": "NumPy"}


# --- values ------------------------------------------------------------------------------------

_RETURN = "did the function forget to `return` its result?"

_NONE_BECAUSE = {
    "tensorflow": (
        "in TensorFlow, `tape.gradient(y, x)` is None when x is not a tf.Variable and was not "
        "watched (a tf.constant is not: call `tape.watch(x)` first thing inside the "
        "`with tf.GradientTape() as tape:` block, or make x a tf.Variable), when y was computed "
        "outside that block, or when y does not depend on x (or x holds integers: use floats). "
        f"Or {_RETURN}"),
    "torch": (
        "in PyTorch, `x.grad` is None until `backward()` has run on a result computed from x, and "
        "stays None unless x was made with `requires_grad=True` (`torch.tensor(1.5, "
        "requires_grad=True)`) and is that tensor itself, not the result of an operation on it "
        "(`x * 2`, `x.to(...)` keep no .grad). Call `y.backward()` before reading `x.grad`. "
        f"Or {_RETURN}"),
    "jax": (
        f"{_RETURN} A JAX function changes nothing in place: it has to `return` what it "
        "computed (`x.at[i].set(v)` returns a new array and leaves x as it was)."),
    None: (
        f"{_RETURN} (Or it changed a value in place and returned nothing: return the value.) "
        "For a gradient: TensorFlow's `tape.gradient` is None for a source that is neither a "
        "tf.Variable nor `tape.watch`ed, PyTorch's `.grad` is None without `requires_grad=True` "
        "or before `backward()`."),
}


def _none_message(what: str, framework: str | None) -> str:
    return f"{what} is None: {_NONE_BECAUSE[framework if framework in _NONE_BECAUSE else None]}"


def _shape_of(value) -> tuple | None:
    """The shape ``value`` has as a NumPy array, or None if it is not one."""
    from book_kit.frameworks.arrays import to_numpy

    try:
        array = np.asarray(to_numpy(value))
    except Exception:
        return None
    return None if array.dtype == object else tuple(array.shape)


def _is_tensor(value) -> bool:
    return _framework_of(value) is not None and hasattr(value, "shape")


def _bool_kind(value) -> bool:
    """True for a Python bool, a NumPy bool or a framework's bool tensor."""
    if isinstance(value, (bool, np.bool_)):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and "bool" in str(dtype)


def _numeric_expected(expected) -> bool:
    if expected is None:
        return False
    try:
        array = np.asarray(expected)
    except Exception:
        return False
    return array.dtype != bool and np.issubdtype(array.dtype, np.number)


def _fmt(shape) -> str:
    return str(tuple(shape))


def shape_diagnosis(got: tuple, want: tuple) -> str | None:
    """What a shape ``got`` where ``want`` was expected probably means, and the fix.

    Parameters
    ----------
    got, want : tuple of int
        The answer's shape and the expected one.

    Returns
    -------
    str or None
        A clause to put after "has shape ..., expected ...", beginning with "(same numbers,
        different shape: " when only the arrangement differs, with ". " and a sentence when the
        sizes differ; None when the shapes are equal.

    Example
    -------
    >>> shape_diagnosis((3,), (3, 1))
    ' (same numbers, different shape: the last axis, of length 1, is missing: add it with
    x[:, None], x.reshape(-1, 1) or keepdims=True in the reduction).'
    """
    got, want = tuple(got), tuple(want)
    if got == want:
        return None
    size_got, size_want = math.prod(got), math.prod(want)
    if size_got == size_want:
        return f" (same numbers, different shape: {_rearranged(got, want)})."
    return ". " + _resized(got, want)


def _rearranged(got: tuple, want: tuple) -> str:
    """The fix for the same numbers in another shape."""
    squeezed_got = tuple(n for n in got if n != 1)
    squeezed_want = tuple(n for n in want if n != 1)
    if len(want) == 0:
        return ("one number is expected, not an array holding it: take it out with x[0], "
                "float(x) or x.item(), or reduce without keeping axes")
    if len(got) == 0:
        return f"make it an array of shape {_fmt(want)} with reshape{_fmt(want)}"
    if squeezed_got == squeezed_want and len(got) < len(want):
        if want == got + (1,):
            return ("the last axis, of length 1, is missing: add it with x[:, None], "
                    "x.reshape(-1, 1) or keepdims=True in the reduction")
        if want == (1,) + got:
            return ("the first axis, of length 1, is missing: add it with x[None, :] or "
                    "x.reshape(1, -1)")
        return f"axes of length 1 are missing: x.reshape{_fmt(want)} (or keepdims=True)"
    if squeezed_got == squeezed_want and len(got) > len(want):
        extra = [axis for axis in range(len(got)) if got[axis] == 1]
        return (f"there is an extra axis of length 1 (axis {extra[-1]}): drop it with "
                f"squeeze(), x.reshape{_fmt(want)} or x[:, 0], or leave out keepdims=True")
    if len(got) == 2 and got == want[::-1]:
        return ("it is transposed (rows and columns swapped): transpose it (x.T, tf.transpose, "
                "jnp.transpose, torch.t) or swap the operands of the matmul "
                "(x @ W rather than W @ x)")
    if squeezed_got == squeezed_want:
        return f"the axes of length 1 are in other places: x.reshape{_fmt(want)}"
    return (f"the axes are in another order: reshape{_fmt(want)} only if that order is right, "
            "else transpose")


def _resized(got: tuple, want: tuple) -> str:
    """The fix for a different number of numbers."""
    size_got, size_want = math.prod(got), math.prod(want)
    if size_want == 1:
        return (f"One number is expected, but the answer holds {size_got}: reduce it (sum or mean: "
                "tf.reduce_mean, torch.mean, jnp.mean) or take the element asked for (x[0]; "
                ".item() in PyTorch); or did you return the whole tensor instead of its result?")
    if size_got == 1:
        return (f"One number where {size_want} are expected: did a sum or mean reduce every "
                "axis? Give it the axis (axis=..., dim=... in PyTorch) or leave it out.")
    if len(want) == 1 and len(got) == 2 and got == (want[0], want[0]):
        return (f"{_fmt(got)} is what an elementwise operation gives for a column "
                f"{_fmt((want[0], 1))} "
                f"and a row {_fmt(want)} (broadcasting): make both the same shape before combining "
                "them (x.reshape(-1) on both, or x[:, None] on both); or a reduction over one "
                "axis is missing.")
    if len(want) == 2 and len(got) == 2 and want[1] == 1 and got == (want[0], want[0]):
        return (f"{_fmt(got)} is what an elementwise operation gives for a column {_fmt(want)} and "
                f"a row {_fmt((want[0],))} (broadcasting, e.g. targets minus predictions): make "
                "both the same shape first (x[:, None] or x.reshape(-1, 1)).")
    if len(got) == len(want) + 1:
        for axis in range(len(got)):
            if got[:axis] + got[axis + 1:] == want:
                return (f"Axis {axis} (length {got[axis]}) is one too many: a reduction over "
                        f"axis={axis} is missing (sum / mean with axis={axis}), or take one "
                        "element along it.")
    if len(got) == len(want):
        differ = [axis for axis in range(len(got)) if got[axis] != want[axis]]
        parts = ", ".join(f"axis {a} has {got[a]} where {want[a]} is expected" for a in differ)
        if len(differ) == 1 and want[differ[0]] == 1:
            axis = differ[0]
            return (f"{parts[0].upper()}{parts[1:]}: a reduction over axis={axis} with "
                    "keepdims=True is missing.")
        other = " (the other axes agree)" if len(got) > 1 else ""
        return (f"{parts[0].upper()}{parts[1:]}{other}: check the shape you made it with, the "
                "axis a reduction used (axis=0 sums down the rows, axis=1 along them) and the "
                "slice you took.")
    return (f"It has {len(got)} axes where {len(want)} are expected: check the reduction's "
            f"axis and keepdims, or reshape{_fmt(want)} if the numbers are right.")


def diagnose_value(value, *, what: str = "your answer", expected=None) -> str | None:
    """Why a value is wrong, when it is wrong in a recognisable way, and what to change.

    Parameters
    ----------
    value : any
        The student's answer.
    what : str
        How to name it, starting the sentence: ``"TensorFlow's answer"``, ``"PyTorch's answer"``,
        ``"JAX's answer"``, ``"gradient_tf()"`` or ``"your answer"``. A framework named in it
        (TensorFlow, PyTorch, JAX, tf, torch) chooses which causes are given for a None.
    expected : value, optional
        The right answer (a number or array); needed to diagnose a shape or a bool.

    Returns
    -------
    str or None
        A sentence beginning with ``what``; None if nothing recognisable is wrong (the numbers
        may still differ: :func:`book_kit.exercises.verdicts.compare_values` says by how much).

    Example
    -------
    >>> diagnose_value(None, what="TensorFlow's answer")
    "TensorFlow's answer is None: in TensorFlow, `tape.gradient(y, x)` is None when x is not a
    tf.Variable and was not watched ..."
    >>> diagnose_value(np.ones(3), what="your answer", expected=np.ones((3, 1)))
    'your answer has shape (3,), expected (3, 1) (same numbers, different shape: the last axis, of
    length 1, is missing: ...).'
    """
    framework = _framework_named(what)
    if value is None:
        return _none_message(what, framework)
    kind = type(value).__name__
    if kind == "IndexedSlices":
        return (f"{what} is a tf.IndexedSlices, the sparse gradient TensorFlow gives for "
                "tf.gather or an embedding: turn it into a tensor with tf.convert_to_tensor(...).")
    if kind == "KerasTensor":
        return (f"{what} is a symbolic KerasTensor (a placeholder from keras.Input, holding no "
                "numbers): call the model on real data, model(x) or model.predict(x).")
    if _framework_of(value) == "jax" and kind.endswith("Tracer"):
        return (f"{what} is a JAX tracer that escaped from jit or grad (stored in a global or a "
                "list inside a traced function): return the value from that function instead.")
    if isinstance(value, (list, tuple)):
        message = _diagnose_sequence(value, what, framework, expected)
        if message:
            return message
    if callable(value) and not hasattr(value, "shape"):
        bases = {cls.__name__ for cls in type(value).__mro__}
        if bases & {"Module", "Layer", "Model"}:
            return (f"{what} is a {kind} (a model or layer), not its output: call it on the "
                    "input (model(x)) and return that.")
        name = getattr(value, "__name__", kind)
        return (f"{what} is a function ({name}), not its result: call it (`return f(x)`, not "
                "`return f`).")
    if isinstance(value, (str, bytes)):
        return (f"{what} should be numbers, but it is text ({value!r:.40}): return the number "
                "itself, not str() or an f-string.")
    if hasattr(value, "__next__") and not hasattr(value, "shape"):
        return (f"{what} is a {kind}, which yields its values one at a time: collect them "
                "(np.array(list(...))) or return the one asked for.")
    if expected is None:
        return None
    if _bool_kind(value) and _numeric_expected(expected):
        return (f"{what} is {'a Python bool' if isinstance(value, bool) else 'a bool array'} "
                f"({value!s:.40}) where numbers are expected: did the function return a "
                "comparison (x == y, x > 0, tf.reduce_all, jnp.allclose) instead of the values? "
                "Return the numbers (or cast: tf.cast(x, tf.float32), x.float(), x.astype(float)).")
    got, want = _shape_of(value), _shape_of(expected)
    if got is not None and want is not None and got != want:
        return f"{what} has shape {_fmt(got)}, expected {_fmt(want)}{shape_diagnosis(got, want)}"
    return None


def _diagnose_sequence(value, what: str, framework: str | None, expected) -> str | None:
    """A list or tuple, most often of gradients: ``tape.gradient(loss, [W, b])``."""
    if not value:
        return (f"{what} is an empty {type(value).__name__}: did the function return before "
                "filling it?")
    missing = [i for i, item in enumerate(value) if item is None]
    items = [item for item in value if item is not None]
    tensors = [item for item in items if _is_tensor(item)]
    element = _framework_of(tensors[0]) if tensors else None
    if missing:
        which = ", ".join(str(i) for i in missing)
        reason = _NONE_ITEM.get(element or framework)
        because = (f": {reason}." if reason else
                   ": did a function that made it forget to `return` its result?")
        return (f"{what} is a {type(value).__name__} of {len(value)} whose item {which} is "
                f"None{because}")
    if not tensors:
        return None  # plain numbers: judged as an array
    shape = _shape_of(value)
    if shape is not None and (expected is None or shape == _shape_of(expected)):
        return None  # e.g. [tf.constant(1.0), tf.constant(2.0)] for [1, 2]: one array, right shape
    shapes = ", ".join(_fmt(getattr(t, "shape", ())) for t in tensors[:4])
    kind = "NumPy arrays" if element == "numpy" else f"{_TITLES.get(element, '')} tensors".strip()
    source = _LISTS_FROM.get(element, "")
    stack = {"tensorflow": "tf.stack", "torch": "torch.stack", "jax": "jnp.stack"}.get(element,
                                                                                        "np.stack")
    return (f"{what} is a {type(value).__name__} of {len(value)} {kind} (shapes {shapes}), not "
            f"one array{source}: return the one asked for (e.g. grads[0]), or {stack}(...) them "
            "if one array of them is asked for.")


# Where a list or tuple of tensors usually comes from, per framework.
_LISTS_FROM = {"tensorflow": " (`tape.gradient(loss, [W, b])` gives such a list)",
               "torch": " (`torch.autograd.grad(loss, [W, b])` gives such a tuple)",
               "jax": " (`jax.grad(f, argnums=(0, 1))` gives such a tuple)"}

# Why one item of a list of gradients is None, per framework.
_NONE_ITEM = {
    "tensorflow": ("`tape.gradient` gives None for a source that is neither a tf.Variable nor "
                   "`tape.watch`ed, or that the result does not depend on"),
    "torch": ("`.grad` is None for a tensor made without `requires_grad=True`, and before "
              "`backward()` has run"),
}


# --- exceptions --------------------------------------------------------------------------------

def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


_MATMUL = ("for a @ b, the last axis of a must equal the first axis of b (the rows of the "
           "second)")


def _matmul_hint(a: tuple, b: tuple) -> str:
    return (f"The shapes do not fit a matrix product: {_fmt(a)} @ {_fmt(b)}; {_MATMUL}, and "
            f"{a[-1]} is not {b[0] if len(b) == 1 else b[-2]}. Transpose one of them (b.T, "
            "tf.transpose) or swap the operands (x @ W rather than W @ x).")


def _broadcast_hint(a: str, b: str) -> str:
    return (f"The shapes {a} and {b} cannot be combined elementwise: from the right, each pair "
            "of axes must be equal or 1. Reshape one (x[:, None], x.reshape(-1, 1), "
            "keepdims=True in the reduction) or transpose it.")


def _dtype_hint(expected: str, got: str) -> str:
    return (f"A {got} tensor met a {expected} one, and TensorFlow and PyTorch never convert for "
            "you. An array made from NumPy (or torch.tensor of a NumPy array) is float64 "
            "('double'); the frameworks' own tensors are float32 ('float'). Make both float32: "
            "tf.cast(x, tf.float32) or dtype='float32' where you build it (x.float() or "
            "x.to(torch.float32) in PyTorch).")


# (test on class name, module and message) -> hint; the first that matches wins. The messages
# are matched as these framework versions write them (tests/test_diagnoses.py raises each).
def _jax_hints(name: str, message: str) -> str | None:
    if name == "TracerBoolConversionError":
        return ("A Python `if`, `while`, `and`, `or` or `bool()` met a traced value inside "
                "jax.jit or jax.grad, where values are not known yet: choose with "
                "jnp.where(condition, a, b) or jax.lax.cond(...) (loops: jax.lax.fori_loop / "
                "while_loop), or make that argument static (static_argnums).")
    if name == "TracerArrayConversionError":
        return ("A NumPy function (np.asarray, np.sum, ...) got a traced value inside jax.jit or "
                "jax.grad: use the jnp.* function instead (jnp.asarray, jnp.sum), and convert to "
                "NumPy only outside.")
    if name in ("ConcretizationTypeError", "TracerIntegerConversionError"):
        return ("A traced value was turned into a Python number inside jax.jit or jax.grad "
                "(float(), int(), .item(), or used as a size or an index), but it has no value "
                "while being traced: keep it an array (x.astype(float)) and convert outside, use "
                "jnp.where / jax.lax.cond for a choice, or make that argument static "
                "(static_argnums).")
    if name == "UnexpectedTracerError":
        return ("A traced value escaped from jax.jit or jax.grad (stored in a global or a list "
                "inside the function): return every result from the function instead.")
    if "JAX arrays are immutable" in message or \
            "'ArrayImpl' object does not support item assignment" in message:
        return ("JAX arrays cannot be changed in place: write `x = x.at[i].set(v)` (or "
                ".at[i].add(v)) and return the new array; x itself stays as it was.")
    if "Gradient only defined for scalar-output functions" in message:
        return ("jax.grad differentiates a function that returns one number: return its sum or "
                "mean, or use jax.jacobian (or jax.vmap(jax.grad(f)) for one gradient per input).")
    if "grad requires real- or complex-valued inputs" in message:
        return ("jax.grad needs float inputs: pass 1.5 or 2.0, not 2 "
                "(or jnp.asarray(x, jnp.float32)).")
    match = re.search(r"dot_general requires contracting dimensions to have the same shape, "
                      r"got \(([\d, ]*)\) and \(([\d, ]*)\)", message)
    if match:
        a, b = _dims(match[1]), _dims(match[2])
        return (f"The shapes do not fit a matrix product: the axes it sums over have {a} and "
                f"{b}; {_MATMUL}. Transpose one of them (b.T) or swap the operands.")
    match = re.search(r"incompatible shapes for broadcasting: (\([\d, ]*\)), (\([\d, ]*\))",
                      message, re.IGNORECASE) or re.search(
        r"Incompatible shapes for broadcasting: shapes=\[(\([\d, ]*\)), (\([\d, ]*\))", message)
    if match:
        return _broadcast_hint(match[1], match[2])
    return None


def _torch_hints(message: str) -> str | None:
    if "leaf Variable that requires grad is being used in an in-place operation" in message:
        return ("A tensor that requires grad (a parameter) was changed in place (W -= ..., "
                "W[0] = ..., W.sub_(...)) while PyTorch records operations: do the update inside "
                "`with torch.no_grad():`, then reset the gradient (W.grad = None or "
                "W.grad.zero_()).")
    if "does not require grad and does not have a grad_fn" in message:
        return ("backward() was called on a result that does not depend on any tensor made with "
                "requires_grad=True: create the input with torch.tensor(x, requires_grad=True) "
                "(or x.requires_grad_()), and do not compute the result inside torch.no_grad() "
                "or from .detach(), .item() or .numpy().")
    if "backward through the graph a second time" in message:
        return ("Each backward() frees the graph it went through: compute the result again "
                "before calling backward() again, or pass retain_graph=True; for a second "
                "derivative use torch.autograd.grad(y, x, create_graph=True) and differentiate "
                "its result.")
    if "grad can be implicitly created only for scalar outputs" in message:
        return ("backward() without arguments needs one number: call it on y.sum() or y.mean() "
                "(or pass gradient=torch.ones_like(y)).")
    if "Can't call numpy() on Tensor that requires grad" in message:
        return "Detach it first: tensor.detach().numpy(), or tensor.item() for one number."
    match = re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
                      message)
    if match:
        a, b = _dims(match[1] + " " + match[2]), _dims(match[3] + " " + match[4])
        return _matmul_hint(a, b)
    match = re.search(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) "
                      r"at non-singleton dimension (\d+)", message)
    if match:
        return (f"Elementwise, axis {match[3]} has {match[1]} in one tensor and {match[2]} in "
                "the other, and neither is 1: reshape one (x[:, None], x.reshape(-1, 1), "
                "keepdim=True) or transpose it.")
    match = (re.search(r"same dtype, but (?:found|got:?) (\w+) (?:and|!=) (\w+)", message)
             or re.search(r"expected scalar type (\w+) but found (\w+)", message)
             or re.search(r"Found dtype (\w+) but expected (\w+)", message))
    if match:
        return _dtype_hint(match[1].lower(), match[2].lower())
    return None


def _tensorflow_hints(message: str) -> str | None:
    if "'ResourceVariable' object does not support item assignment" in message:
        return ("A tf.Variable is changed through its methods, not `v[i] = x`: write "
                "v[i].assign(x) (v[0, 0].assign(3.0)), v.assign(new), v.assign_add(d) or "
                "v.assign_sub(d).")
    if "Tensor' object does not support item assignment" in message:
        return ("A TensorFlow tensor cannot be changed: make it a tf.Variable and write "
                "v[i].assign(x), or build a new tensor with "
                "tf.tensor_scatter_nd_update(t, [[i]], [x]).")
    if "Tensor' object has no attribute 'assign" in message:
        return ("A plain tensor has no assign: `v = v - ...` replaced the tf.Variable by a new "
                "tensor. Keep the variable and change it in place: v.assign_sub(...), "
                "v.assign(...).")
    if "non-persistent GradientTape can only be used to compute one set of gradients" in message:
        return ("A GradientTape gives one gradient and is then spent: ask for all of them at once "
                "(tape.gradient(loss, [W, b])), use tf.GradientTape(persistent=True), or nest two "
                "tapes for a second derivative.")
    match = re.search(r"cannot compute (\w+) as input #(\d+)(?:\(zero-based\))? was expected to "
                      r"be a (\w+) tensor but is a (\w+) tensor", message)
    if match:
        return f"In {match[1]}, input #{match[2]}: " + _dtype_hint(match[3], match[4])
    match = re.search(r"Matrix size-incompatible: In\[0\]: \[([\d,]+)\], In\[1\]: \[([\d,]+)\]",
                      message)
    if match:
        return _matmul_hint(_dims(match[1]), _dims(match[2]))
    match = re.search(r"Incompatible shapes: \[([\d,]*)\] vs. \[([\d,]*)\]", message)
    if match:
        return _broadcast_hint(_fmt(_dims(match[1])), _fmt(_dims(match[2])))
    return None


def _numpy_hints(message: str) -> str | None:
    match = re.search(r"matmul: Input operand 1 has a mismatch in its core dimension 0.*"
                      r"\(size (\d+) is different from (\d+)\)", message)
    if match:
        return (f"The shapes do not fit a matrix product: {_MATMUL}, and {match[2]} is not "
                f"{match[1]}. Transpose one of them (b.T) or swap the operands (x @ W rather "
                "than W @ x).")
    match = re.search(r"operands could not be broadcast together with shapes (\S+) (\S+)", message)
    if match:
        return _broadcast_hint(match[1], match[2])
    return None


def _general_hints(error: BaseException, message: str) -> str | None:
    match = re.search(r"'NoneType' object has no attribute '(\w+)'", message)
    if isinstance(error, AttributeError) and match:
        return (f"Something was None where a tensor was expected (its .{match[1]} was asked for): "
                "a PyTorch .grad before backward() or without requires_grad=True, a TensorFlow "
                "tape.gradient of a source neither a tf.Variable nor watched, or a function "
                "without `return`.")
    return None


def diagnose_exception(error: BaseException) -> str | None:
    """A hint for an exception raised inside the student's function, if it is a usual mistake.

    Recognises JAX's tracer errors (a traced value turned into a Python bool, number or NumPy
    array inside jit/grad) and immutable arrays; PyTorch's in-place change of a leaf that requires
    grad, backward() without requires_grad or twice, non-scalar backward(); TensorFlow's item
    assignment to a tf.Variable or a tensor, a spent tape, mixed dtypes; and shapes that do not
    fit a matrix product or broadcasting (naming the shapes), in each framework and NumPy. The
    exception's class, module and message are read; no framework is imported.

    Parameters
    ----------
    error : BaseException
        The exception (its ``__cause__`` / ``__context__`` are read too, for wrapped errors).

    Returns
    -------
    str or None
        One or two sentences saying what to change, or None if the mistake is not recognised.

    Example
    -------
    >>> try:   # needs JAX   # doctest: +SKIP
    ...     jax.jit(lambda x: float(x))(1.0)
    ... except Exception as e:
    ...     print(diagnose_exception(e))
    A traced value was turned into a Python number inside jax.jit or jax.grad ...
    >>> try:
    ...     np.ones((2, 3)) @ np.ones((2, 3))
    ... except ValueError as e:
    ...     print(diagnose_exception(e))
    The shapes do not fit a matrix product: for a @ b, the last axis of a must equal the first
    axis of b (the rows of the second), and 3 is not 2. Transpose one of them (b.T) or swap the
    operands (x @ W rather than W @ x).
    """
    seen = set()
    while error is not None and id(error) not in seen and len(seen) < 5:
        seen.add(id(error))
        hint = _one_exception(error)
        if hint:
            return hint
        error = error.__cause__ or error.__context__
    return None


def _one_exception(error: BaseException) -> str | None:
    name, module = type(error).__name__, type(error).__module__ or ""
    try:
        message = str(error)
    except Exception:  # a broken __str__ of the student's own exception
        return None
    if name in ("NotImplementedError", "ExerciseFailed", "NotAttempted"):
        return None
    # JAX's class names first, only from JAX's own module (a student's class may share a name)
    jax_name = name if module.startswith("jax") else ""
    return (_jax_hints(jax_name, message) or _torch_hints(message) or _tensorflow_hints(message)
            or _numpy_hints(message) or _general_hints(error, message))
