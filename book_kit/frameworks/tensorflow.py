"""TensorFlow: the chapter's helpers, with the same names as torch.py and jax.py."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from book_kit.frameworks import REGISTRY, base

NAME = REGISTRY["tensorflow"].title
MODES = REGISTRY["tensorflow"].modes


def devices() -> list[str]:
    """The devices TensorFlow sees, as ``["cpu:0", ...]``."""
    return [f"{d.device_type.lower()}:{i}" for i, d in enumerate(tf.config.list_physical_devices())]


def seed(value: int) -> None:
    """Seed TensorFlow's global generator (``book_kit.set_seed`` calls it when TF is imported)."""
    tf.random.set_seed(value)


def to_numpy(x) -> np.ndarray:
    """A TensorFlow tensor or variable as a NumPy array."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def derivatives(fn, x: float) -> tuple[float, float, float]:
    """f(x), f'(x) and f''(x) with nested GradientTapes (float64). ``fn(x, math)`` gets tf.math."""
    x = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = fn(x, tf.math)
        dy_dx = inner.gradient(y, x)
    d2y_dx2 = outer.gradient(dy_dx, x)
    return float(y), float(dy_dx), float(d2y_dx2)


# --- the linear classifier of section 3.3.2 --------------------------------------------------

def model(inputs, W, b):
    return tf.matmul(inputs, W) + b


def mean_squared_error(targets, predictions):
    per_sample_losses = tf.square(targets - predictions)
    return tf.reduce_mean(per_sample_losses)


def training_step(inputs, targets, W, b, learning_rate=0.1):
    with tf.GradientTape() as tape:
        predictions = model(inputs, W, b)
        loss = mean_squared_error(targets, predictions)
    grad_loss_wrt_W, grad_loss_wrt_b = tape.gradient(loss, [W, b])
    W.assign_sub(grad_loss_wrt_W * learning_rate)
    b.assign_sub(grad_loss_wrt_b * learning_rate)
    return loss


class LinearTrainer(base.LinearTrainer):
    """The linear classifier's trainer in TensorFlow (modes ``eager``, ``function``, ``xla``); see
    :class:`base.LinearTrainer`."""
    MODES = MODES

    def _setup(self, inputs, targets, W0, b0, mode):
        self.inputs, self.targets = tf.constant(inputs), tf.constant(targets)
        self.W, self.b = tf.Variable(W0), tf.Variable(b0)
        self.learning_rate = tf.constant(self.learning_rate, dtype=tf.float32)
        self._step = {"eager": training_step, "function": tf.function(training_step),
                      "xla": tf.function(training_step, jit_compile=True)}[mode]

    def step(self) -> float:
        """One full-batch step; returns the loss before the update."""
        return float(self._step(self.inputs, self.targets, self.W, self.b, self.learning_rate))

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``W`` and ``b`` as NumPy arrays."""
        return self.W.numpy(), self.b.numpy()
