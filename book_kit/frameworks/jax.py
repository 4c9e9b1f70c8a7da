"""JAX: the chapter's helpers, with the same names as tensorflow.py and torch.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from book_kit.frameworks import REGISTRY, base

NAME = REGISTRY["jax"].title
MODES = REGISTRY["jax"].modes


def devices() -> list[str]:
    """The devices JAX sees, as ``["cpu:0", ...]``."""
    return [f"{d.platform}:{d.id}" for d in jax.devices()]


def key(seed: int):
    """A JAX PRNG key (``jax.random.key``): JAX has no global generator to seed."""
    return jax.random.key(seed)


def set_cpu_device_count(count: int) -> bool:
    """Ask JAX for ``count`` CPU devices through its public ``jax_num_cpu_devices`` setting.

    Returns
    -------
    bool
        True if JAX will show ``count`` devices; False if it made its devices already with
        another number (fixed once made: the kernel has to restart).
    """
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX refuses once its devices exist, unless the number is the same
        return jax.device_count() == count
    return True


def to_numpy(x) -> np.ndarray:
    """A JAX array as a NumPy array (waits for the computation)."""
    return np.asarray(x)


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
    loss = mean_squared_error(targets, predictions)
    return loss


grad_fn = jax.value_and_grad(compute_loss)


def training_step(inputs, targets, W, b, learning_rate=0.1):
    loss, grads = grad_fn((W, b), inputs, targets)
    grad_wrt_W, grad_wrt_b = grads
    W = W - grad_wrt_W * learning_rate
    b = b - grad_wrt_b * learning_rate
    return loss, W, b


class LinearTrainer(base.LinearTrainer):
    """The linear classifier's trainer in JAX (modes ``eager``, ``jit``); see
    :class:`base.LinearTrainer`."""
    MODES = MODES

    def _setup(self, inputs, targets, W0, b0, mode):
        self.inputs, self.targets = jnp.asarray(inputs), jnp.asarray(targets)
        self.W, self.b = jnp.asarray(W0), jnp.asarray(b0)
        self._step = training_step if mode == "eager" else jax.jit(training_step)

    def step(self) -> float:
        """One full-batch step; returns the loss before the update (``float`` waits for the
        result)."""
        loss, self.W, self.b = self._step(self.inputs, self.targets, self.W, self.b,
                                          self.learning_rate)
        return float(loss)  # float() waits for the result: timings include the work

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``W`` and ``b`` as NumPy arrays."""
        return np.asarray(self.W), np.asarray(self.b)
