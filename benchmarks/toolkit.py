"""Toolkit overhead: `import book_kit` time and modules, MNIST load time (mirror copy and cache).

Run: python benchmarks/toolkit.py   (MNIST figures need BOOK_KIT_DATA_MIRROR or internet)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

FRAMEWORKS = ("tensorflow", "torch", "jax", "keras")


def _fresh(code: str, env: dict | None = None) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env).stdout


def import_time(repeats: int = 15) -> dict:
    """Median wall time of `import book_kit` in fresh interpreters (interpreter start excluded)."""
    code = ("import time, sys, json; t = time.perf_counter(); import book_kit; "
            "dt = time.perf_counter() - t; "
            "print(json.dumps([dt, len(sys.modules), "
            f"[m for m in {FRAMEWORKS!r} if m in sys.modules]]))")
    runs = [json.loads(_fresh(code)) for _ in range(repeats)]
    return {"repeats": repeats, "median_ms": 1000 * statistics.median(r[0] for r in runs),
            "max_ms": 1000 * max(r[0] for r in runs), "modules": runs[0][1],
            "frameworks_loaded": runs[0][2]}


def mnist_load(repeats: int = 5) -> dict | None:
    mirror = os.environ.get("BOOK_KIT_DATA_MIRROR")
    if not mirror:
        return None
    code = ("import time, json; t = time.perf_counter(); import book_kit.datasets as d; "
            "d.load_mnist(); print(json.dumps(time.perf_counter() - t))")
    with tempfile.TemporaryDirectory() as tmp:
        firsts, cached = [], []
        for i in range(repeats):
            env = dict(os.environ, BOOK_KIT_DATA_DIR=os.path.join(tmp, str(i)))
            firsts.append(json.loads(_fresh(code, env)))   # copy from mirror + verify
            cached.append(json.loads(_fresh(code, env)))   # verify the cached copy
    return {"from_mirror_s": statistics.median(firsts), "from_cache_s": statistics.median(cached)}


def main() -> None:
    imp = import_time()
    print(f"import book_kit: median {imp['median_ms']:.1f} ms (max {imp['max_ms']:.1f} ms, "
          f"target <= 50 ms); {imp['modules']} modules in sys.modules; "
          f"frameworks loaded: {imp['frameworks_loaded'] or 'none'}")
    mnist = mnist_load()
    if mnist is None:
        print("MNIST load: skipped (set BOOK_KIT_DATA_MIRROR to a folder holding mnist.npz)")
    else:
        print(f"MNIST load_mnist(), verified: from the mirror {mnist['from_mirror_s']:.2f} s, "
              f"from the cache {mnist['from_cache_s']:.2f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
