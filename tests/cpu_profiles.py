"""Make this machine compute like other CPUs, so stored outputs are tested for portability.

Readers run the chapters on Intel, AMD and ARM laptops. Their float results differ in the last
bits because the frameworks pick different kernels (vector width, fused multiply-add or not,
threads). These settings make the frameworks pick other kernels here:

- ``XLA_FLAGS=--xla_cpu_max_isa=AVX``: JAX (and TensorFlow's XLA) generate code for a CPU with AVX
  only, no AVX2 and no fused multiply-add, like a laptop from before 2013;
- ``ATEN_CPU_CAPABILITY=default``: PyTorch uses its plain, non-vectorized kernels;
- ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow uses its Eigen kernels instead of oneDNN's;
- ``OPENBLAS_CORETYPE=Sandybridge``: NumPy's OpenBLAS uses its AVX kernels;
- one thread per framework, as on a single-core machine;
- its own torch.compile cache (see below).

Measured on this stack: with these settings the ch03_3 MNIST network on JAX reached test accuracy
0.9816 instead of 0.9796 (validation 0.9808 instead of 0.981) and ch03_2's learned weights moved
in their eighth digit, while random numbers, shapes, counts, exact arithmetic and the 4-decimal
losses of the linear classifier stayed bit-identical.
"""

import tempfile
from pathlib import Path

OTHER_CPU = {
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX --xla_cpu_multi_thread_eigen=false",
    "ATEN_CPU_CAPABILITY": "default",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "OPENBLAS_CORETYPE": "Sandybridge",
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    # torch.compile's on-disk cache does not tell kernels built for one CPU capability from
    # another: a cache filled natively made the compile under ATEN_CPU_CAPABILITY=default fail
    # ("'at::vec' has not been declared"). Each imitated CPU gets its own cache.
    "TORCHINDUCTOR_CACHE_DIR": str(Path(tempfile.gettempdir()) / "book_kit-inductor-other-cpu"),
}
