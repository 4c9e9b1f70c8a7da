"""torch.compile's on-disk cache, repaired after a build stopped half-way (imports no torch).

torch.compile builds its C++ kernels straight into its cache and reuses any file it finds there.
Interrupting the kernel (or a cell timeout) while it links leaves an empty or cut ``.so``, and
from then on every run that compiles the same code fails with ``ImportError: ... .so: file too
short`` (pytorch/pytorch#102539) until the file is removed. :func:`repair` removes such files;
book_kit's ``frameworks.torch.compiled`` and every chapter's set-up (``book_kit.setup_notebook``)
call it, so a reader's next run builds them again. Found in book_kit's own test run: nbgrader's
30-second cell timeout stopped the chapter's timing cell mid-link, and three later runs failed.
"""

from __future__ import annotations

import getpass
import os
import re
import struct
import tempfile
from pathlib import Path


def default_dir() -> Path:
    """Where torch.compile keeps its cache: ``TORCHINDUCTOR_CACHE_DIR`` if set, else
    ``torchinductor_<user>`` in the temporary folder (torch's own rule, read without importing
    torch and without setting the variable as torch does).

    Example
    -------
    >>> from book_kit.frameworks import torch_compile_cache
    >>> torch_compile_cache.default_dir().name.startswith("torchinductor_") or bool(
    ...     os.environ.get("TORCHINDUCTOR_CACHE_DIR"))
    True
    """
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"]).absolute()
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    return Path(tempfile.gettempdir()) / ("torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


def is_whole(path) -> bool:
    """Whether a built kernel (``.so`` or ``.o``) is complete, as far as can be told.

    Not empty, and for a 64-bit ELF file (Linux) at least as long as the end of its section
    header table, which the linker writes last. Other formats (macOS's Mach-O) are judged by
    emptiness alone.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bool
        False for an empty, cut or unreadable file.

    Example
    -------
    >>> import _ctypes   # an extension module this Python built
    >>> is_whole(_ctypes.__file__)
    True
    """
    path = Path(path)
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


def repair(cache_dir=None) -> list[Path]:
    """Delete the kernels a stopped torch.compile build left half-written in its cache.

    Each file is checked again and removed under the lock torch.compile builds it under, so a
    kernel another process is building right now is left alone. Only ``.so`` and ``.o`` files
    torch.compile generated are touched; their sources stay, and torch.compile rebuilds them
    the next time it needs them.

    Parameters
    ----------
    cache_dir : str or Path, optional
        The cache; by default torch.compile's own (:func:`default_dir`). A cache that does not
        exist yet is fine.

    Returns
    -------
    list of Path
        The files removed (usually none).

    Example
    -------
    >>> from book_kit.frameworks import torch_compile_cache
    >>> torch_compile_cache.repair(tempfile.mkdtemp())   # an empty cache: nothing to remove
    []
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_dir()
    if not cache_dir.is_dir():
        return []
    try:
        from filelock import FileLock, Timeout  # torch.compile's own lock (torch requires it)
    except ImportError:  # no torch any more, so nothing will read the cache
        return []
    removed = []
    for path in sorted([*cache_dir.glob("*/*.so"), *cache_dir.glob("*/*.o")]):
        if is_whole(path):
            continue
        # torch names a build's lock after its key, the file name up to the first dot
        (cache_dir / "locks").mkdir(exist_ok=True)
        lock = FileLock(cache_dir / "locks" / f"{path.name.split('.')[0]}.lock", timeout=0)
        try:
            with lock:
                if path.exists() and not is_whole(path):
                    path.unlink()
                    removed.append(path)
        except Timeout:
            continue  # being built by another process right now
    return removed
