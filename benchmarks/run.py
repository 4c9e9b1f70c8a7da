"""Regenerate benchmarks/RESULTS.md and benchmarks/step_times.png on this machine.

    python benchmarks/run.py            # everything (about 10-15 minutes on 2 cores)
    python benchmarks/run.py --quick    # one small size, 1 epoch of 6,000 digits on JAX, no
                                        # notebooks (a smoke run of this command)

Every figure is measured in this one run: medians over repeated steps, ratios between variants
measured side by side. The training step timed is the chapter's linear classifier, through
``book_kit.compare.step_timings`` — the same code the gradients chapter's timing cell calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402  (benchmarks/report.py: the sections of RESULTS.md)
import toolkit  # noqa: E402  (benchmarks/toolkit.py: import time and MNIST load)

MNIST_FIT = """
import json, time, book_kit
book_kit.use_backend({backend!r}); book_kit.set_seed(0)
import keras
from keras import layers
(x, y), (xt, yt) = book_kit.load_mnist()
x = x.reshape(60000, 784).astype("float32")[:{samples}] / 255
xt = xt.reshape(10000, 784).astype("float32") / 255
y, yt = keras.utils.to_categorical(y[:{samples}], 10), keras.utils.to_categorical(yt, 10)
model = keras.Sequential([keras.Input((784,)),
                          layers.Dense(256, activation="relu"), layers.Dropout(0.4),
                          layers.Dense(128, activation="relu"), layers.Dropout(0.3),
                          layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(),
              metrics=["accuracy"])
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.t)
model.fit(x, y, epochs={epochs}, batch_size=128, validation_split=0.2, verbose=0,
          callbacks=[Timer()])
print(json.dumps({{"epoch_times": times, "test_accuracy": model.evaluate(xt, yt, verbose=0)[1]}}))
"""

PEAK_MEMORY = """
import resource, json
import tensorflow as tf, torch, jax, jax.numpy as jnp
tf.ones((2, 2)); torch.ones(2); jnp.ones(2).block_until_ready()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def machine() -> dict:
    from book_kit.sysinfo import info

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    report = info(devices=True)
    gpus = {k: [d for d in v if not d.startswith("cpu")] for k, v in report.devices.items()
            if isinstance(v, list)}
    return {"cores": os.cpu_count(), "cpu": model, "python": report.python,
            "platform": report.platform, "versions": report.versions, "gpus": gpus,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def problem(n: int, d: int, seed: int = 0):
    """n points in d dimensions, two classes split by a fixed hyperplane (float32)."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, d)).astype("float32")
    if d == 2:
        import book_kit

        inputs, targets = book_kit.make_blobs(n // 2, seed=seed)
    else:
        targets = (inputs @ rng.normal(size=(d, 1)) > 0).astype("float32")
    W0 = rng.uniform(size=(d, 1)).astype("float32") / np.sqrt(d)
    return inputs, targets, W0, np.zeros((1,), dtype="float32")


def float32_tolerance(n: int, d: int) -> float:
    """Relative tolerance for compiled vs eager: a float32 sum of n*d terms in another order
    differs by about sqrt(n*d) roundings of 6e-8, so bigger problems get a proportionally looser
    bound (never below the chapter's 1e-5)."""
    return max(1e-5, 2e-7 * float(np.sqrt(n * d)))


def one_size(n: int, d: int) -> list[dict]:
    from book_kit import compare

    inputs, targets, W0, b0 = problem(n, d)
    steps = 30 if n * d <= 2_000_000 else 10
    table = compare.step_timings(inputs, targets, W0, b0, steps=steps, check_steps=5,
                                 learning_rate=0.1 if d == 2 else 0.01,
                                 rtol=float32_tolerance(n, d))
    return [{"samples": n, "dims": d, **row} for row in table.to_dict("records")]


def framework_steps(sizes) -> list[dict]:
    """Each size in a fresh process: a first call there really is the first (torch.compile would
    otherwise reuse a dynamic-shape graph compiled for an earlier size)."""
    rows = []
    for n, d in sizes:
        code = (f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import run; "
                f"print(json.dumps(run.one_size({n}, {d})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=1800)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {n:>9,} x {d:<5} done", flush=True)
    return rows


def keras_backends(epochs: int, samples: int = 60_000,
                   backends=("jax", "tensorflow", "torch")) -> list[dict]:
    from book_kit.notebook import runner

    rows = []
    for backend in backends:
        code = MNIST_FIT.format(backend=backend, epochs=epochs, samples=samples)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=1800, env=dict(os.environ, **runner.thread_settings()))
        if out.returncode != 0:
            rows.append({"backend": backend, "error": out.stderr.strip().splitlines()[-1]})
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times = result["epoch_times"]
        rows.append({"backend": backend, "first_epoch_s": times[0],
                     "epoch_s": float(np.median(times[1:] if len(times) > 1 else times)),
                     "epochs": epochs, "test_accuracy": result["test_accuracy"]})
        print(f"  keras {backend} done", flush=True)
    return rows


def notebook_times() -> list[dict]:
    from book_kit.notebook import runner

    rows = []
    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):
        meta = json.loads(chapter.read_text()).get("metadata", {}).get("book_kit", {})
        for backend in meta.get("backends") or [None]:
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / chapter.name
                shutil.copyfile(chapter, copy)
                start = time.perf_counter()
                runner.execute(copy, backend=backend, cwd=chapter.parent)
                seconds = time.perf_counter() - start
                printed = "".join("".join(o.get("text", ""))  # stored as a str or a list
                                  for c in json.loads(copy.read_text())["cells"]
                                  for o in c.get("outputs", []))
                accuracy = next((line for line in printed.splitlines()
                                 if line.startswith("test loss")), "")
                rows.append({"notebook": chapter.name, "backend": backend or "-",
                             "seconds": seconds, "reported": accuracy})
            print(f"  {chapter.name} ({backend or 'default'}) done", flush=True)
    return rows


def peak_memory_mb() -> float:
    out = subprocess.run([sys.executable, "-c", PEAK_MEMORY], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from book_kit.plots.style import PALETTE, style

    with style():
        fig, ax = plt.subplots(figsize=(8, 5))
        narrow = [r for r in rows if r["dims"] == 2]
        labels = {(r["name"], r["mode"]): r["variant"] for r in narrow}
        for i, (key, label) in enumerate(labels.items()):
            points = sorted((r["samples"], r["median step (µs)"]) for r in narrow
                            if (r["name"], r["mode"]) == key)
            ax.loglog(*zip(*points), marker="o", color=PALETTE[i % 8], label=label,
                      linestyle="-" if key[1] == "eager" else "--")
        ax.set_xlabel("samples (full batch, 2 inputs)")
        ax.set_ylabel("median training step (µs)")
        ax.set_title("The linear classifier's training step, eager vs compiled")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)


def claims(rows) -> list[tuple[str, str]]:
    """The chapter's performance claims, judged per problem size from this run's medians."""
    from book_kit import compare

    verdicts = []
    for (n, d) in dict.fromkeys((r["samples"], r["dims"]) for r in rows):
        size = [r for r in rows if (r["samples"], r["dims"]) == (n, d)]
        for claim, held in compare.speed_claims(size):
            verdicts.append((f"{n:,} x {d}", f"{claim}: {'held' if held else 'did not hold'}"))
    return verdicts


def write_results(path: Path, info: dict, steps, keras_rows, overhead, notebooks, memory,
                  seconds: float) -> None:
    v = info["versions"]
    lines = ["# Benchmark results", "",
             f"Regenerated by `python benchmarks/run.py` (or `book-kit bench`) on {info['date']}, "
             f"in {seconds / 60:.1f} minutes.", "",
             "## Machine", "",
             f"- {info['cores']} cores, {info['cpu']}; {info['platform']}; Python {info['python']}",
             f"- numpy {v['numpy']}, keras {v['keras']}, tensorflow {v['tensorflow']}, "
             f"torch {v['torch']}, jax {v['jax']}",
             "- GPU: " + (", ".join(f"{k}: {g}" for k, g in info["gpus"].items() if g) or
                          "none visible to any framework (CPU only)"), "",
             "## The linear classifier's training step, per framework", "",
             "Full-batch step of the chapter's linear classifier "
             "(`book_kit.compare.step_timings`). "
             "`first call` includes tracing/compiling; `median step` is over repeated steps after "
             "it (each size in a fresh process); `speed-up` is against the same framework's eager "
             "step in this run; `rel. diff` is the largest relative difference from eager over 5 "
             "losses and the final weights, and `matches` compares it with a float32 tolerance "
             "that grows with the size of the sums (1e-5 up to 20,000 terms, "
             "2e-7·sqrt(samples·inputs) beyond).", "",
             "| samples x inputs | variant | first call (ms) | median step (µs) | speed-up "
             "| rel. diff | matches eager |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in steps:
        lines.append(f"| {r['samples']:,} x {r['dims']} | {r['variant']} "
                     f"| {r['first call (ms)']:.1f} "
                     f"| {r['median step (µs)']:.0f} | {r['speed-up vs eager']:.2f} | "
                     f"{r['max rel. diff']:.1e} | {'yes' if r['matches eager'] else 'NO'} |")
    lines += ["", "![step times](step_times.png)", "", "### The chapter's claims, here", ""]
    lines += [f"- {where}: {verdict}" for where, verdict in claims(steps)]
    lines += ["", "## Keras backends: the MNIST dense net (R Keras README recipe)", "",
              "| backend | first epoch (s) | later epochs, median (s) | epochs | test accuracy |",
              "|---|---:|---:|---:|---:|"]
    for r in keras_rows:
        if "error" in r:
            lines.append(f"| {r['backend']} | failed: {r['error']} | | | |")
        else:
            lines.append(f"| {r['backend']} | {r['first_epoch_s']:.2f} | {r['epoch_s']:.2f} | "
                         f"{r['epochs']} | {r['test_accuracy']:.4f} |")
    lines += ["", "## Toolkit overhead", "",
              f"- `import book_kit`: median {overhead['import']['median_ms']:.1f} ms over "
              f"{overhead['import']['repeats']} fresh interpreters (target ≤ 50 ms); "
              f"{overhead['import']['modules']} modules loaded; "
              f"frameworks loaded: {overhead['import']['frameworks_loaded'] or 'none'}"]
    if overhead.get("mnist"):
        lines.append(f"- `load_mnist()` with verification: from the mirror "
                     f"{overhead['mnist']['from_mirror_s']:.2f} s, from the cache "
                     f"{overhead['mnist']['from_cache_s']:.2f} s (target ≤ 1 s)")
    lines.append(f"- peak memory of a process that loads TensorFlow, PyTorch and JAX: "
                 f"{memory:.0f} MB")
    if notebooks:
        lines += ["", "| notebook | Keras backend | execution (s) | it reports |",
                  "|---|---|---:|---|"]
        lines += [f"| {r['notebook']} | {r['backend']} | {r['seconds']:.0f} | {r['reported']} |"
                  for r in notebooks]
    report.write(path, main="\n".join(lines) + "\n")  # keeps load.py's and suite.py's sections


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one small size, 1 short epoch, no notebooks")
    parser.add_argument("--out", default=str(HERE), help="folder for RESULTS.md and the plot")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print("machine ...", flush=True)
    info = machine()
    sizes = [(2_000, 2)] if args.quick else \
        [(2_000, 2), (20_000, 2), (200_000, 2), (2_000_000, 2), (20_000, 1_000)]
    print("framework steps ...", flush=True)
    steps = framework_steps(sizes)
    print("keras backends ...", flush=True)
    keras_rows = keras_backends(epochs=1, samples=6_000, backends=("jax",)) if args.quick \
        else keras_backends(epochs=3)
    print("toolkit overhead ...", flush=True)
    repeats = 5 if args.quick else 15
    overhead = {"import": toolkit.import_time(repeats), "mnist": toolkit.mnist_load(repeats // 3)}
    memory = peak_memory_mb()
    notebooks = [] if args.quick else notebook_times()
    plot(steps, out / "step_times.png")
    write_results(out / "RESULTS.md", info, steps, keras_rows, overhead, notebooks, memory,
                  time.perf_counter() - start)
    print((out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
