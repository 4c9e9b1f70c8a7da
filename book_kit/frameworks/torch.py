"""PyTorch: the chapter's helpers, with the same names as tensorflow.py and jax.py."""

from __future__ import annotations

import numpy as np
import torch

from book_kit.frameworks import REGISTRY, base, torch_compile_cache

NAME = REGISTRY["torch"].title
MODES = REGISTRY["torch"].modes


def devices() -> list[str]:
    """The devices PyTorch sees, as ``["cpu:0", "cuda:0 (name)", ...]``."""
    gpus = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    return ["cpu:0"] + gpus


def seed(value: int) -> None:
    """Seed PyTorch's global generator (``book_kit.set_seed`` calls it when torch is imported)."""
    torch.manual_seed(value)


def to_numpy(x) -> np.ndarray:
    """A PyTorch tensor as a NumPy array (detached from the graph and moved to the CPU first)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def derivatives(fn, x: float) -> tuple[float, float, float]:
    """f(x), f'(x) and f''(x) with torch.autograd.grad (float64). ``fn(x, math)`` gets torch."""
    x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(x, torch)
    # keep the graph: we differentiate again
    (dy_dx,) = torch.autograd.grad(y, x, create_graph=True)
    (d2y_dx2,) = torch.autograd.grad(dy_dx, x)
    return y.item(), dy_dx.item(), d2y_dx2.item()


# --- torch.compile, safe after an interrupted build ------------------------------------------

def compiled(fn):
    """``torch.compile(fn)``, after :func:`book_kit.frameworks.torch_compile_cache.repair` (a
    reader who interrupted an earlier compile would otherwise see ``file too short`` from then
    on).

    Example
    -------
    >>> from book_kit.frameworks import torch as torch_helpers   # needs PyTorch   # doctest: +SKIP
    >>> step = torch_helpers.compiled(torch_helpers.training_step)  # PyTorch  # doctest: +SKIP
    """
    torch_compile_cache.repair()
    return torch.compile(fn)


# --- the linear classifier of section 3.4.2 --------------------------------------------------

def model(inputs, W, b):
    return torch.matmul(inputs, W) + b


def mean_squared_error(targets, predictions):
    per_sample_losses = torch.square(targets - predictions)
    return torch.mean(per_sample_losses)


def training_step(inputs, targets, W, b, learning_rate=0.1):
    predictions = model(inputs, W, b)
    loss = mean_squared_error(targets, predictions)
    loss.backward()
    grad_loss_wrt_W, grad_loss_wrt_b = W.grad, b.grad
    with torch.no_grad():
        # in place with sub_: the `W -= ...` spelling gives wrong losses under torch.compile
        W.sub_(grad_loss_wrt_W * learning_rate)
        b.sub_(grad_loss_wrt_b * learning_rate)
    W.grad = None
    b.grad = None
    return loss


class LinearTrainer(base.LinearTrainer):
    """The linear classifier's trainer in PyTorch (modes ``eager``, ``compile``); see
    :class:`base.LinearTrainer`."""
    MODES = MODES

    def _setup(self, inputs, targets, W0, b0, mode):
        self.inputs, self.targets = torch.tensor(inputs), torch.tensor(targets)
        self.W = torch.tensor(W0, requires_grad=True)
        self.b = torch.tensor(b0, requires_grad=True)
        self._step = training_step if mode == "eager" else compiled(training_step)

    def step(self) -> float:
        """One full-batch step; returns the loss before the update."""
        return self._step(self.inputs, self.targets, self.W, self.b, self.learning_rate).item()

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``W`` and ``b`` as NumPy arrays."""
        return self.W.detach().numpy().copy(), self.b.detach().numpy().copy()
