"""Each usual mistake, made for real in its framework, is named by its cause and its fix.

The values and exceptions come from TensorFlow, PyTorch and JAX themselves (a None gradient of a
real unwatched tf.constant, PyTorch's real leaf in-place error, JAX's real tracer errors), so a
framework release that changes a message fails here rather than leaving students with no hint.
"""

import re

import numpy as np
import pytest

from book_kit.exercises.diagnoses import diagnose_exception, diagnose_value, shape_diagnosis
from book_kit.exercises.verdicts import ExerciseFailed, compare_values

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = jax.numpy


def raised(function, *args) -> BaseException:
    """The exception ``function(*args)`` raises (the test fails if it raises none)."""
    with pytest.raises(BaseException) as caught:
        function(*args)
    return caught.value


def has_all(text: str | None, *words: str) -> bool:
    return text is not None and all(w in text for w in words)


# --- None ----------------------------------------------------------------------------------

def test_tensorflow_gradient_of_an_unwatched_constant_names_watch_and_variable():
    def gradient_tf(x):
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            y = x * x
        return tape.gradient(y, x)          # None: a constant is not watched

    value = gradient_tf(3.0)
    assert value is None
    with pytest.raises(ExerciseFailed) as caught:
        compare_values(value, 6.0, what="TensorFlow's answer", hint="dy/dx = 2x")
    message = str(caught.value)
    assert message.startswith("TensorFlow's answer is None: ")
    assert has_all(message, "tape.watch(x)", "tf.Variable", "tf.constant", "outside that block")
    assert message.endswith("Hint: dy/dx = 2x")

    # ... and the fix it names gives the gradient
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


def test_pytorch_grad_before_backward_or_without_requires_grad_names_both():
    x = torch.tensor(1.5, requires_grad=True)
    y = x ** 2
    assert x.grad is None                    # read before backward()
    message = diagnose_value(x.grad, what="PyTorch's answer")
    assert has_all(message, "PyTorch's answer is None", "requires_grad=True", "backward()")
    y.backward()
    assert float(x.grad) == 3.0              # the fix named


def test_pytorch_grad_of_a_non_leaf_is_none_and_the_message_says_why():
    x = torch.tensor(1.5, requires_grad=True)
    z = x * 2                                # not a leaf: keeps no .grad
    (z * z).backward()
    with pytest.warns(UserWarning):
        grad = z.grad
    assert grad is None
    assert "`x * 2`" in diagnose_value(grad, what="gradient_torch()")


def test_jax_update_in_place_that_returns_nothing_is_told_to_return_the_new_array():
    def set_first_jax(a):
        a.at[0].set(10.0)                    # a new array, dropped; the function returns None

    message = diagnose_value(set_first_jax(jnp.zeros(3)), what="JAX's answer")
    assert has_all(message, "JAX's answer is None", "`return`", "x.at[i].set(v)")
    assert "tape" not in message             # not TensorFlow's causes


def test_none_of_unknown_framework_keeps_the_return_question_and_lists_the_gradient_causes():
    message = diagnose_value(None, what="your answer")
    assert message.startswith("your answer is None: "
                              "did the function forget to `return` its result?")
    assert has_all(message, "tape.watch", "requires_grad=True")


# --- shapes and kinds ---------------------------------------------------------------------

def test_a_tensor_where_one_number_is_expected_says_reduce():
    loss = tf.square(tf.constant([1.0, 2.0, 3.0]))       # forgot tf.reduce_mean
    message = diagnose_value(loss, what="TensorFlow's answer", expected=14 / 3)
    assert has_all(message, "has shape (3,), expected ()", "One number is expected", "reduce",
                   "tf.reduce_mean")


def test_one_number_where_an_array_is_expected_says_which_axis():
    total = torch.ones(4, 3).sum()                       # summed every axis
    message = diagnose_value(total, what="PyTorch's answer", expected=np.ones(4))
    assert has_all(message, "has shape (), expected (4,)", "reduce every axis", "dim=")


def test_a_row_where_a_column_is_expected_says_add_the_axis():
    message = diagnose_value(jnp.ones(3), what="JAX's answer", expected=np.ones((3, 1)))
    assert has_all(message, "(same numbers, different shape", "last axis", "x[:, None]",
                   "keepdims=True")


def test_an_extra_axis_of_length_one_says_squeeze():
    message = diagnose_value(tf.reduce_sum(tf.ones((3, 2)), axis=1, keepdims=True),
                             expected=np.ones(3))
    assert has_all(message, "extra axis of length 1", "squeeze()", "keepdims=True")


def test_transposed_says_transpose_or_swap_the_matmul():
    x, w = tf.ones((2, 4)), tf.ones((4, 3))
    wrong = tf.transpose(tf.matmul(x, w))                # (3, 2) where (2, 3) is expected
    message = diagnose_value(wrong, what="your answer", expected=np.ones((2, 3)))
    assert has_all(message, "transposed", "x.T", "x @ W rather than W @ x")


def test_a_column_minus_a_row_says_broadcasting():
    targets, predictions = torch.zeros(4, 1), torch.ones(4)
    wrong = targets - predictions                        # (4, 4): broadcast
    message = diagnose_value(wrong, expected=np.ones((4, 1)))
    assert has_all(message, "has shape (4, 4), expected (4, 1)", "broadcasting", "same shape")


def test_a_reduction_over_the_wrong_axis_names_the_axis():
    wrong = jnp.sum(jnp.ones((5, 3)), axis=0)            # (3,) where axis=1 gives (5,)
    message = diagnose_value(wrong, expected=np.ones(5))
    assert has_all(message, "Axis 0 has 3 where 5 is expected", "axis=0", "axis=1")


def test_a_missing_reduction_names_its_axis():
    message = diagnose_value(np.ones((5, 3)), expected=np.ones(5))
    assert has_all(message, "Axis 1 (length 3) is one too many", "axis=1")


@pytest.mark.parametrize("got, want, words", [
    ((1,), (), "x[0], float(x) or x.item()"),
    ((3, 1), (1, 3), "transposed"),
    ((1, 3, 1), (3, 1, 1), "axes of length 1 are in other places"),
    ((2, 3, 4), (4, 3, 2), "another order"),
    ((5, 3), (5, 1), "keepdims=True is missing"),
    ((2, 3), (2, 3, 4), "2 axes where 3 are expected"),
])
def test_shape_diagnosis_covers_the_other_arrangements(got, want, words):
    assert words in shape_diagnosis(got, want)
    assert shape_diagnosis(want, want) is None


def test_a_list_of_gradients_says_return_the_one_asked_for():
    w, b = tf.Variable(tf.ones((3, 1))), tf.Variable(tf.zeros(1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.matmul(tf.ones((2, 3)), w) + b)
    grads = tape.gradient(loss, [w, b])                  # a list of two tensors
    message = diagnose_value(grads, what="TensorFlow's answer", expected=np.full((3, 1), 2.0))
    assert has_all(message, "list of 2 TensorFlow tensors", "(3, 1), (1,)", "grads[0]",
                   "tape.gradient(loss, [W, b])")
    with pytest.raises(ExerciseFailed, match="list of 2 TensorFlow tensors"):
        compare_values(grads, np.full((3, 1), 2.0), what="TensorFlow's answer")
    # the one asked for passes
    compare_values(grads[0], np.full((3, 1), 2.0))


def test_a_list_of_torch_tensors_that_require_grad_is_diagnosed_not_a_conversion_error():
    w, b = torch.ones(3, requires_grad=True), torch.zeros(1, requires_grad=True)
    with pytest.raises(ExerciseFailed) as caught:
        compare_values([w, b], np.ones(3), what="PyTorch's answer")
    assert has_all(str(caught.value), "list of 2 PyTorch tensors", "torch.stack")


def test_a_list_with_a_none_gradient_names_the_unwatched_source():
    v, c = tf.Variable(2.0), tf.constant(3.0)
    with tf.GradientTape() as tape:
        y = v * c
    grads = tape.gradient(y, [v, c])                     # [3.0, None]: c is not watched
    assert grads[1] is None
    message = diagnose_value(grads, what="your answer", expected=[3.0, 2.0])
    assert has_all(message, "item 1 is None", "tf.Variable", "`tape.watch`ed")


def test_a_python_bool_where_numbers_are_expected_says_comparison():
    def gradient_tf(x):
        return bool(tf.reduce_all(tf.constant(x) > 0))   # a comparison, not the values

    with pytest.raises(ExerciseFailed) as caught:
        compare_values(gradient_tf([1.0, 2.0]), np.array([1.0, 2.0]), what="gradient_tf()")
    assert has_all(str(caught.value), "a Python bool (True)", "comparison", "tf.cast")
    # a bool tensor of the right shape but wrong values too
    message = diagnose_value(torch.tensor([1.0, 2.0]) > 1.5, expected=np.array([1.0, 2.0]))
    assert has_all(message, "bool array", "x.float()")


def test_bools_that_equal_the_expected_numbers_are_still_right():
    compare_values(np.array([True, False]), np.array([1.0, 0.0]))


def test_a_function_instead_of_its_result_says_call_it():
    def f(x):
        return x ** 2

    message = diagnose_value(jax.grad(f), what="JAX's answer", expected=3.0)
    assert has_all(message, "is a function", "call it", "`return f(x)`")


def test_a_model_instead_of_its_output_says_call_it_on_the_input():
    message = diagnose_value(torch.nn.Linear(3, 1), expected=np.ones((2, 1)))
    assert has_all(message, "Linear (a model or layer)", "model(x)")


def test_indexed_slices_says_convert_to_tensor():
    v = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.gather(v, [0]))
    grad = tape.gradient(y, v)                            # sparse: tf.IndexedSlices
    with pytest.raises(ExerciseFailed, match=r"tf\.IndexedSlices.*tf\.convert_to_tensor"):
        compare_values(grad, [1.0, 0.0, 0.0])
    compare_values(tf.convert_to_tensor(grad), [1.0, 0.0, 0.0])  # the fix


def test_a_leaked_jax_tracer_says_return_it():
    leaked = []

    @jax.jit
    def f(x):
        leaked.append(x * 2)
        return x

    f(1.0)
    assert has_all(diagnose_value(leaked[0], what="JAX's answer", expected=2.0),
                   "JAX tracer", "escaped", "return")


def test_a_symbolic_keras_tensor_says_call_the_model_on_data():
    keras = pytest.importorskip("keras")
    message = diagnose_value(keras.Input((3,)), expected=np.ones(3))
    assert has_all(message, "KerasTensor", "model.predict(x)")


def test_text_keeps_should_be_numbers():
    assert diagnose_value("2.0", expected=2.0).startswith("your answer should be numbers")


@pytest.mark.parametrize("value, expected", [
    (tf.constant([1.0, 2.0]), [1.0, 2.0]),
    ([tf.constant(1.0), tf.constant(2.0)], [1.0, 2.0]),  # a list of scalars is one array
    (torch.tensor([[1.0], [2.0]]), np.ones((2, 1))),     # right shape, other numbers
    (jnp.float32(1.0), 1.0),
    (np.ones(3), None),                                  # nothing to compare it with
])
def test_nothing_is_diagnosed_in_values_of_the_right_kind_and_shape(value, expected):
    assert diagnose_value(value, expected=expected) is None


def test_wrong_numbers_of_the_right_shape_still_say_how_far_off():
    with pytest.raises(ExerciseFailed, match=r"is 2.5, expected 2 \(tolerance"):
        compare_values(torch.tensor(2.5), 2.0)


# --- exceptions: JAX ---------------------------------------------------------------------

def test_jax_float_of_a_tracer_inside_jit():
    error = raised(jax.jit(lambda x: float(x) * 2), 1.0)
    assert type(error).__name__ == "ConcretizationTypeError"
    assert has_all(diagnose_exception(error), "float()", ".item()", "jnp.where", "jax.lax.cond")


def test_jax_item_inside_jit():
    error = raised(jax.jit(lambda x: x.item() * 2.0), jnp.ones(1))
    assert has_all(diagnose_exception(error), ".item()", "inside jax.jit or jax.grad")


def test_jax_python_if_on_a_traced_value():
    @jax.jit
    def absolute(x):
        if x > 0:
            return x
        return -x

    error = raised(absolute, 1.0)
    assert type(error).__name__ == "TracerBoolConversionError"
    assert has_all(diagnose_exception(error), "`if`", "jnp.where(condition, a, b)", "jax.lax.cond")


def test_jax_numpy_function_on_a_traced_value():
    error = raised(jax.jit(lambda x: np.asarray(x) * 2), jnp.ones(2))
    assert type(error).__name__ == "TracerArrayConversionError"
    assert has_all(diagnose_exception(error), "jnp.asarray", "np.asarray")


def test_jax_item_assignment():
    def set_first(a):
        a[0] = 10.0
        return a

    error = raised(set_first, jnp.zeros(3))
    assert isinstance(error, TypeError)
    assert has_all(diagnose_exception(error), "x = x.at[i].set(v)", "return the new array")


def test_jax_leaked_tracer_error():
    leaked = []
    jax.jit(lambda x: leaked.append(x) or x)(1.0)
    error = raised(lambda: jnp.add(leaked[0], 1))
    assert has_all(diagnose_exception(error), "escaped", "return")


def test_jax_grad_of_a_non_scalar_and_of_an_integer():
    assert has_all(diagnose_exception(raised(jax.grad(lambda x: x * 2), jnp.ones(2))),
                   "one number", "sum", "jax.jacobian")
    assert has_all(diagnose_exception(raised(jax.grad(lambda x: x * x), 2)),
                   "float inputs", "not 2")


def test_jax_matmul_shapes():
    error = raised(lambda: jnp.ones((2, 3)) @ jnp.ones((2, 3)))
    assert has_all(diagnose_exception(error), "(3,) and (2,)", "Transpose", "swap")


def test_jax_broadcasting_shapes():
    error = raised(lambda: jnp.ones((2, 3)) + jnp.ones((4, 5)))
    assert has_all(diagnose_exception(error), "(2, 3) and (4, 5)", "equal or 1")


# --- exceptions: PyTorch -----------------------------------------------------------------

def test_pytorch_in_place_update_of_a_leaf_that_requires_grad():
    W = torch.ones(2, requires_grad=True)

    def training_step():
        (W * 2).sum().backward()
        W.sub_(0.1 * W.grad)                 # outside torch.no_grad()

    error = raised(training_step)
    assert "leaf Variable" in str(error)
    assert has_all(diagnose_exception(error), "with torch.no_grad():", "W.grad = None")
    with torch.no_grad():                    # the fix named
        W.sub_(0.1 * W.grad)


def test_pytorch_backward_without_requires_grad():
    error = raised(lambda: (torch.tensor([1.5]) ** 2).sum().backward())
    assert has_all(diagnose_exception(error), "requires_grad=True", "torch.no_grad()")


def test_pytorch_backward_twice():
    x = torch.tensor(1.5, requires_grad=True)
    y = x ** 3
    torch.autograd.grad(y, x)
    error = raised(torch.autograd.grad, y, x)
    assert has_all(diagnose_exception(error), "retain_graph=True", "create_graph=True")


def test_pytorch_backward_of_a_non_scalar():
    error = raised(lambda: (torch.ones(2, requires_grad=True) * 2).backward())
    assert has_all(diagnose_exception(error), "y.sum()", "gradient=torch.ones_like(y)")


def test_pytorch_matmul_shapes_are_named():
    error = raised(lambda: torch.ones(2, 3) @ torch.ones(2, 3))
    assert has_all(diagnose_exception(error), "(2, 3) @ (2, 3)", "3 is not 2", "Transpose")


def test_pytorch_float64_meets_float32():
    inputs = torch.tensor(np.ones((2, 2)))    # float64, from NumPy
    error = raised(lambda: inputs @ torch.ones(2, 2))
    assert has_all(diagnose_exception(error), "double", "float32", "x.float()")


def test_pytorch_broadcasting_names_the_axis():
    error = raised(lambda: torch.ones(2, 3) + torch.ones(4, 5))
    assert has_all(diagnose_exception(error), "axis 1 has 3", "and 5")


def test_pytorch_numpy_of_a_tensor_that_requires_grad():
    error = raised(lambda: torch.ones(2, requires_grad=True).numpy())
    assert has_all(diagnose_exception(error), "detach().numpy()")


def test_pytorch_grad_still_none_when_zeroed():
    error = raised(lambda: torch.ones(2, requires_grad=True).grad.zero_())
    assert has_all(diagnose_exception(error), ".zero_", "before backward()", "requires_grad=True")


# --- exceptions: TensorFlow --------------------------------------------------------------

def test_tensorflow_item_assignment_to_a_variable():
    v = tf.Variable([1.0, 2.0])

    def set_first(v):
        v[0] = 10.0

    error = raised(set_first, v)
    assert has_all(diagnose_exception(error), "v[i].assign(x)", "assign_sub")
    v[0].assign(10.0)                        # the fix named
    assert v.numpy().tolist() == [10.0, 2.0]


def test_tensorflow_item_assignment_to_a_tensor():
    def set_first(t):
        t[0] = 10.0

    error = raised(set_first, tf.constant([1.0, 2.0]))
    assert has_all(diagnose_exception(error), "tf.Variable", "tf.tensor_scatter_nd_update")


def test_tensorflow_variable_replaced_by_a_tensor():
    def step(v):
        v = v - 1.0
        v.assign(0.0)

    error = raised(step, tf.Variable(1.0))
    assert has_all(diagnose_exception(error), "replaced the tf.Variable", "v.assign_sub")


def test_tensorflow_matmul_float64_and_float32():
    error = raised(tf.matmul, tf.constant(np.ones((1, 2))), tf.ones((2, 1)))
    message = diagnose_exception(error)
    assert "was expected to be a double tensor but is a float tensor" in str(error)
    assert has_all(message, "In MatMul, input #1", "float tensor met a double",
                   "tf.cast(x, tf.float32)")


def test_tensorflow_matmul_shapes_are_named():
    error = raised(tf.matmul, tf.ones((2, 3)), tf.ones((2, 3)))
    assert has_all(diagnose_exception(error), "(2, 3) @ (2, 3)", "3 is not 2")


def test_tensorflow_broadcasting_shapes():
    error = raised(lambda: tf.ones((2, 3)) + tf.ones((4, 5)))
    assert has_all(diagnose_exception(error), "(2, 3) and (4, 5)")


def test_tensorflow_tape_used_twice():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    error = raised(tape.gradient, y, x)
    assert has_all(diagnose_exception(error), "persistent=True", "nest two tapes")


# --- exceptions: NumPy and the rest ------------------------------------------------------

def test_numpy_matmul_and_broadcasting():
    assert has_all(diagnose_exception(raised(lambda: np.ones((2, 3)) @ np.ones((2, 3)))),
                   "3 is not 2", "Transpose")
    assert has_all(diagnose_exception(raised(lambda: np.ones((2, 3)) + np.ones((4, 5)))),
                   "(2,3) and (4,5)")


def test_a_wrapped_error_is_read_through_its_cause():
    try:
        try:
            jax.jit(lambda x: float(x))(1.0)
        except Exception as inner:
            raise RuntimeError("while computing the loss") from inner
    except RuntimeError as outer:
        assert has_all(diagnose_exception(outer), "float()")


@pytest.mark.parametrize("error", [ZeroDivisionError("division by zero"), NotImplementedError(),
                                   KeyError("x"), ValueError("something else")])
def test_other_exceptions_get_no_hint(error):
    assert diagnose_exception(error) is None


def test_recognising_needs_no_framework(py):
    """Framework objects and exceptions are recognised from their class and module names: a
    stand-in named like JAX's error is diagnosed and no framework gets imported."""
    out = py("""
        import sys, json
        from book_kit.exercises.diagnoses import diagnose_exception, diagnose_value
        from book_kit.exercises.verdicts import compare_values, ExerciseFailed
        TracerBool = type("TracerBoolConversionError", (TypeError,), {"__module__": "jax.errors"})
        hint = diagnose_exception(TracerBool("Attempted boolean conversion of traced array"))
        try:
            compare_values(None, 1.0, what="PyTorch's answer")
        except ExerciseFailed as e:
            none = str(e)
        print(json.dumps([hint, none, [m for m in ("tensorflow", "torch", "jax", "keras")
                                       if m in sys.modules]]))
    """)
    assert out.returncode == 0, out.stderr
    import json
    hint, none, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "jnp.where" in hint and "requires_grad=True" in none and loaded == []


def test_messages_are_sentences_without_framework_internals():
    """No hint quotes a framework's internal names (function_node, Op:, zero-based)."""
    errors = [raised(tf.matmul, tf.ones((2, 3)), tf.ones((2, 3))),
              raised(tf.matmul, tf.constant(np.ones((1, 2))), tf.ones((2, 1)))]
    for error in errors:
        hint = diagnose_exception(error)
        assert hint and not re.search(r"function_node|\[Op:|zero-based", hint)
