"""book_kit.devices: JAX shows the CPU as several devices, with threads enough to train on them."""

import pytest

from conftest import run_python


def test_four_devices_with_threads_enough_and_other_flags_kept():
    result = run_python("""
import os
os.environ["XLA_FLAGS"] = "--xla_cpu_max_isa=AVX --xla_force_host_platform_device_count=2"
os.environ.pop("NPROC", None)
from book_kit.devices import simulate_cpu_devices
assert simulate_cpu_devices(4) == 4
print("flags:", os.environ["XLA_FLAGS"])
print("threads:", os.environ["NPROC"])
import jax
print("devices:", len(jax.devices()))
assert simulate_cpu_devices(4) == 4  # asking again for what is there is fine
""")
    assert result.returncode == 0, result.stderr[-3000:]
    said = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert said["flags"] == "--xla_cpu_max_isa=AVX --xla_force_host_platform_device_count=4"
    assert int(said["threads"]) >= 8 and said["devices"] == "4"


def test_too_late_says_to_restart_the_kernel():
    result = run_python("""
import jax
jax.devices()
from book_kit.devices import DevicesError, simulate_cpu_devices
try:
    simulate_cpu_devices(4)
except DevicesError as e:
    print(e)
""")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Restart the kernel" in result.stdout and "simulate_cpu_devices(4)" in result.stdout


@pytest.mark.parametrize("count", [0, 65, 2.0, True, "4"])
def test_a_count_that_is_not_a_number_of_devices_is_refused(count):
    from book_kit.devices import simulate_cpu_devices

    with pytest.raises(ValueError, match="whole number of devices"):
        simulate_cpu_devices(count)
