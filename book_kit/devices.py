"""Pretend the CPU is several devices, so multi-device code (data parallelism) runs on a laptop.

JAX shows one CPU device by default. XLA can split it into N virtual devices, which is how the
"Beyond the book" notebook trains one Keras model on four devices without a GPU. Two settings are
needed, both read once, when JAX creates its CPU client (its first array), so they must be made
before anything imports JAX or Keras-on-JAX:

- ``XLA_FLAGS=--xla_force_host_platform_device_count=N``: the N devices;
- ``NPROC``: the number of threads XLA's CPU client gives its thread pools (XLA reads this
  variable; by default it uses the number of cores). Measured with JAX 0.10.2 on a 2-core
  machine: a data-parallel training step on 4 devices *deadlocked* ("Expected 4 threads to join
  the rendezvous, but only 3 of them arrived", then XLA ends the process after 40 s), because a
  device waiting in the gradient all-reduce holds a pool thread that another device's matrix
  product needs. With NPROC=6 it still hung; from 8 (twice the devices) it trains every time,
  under load too. So we ask for at least twice as many threads as devices.
"""

from __future__ import annotations

import os
import re
import sys

_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


class DevicesError(RuntimeError):
    """Virtual devices were asked for too late (JAX already made its devices)."""


def simulate_cpu_devices(count: int) -> int:
    """Make JAX show the CPU as ``count`` devices (call before JAX makes its first array).

    Parameters
    ----------
    count : int
        How many virtual CPU devices JAX should show (1 to 64).

    Returns
    -------
    int
        ``count``, for ``n_devices = simulate_cpu_devices(4)``.

    Raises
    ------
    ValueError
        If ``count`` is not an integer from 1 to 64.
    DevicesError
        If JAX has already made its devices in this process: restart the kernel and call this
        first.

    Example
    -------
    >>> import book_kit.devices
    >>> # sets XLA_FLAGS for the whole process, before JAX loads
    >>> book_kit.devices.simulate_cpu_devices(4)   # doctest: +SKIP
    4
    >>> import jax; len(jax.devices())   # needs JAX   # doctest: +SKIP
    4
    >>> book_kit.devices.simulate_cpu_devices(0)   # 1 to 64 devices
    Traceback (most recent call last):
    ValueError: count should be a whole number of devices from 1 to 64, not 0
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
        raise ValueError(f"count should be a whole number of devices from 1 to 64, not {count!r}")
    if "jax" in sys.modules:  # JAX loaded: its own setting, refused once its devices exist
        from book_kit import frameworks

        jax_kit = frameworks.get("jax")
        if not jax_kit.set_cpu_device_count(count):
            raise DevicesError(
                f"JAX already made its {len(jax_kit.devices())} device(s) in this kernel, and "
                f"the number is fixed once made. Restart the kernel (Kernel > Restart Kernel) "
                f"and run simulate_cpu_devices({count}) before anything imports JAX or Keras.")
    flags = re.sub(rf"\s*{_DEVICE_COUNT_FLAG}=\S+", "", os.environ.get("XLA_FLAGS", "")).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {_DEVICE_COUNT_FLAG}={count}".strip()
    threads = max(2 * count, os.cpu_count() or 1)
    given = os.environ.get("NPROC", "")
    if not given.isdigit() or int(given) < threads:
        os.environ["NPROC"] = str(threads)
    return count
