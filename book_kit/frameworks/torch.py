"""PyTorch: the chapter's helpers, with the same names as tensorflow.py and jax.py."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from book_kit.frameworks import REGISTRY, base

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

def _is_whole_object(path: Path) -> bool:
    """Whether a built kernel (``.so`` or ``.o``) is complete, as far as can be told: not empty,
    and for a 64-bit ELF file (Linux) at least as long as its section header table's end, which
    the linker writes last. Other formats (macOS's Mach-O) are judged by emptiness only."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
        if not header:
            return False
        if header[:5] != b"\x7fELF\x02":  # not a 64-bit ELF file: nothing more to check
            return True
        if len(header) < 64:
            return False
        order = "<" if header[5] == 1 else ">"
        (table_offset,) = struct.unpack_from(order + "Q", header, 0x28)
        entry_size, entries = struct.unpack_from(order + "HH", header, 0x3A)
        return path.stat().st_size >= table_offset + entry_size * entries
    except OSError:
        return False


def repair_compile_cache(cache_dir=None) -> list[Path]:
    """Delete the kernels a stopped ``torch.compile`` build left half-written in its cache.

    torch.compile builds its C++ kernels straight into its on-disk cache and reuses any file it
    finds there. Interrupting the kernel (or a timeout) while it compiles leaves an empty or cut
    ``.so``, and from then on every run that compiles the same code fails with ``ImportError:
    ... .so: file too short`` (pytorch/pytorch#102539), until the file is removed. This removes
    such files, each under the lock torch.compile builds it under (one being built right now is
    left alone), so the next compile builds them again. The cache holds only what torch.compile
    generated; nothing else is touched.

    Parameters
    ----------
    cache_dir : str or Path, optional
        The cache; by default torch.compile's own (``TORCHINDUCTOR_CACHE_DIR`` if set, else
        ``torchinductor_<user>`` in the temporary folder).

    Returns
    -------
    list of Path
        The files removed (usually none).

    Example
    -------
    >>> from book_kit.frameworks import torch as torch_helpers   # needs PyTorch   # doctest: +SKIP
    >>> torch_helpers.repair_compile_cache()   # needs PyTorch   # doctest: +SKIP
    []
    """
    from filelock import FileLock, Timeout  # torch.compile's own lock; a dependency of torch

    if cache_dir is None:
        from torch._inductor.runtime.cache_dir_utils import cache_dir as inductor_cache_dir

        cache_dir = inductor_cache_dir()
    cache_dir = Path(cache_dir)
    removed = []
    for path in sorted([*cache_dir.glob("*/*.so"), *cache_dir.glob("*/*.o")]):
        if _is_whole_object(path):
            continue
        # torch names a build's lock after its key, the file name up to the first dot
        lock = FileLock(cache_dir / "locks" / f"{path.name.split('.')[0]}.lock", timeout=0)
        try:
            with lock:
                if path.exists() and not _is_whole_object(path):
                    path.unlink()
                    removed.append(path)
        except Timeout:
            continue  # being built by another process right now
    return removed


def compiled(fn):
    """``torch.compile(fn)``, after :func:`repair_compile_cache` (a reader who interrupted an
    earlier compile would otherwise see ``file too short`` from then on).

    Example
    -------
    >>> from book_kit.frameworks import torch as torch_helpers   # needs PyTorch   # doctest: +SKIP
    >>> step = torch_helpers.compiled(torch_helpers.training_step)  # PyTorch  # doctest: +SKIP
    """
    repair_compile_cache()
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
