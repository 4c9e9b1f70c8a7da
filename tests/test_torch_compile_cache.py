"""A torch.compile build stopped half-way (an interrupted kernel, a cell timeout) must not break
every later run: ``book_kit.frameworks.torch.compiled`` and the chapters' set-up repair the cache
(``book_kit.frameworks.torch_compile_cache``).

Found in a full test run: nbgrader's 30-second cell timeout interrupted the chapter's timing
cell while torch.compile was linking, left an empty ``.so`` in the shared cache, and three later
tests that compile the same step failed with ``file too short``."""

import _ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from book_kit.frameworks import torch_compile_cache

# one step of the chapter's linear classifier, compiled, in a fresh process (torch.compile's
# in-process caches would hide what is on disk)
STEP = """
import numpy as np, torch
from book_kit.frameworks import torch as t
inputs = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
targets = (inputs[:, :1] > 0).astype("float32")
W0, b0 = np.full((2, 1), 0.5, dtype="float32"), np.zeros((1,), dtype="float32")
{how}
print("loss", trainer.step())
"""
BOOK_KIT = "trainer = t.LinearTrainer(inputs, targets, W0, b0, mode='compile')"
# plain torch.compile first (it should fail), then book_kit's, in the same process
PLAIN_THEN_BOOK_KIT = """
class Plain(t.LinearTrainer):
    def _setup(self, *arrays):
        super()._setup(*arrays[:4], "eager")
        self._step = torch.compile(t.training_step)  # no repair
try:
    Plain(inputs, targets, W0, b0, mode='compile').step()
except Exception as error:
    print("plain torch.compile:", repr(error)[-300:])
torch._dynamo.reset()
""" + BOOK_KIT


def _run(how, cache):
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", STEP.format(how=how)], env=env,
                          capture_output=True, text=True, timeout=600)


def test_whole_half_and_empty_objects_are_told_apart(tmp_path):
    whole = Path(_ctypes.__file__)  # a built extension module of this Python
    assert torch_compile_cache.is_whole(whole)
    data = whole.read_bytes()
    for name, content in [("empty.so", b""), ("half.so", data[: len(data) // 2]),
                          ("header.so", data[:40])]:
        (tmp_path / name).write_bytes(content)
        assert not torch_compile_cache.is_whole(tmp_path / name), name
    (tmp_path / "macho.so").write_bytes(b"\xcf\xfa\xed\xfe" + bytes(60))  # judged by size only
    assert torch_compile_cache.is_whole(tmp_path / "macho.so")


def test_repair_removes_only_broken_builds_and_leaves_one_being_built(tmp_path):
    (tmp_path / "ab").mkdir()
    (tmp_path / "locks").mkdir()
    shutil.copy(_ctypes.__file__, tmp_path / "ab" / "cgood.main.so")
    (tmp_path / "ab" / "cbroken.main.so").write_bytes(b"")
    (tmp_path / "ab" / "cbusy.main.so").write_bytes(b"")
    (tmp_path / "ab" / "cbroken.cpp").write_text("// the source stays")
    with FileLock(tmp_path / "locks" / "cbusy.lock"):  # a build in progress holds its lock
        removed = torch_compile_cache.repair(tmp_path)
    assert removed == [tmp_path / "ab" / "cbroken.main.so"]
    assert sorted(p.name for p in (tmp_path / "ab").iterdir()) == [
        "cbroken.cpp", "cbusy.main.so", "cgood.main.so"]
    assert torch_compile_cache.repair(tmp_path / "no-cache-yet") == []


@pytest.mark.slow
def test_a_build_cut_short_breaks_plain_torch_compile_but_not_book_kit(tmp_path):
    cache = tmp_path / "inductor"
    first = _run(BOOK_KIT, cache)
    assert first.returncode == 0, first.stderr[-3000:]
    # the step's kernels (the other .so files are torch's probes of what the CPU can do)
    built = sorted(cache.glob("*/*.main.so"))
    assert built, "torch.compile built no kernel"
    for path in built:
        path.write_bytes(b"")  # what an interrupted link leaves
    repaired = _run(PLAIN_THEN_BOOK_KIT, cache)
    assert repaired.returncode == 0, repaired.stderr[-3000:]
    assert "file too short" in repaired.stdout.split("plain torch.compile:")[1], repaired.stdout
    assert repaired.stdout.split("loss")[-1] == first.stdout.split("loss")[-1]
    assert all(torch_compile_cache.is_whole(path) for path in built)


def test_a_chapters_set_up_repairs_the_cache_without_importing_torch(py, tmp_path):
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "cbroken.main.so").write_bytes(b"")
    shutil.copy(_ctypes.__file__, tmp_path / "ab" / "cgood.main.so")
    out = py("""
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.instance()
        import book_kit
        book_kit.setup_notebook()
        print("torch" in sys.modules)
    """, env={"TORCHINDUCTOR_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["False"]
    assert sorted(p.name for p in (tmp_path / "ab").iterdir()) == ["cgood.main.so"]
