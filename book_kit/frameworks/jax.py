"""JAX: the chapter's helpers, with the same names as tensorflow.py and torch.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

NAME = "JAX"
MODES = {"eager": "JAX without jit", "jit": "jax.jit"}


def devices() -> list[str]:
    return [f"{d.platform}:{d.id}" for d in jax.devices()]


def derivatives(fn, x: float) -> tuple[float, float, float]:
    """f(x), f'(x) and f''(x) with jax.grad of jax.grad (float64). ``fn(x, math)`` gets jnp."""
    with jax.enable_x64(True):  # only inside: the rest of the notebook stays float32
        f = lambda x: fn(x, jnp)  # noqa: E731
        x = jnp.asarray(x, dtype=jnp.float64)
        return float(f(x)), float(jax.grad(f)(x)), float(jax.grad(jax.grad(f))(x))


# --- the linear classifier of section 3.5.4 --------------------------------------------------

def model(inputs, W, b):
    return jnp.matmul(inputs, W) + b


def mean_squared_error(targets, predictions):
    per_sample_losses = jnp.square(targets - predictions)
    return jnp.mean(per_sample_losses)


def compute_loss(state, inputs, targets):
    W, b = state
    predictions = model(inputs, W, b)
    return mean_squared_error(targets, predictions)


grad_fn = jax.value_and_grad(compute_loss)


def training_step(inputs, targets, W, b, learning_rate=0.1):
    loss, grads = grad_fn((W, b), inputs, targets)
    grad_wrt_W, grad_wrt_b = grads
    W = W - grad_wrt_W * learning_rate
    b = b - grad_wrt_b * learning_rate
    return loss, W, b


class LinearTrainer:
    """Full-batch training of the linear classifier from given start weights, in one mode."""

    def __init__(self, inputs, targets, W0, b0, *, learning_rate=0.1, mode="eager"):
        if mode not in MODES:
            raise ValueError(f"mode is one of {', '.join(MODES)}; got {mode!r}")
        self.inputs = jnp.asarray(inputs, dtype=jnp.float32)
        self.targets = jnp.asarray(targets, dtype=jnp.float32)
        self.W = jnp.asarray(W0, dtype=jnp.float32)
        self.b = jnp.asarray(b0, dtype=jnp.float32)
        self.learning_rate = learning_rate
        self._step = training_step if mode == "eager" else jax.jit(training_step)

    def step(self) -> float:
        loss, self.W, self.b = self._step(self.inputs, self.targets, self.W, self.b,
                                          self.learning_rate)
        return float(loss)  # float() waits for the result: timings include the work

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.W), np.asarray(self.b)
