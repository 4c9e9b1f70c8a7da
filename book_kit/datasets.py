"""The chapter's data: synthetic blobs (made here) and MNIST (fetched once, verified every load).

Where a file comes from, in order: the data directory (``BOOK_KIT_DATA_DIR``), a verified copy in
the Keras cache (read only: Keras deletes files whose hash it does not know, so we never write
there), the mirror (``BOOK_KIT_DATA_MIRROR``: a folder or a base URL), then the canonical URL.
We check the SHA-256 of each *decoded array*, not of the file, so a re-compressed mirror copy
verifies just as the original download does (pooch only knows file hashes: it does the download,
progress bar and retry; the content check is ours).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

# load_mnist is public as book_kit.load_mnist, make_blobs as book_kit.make_blobs
__all__ = ["REGISTRY", "ArraySpec", "DataError", "Dataset", "Status", "data_dir", "fetch", "load",
           "register", "status"]

ENV_DATA_DIR = "BOOK_KIT_DATA_DIR"
ENV_MIRROR = "BOOK_KIT_DATA_MIRROR"
# Set only in a graded kernel: arrays the grader replaced (MNIST's test labels: it judges trained
# models on the real ones, outside the sandbox), checked by shape and dtype, not by content
ENV_WITHHELD = "BOOK_KIT_WITHHELD"
DOWNLOAD_TIMEOUT = 60  # seconds without data before a download counts as failed


class DataError(RuntimeError):
    """A data set could not be fetched or failed verification; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """One array of a data file: its shape, dtype and the SHA-256 of its bytes (C order)."""
    shape: tuple
    dtype: str
    sha256: str  # of array.tobytes() in C order


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A data set book_kit can load: file name, download address and its arrays' specs."""
    name: str
    filename: str
    url: str
    arrays: dict  # key in the .npz -> ArraySpec
    description: str = ""
    license: str = ""


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add ``dataset`` to :data:`REGISTRY` (under its name) and return it.

    Example
    -------
    >>> tiny = register(Dataset("tiny", "tiny.npz", "https://example.org/tiny.npz", {}))
    >>> REGISTRY["tiny"] is tiny
    True
    >>> del REGISTRY["tiny"]   # (this example leaves the registry as it was)
    """
    REGISTRY[dataset.name] = dataset
    return dataset


MNIST = register(Dataset(
    name="mnist",
    filename="mnist.npz",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    arrays={
        "x_train": ArraySpec((60000, 28, 28), "uint8",
                             "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
        "y_train": ArraySpec((60000,), "uint8",
                             "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
        "x_test": ArraySpec((10000, 28, 28), "uint8",
                            "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
        "y_test": ArraySpec((10000,), "uint8",
                            "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
    },
    description="MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 training and "
                "10,000 test images, 28x28 greyscale",
    license="CC BY-SA 3.0",
))


# --- where data lives ------------------------------------------------------------------------

def data_dir() -> Path:
    """``BOOK_KIT_DATA_DIR``; else the checkout's ``datasets/``; else the user cache folder."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists() and (checkout / "datasets").is_dir():
        return checkout / "datasets"
    import platformdirs

    return Path(platformdirs.user_cache_dir("book_kit"))


def _keras_cache_file(dataset: Dataset) -> Path:
    from book_kit.backends import keras_home

    return Path(keras_home()) / "datasets" / dataset.filename


def _get(name_or_dataset) -> Dataset:
    if isinstance(name_or_dataset, Dataset):
        return name_or_dataset
    try:
        return REGISTRY[name_or_dataset]
    except KeyError:
        raise ValueError(f"Unknown data set {name_or_dataset!r}; known: "
                         f"{', '.join(sorted(REGISTRY))}.") from None


# --- verification ----------------------------------------------------------------------------

def _array_sha256(array) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _read_verified(dataset: Dataset, path: Path) -> tuple[dict | None, str | None]:
    """(arrays, None) when every array matches the registry, else (None, what is wrong)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in dataset.arrays if key in npz.files}
    except Exception as e:  # truncated zip, not an npz at all, unreadable: all mean "corrupt"
        return None, f"it cannot be read as an .npz file ({type(e).__name__}: {e})"
    for key, spec in dataset.arrays.items():
        if key not in arrays:
            return None, f"array {key!r} is missing"
        got = arrays[key]
        if tuple(got.shape) != tuple(spec.shape) or str(got.dtype) != spec.dtype:
            return None, (f"array {key!r} is {got.dtype}{tuple(got.shape)}, expected "
                          f"{spec.dtype}{tuple(spec.shape)}")
        if f"{dataset.name}:{key}" in os.environ.get(ENV_WITHHELD, "").split(","):
            continue
        digest = _array_sha256(got)
        if digest != spec.sha256:
            return None, f"array {key!r} has SHA-256 {digest}, expected {spec.sha256}"
    return arrays, None


def _move_aside(path: Path, why: str, filename: str) -> Path:
    """Keep a bad file for inspection, out of the way of loaders (never silently delete it)."""
    corrupt_dir = path.parent / "corrupt"
    corrupt_dir.mkdir(parents=True, exist_ok=True)
    stamp = f"{filename}.{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    target, n = corrupt_dir / stamp, 1
    while target.exists():
        target, n = corrupt_dir / f"{stamp}-{n}", n + 1
    os.replace(path, target)
    (corrupt_dir / f"{target.name}.why.txt").write_text(why + "\n")
    return target


# --- fetching --------------------------------------------------------------------------------

def _incoming(dest: Path) -> Path:
    # a hidden, per-process name: never mistaken for the real file, no race between processes
    return dest.with_name(f".{dest.name}.incoming-{os.getpid()}")


def _download(url: str, dest: Path, timeout: float) -> None:
    """Download to a private staging folder beside ``dest`` (pooch: progress bar, one retry)."""
    import pooch

    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".staging-") as staging:
        fetcher = pooch.create(path=staging, base_url="", registry={dest.name: None},
                               urls={dest.name: url}, retry_if_failed=1)
        downloaded = fetcher.fetch(dest.name, progressbar=True,
                                   downloader=pooch.HTTPDownloader(progressbar=True,
                                                                   timeout=timeout))
        os.replace(downloaded, _incoming(dest))


def _copy_from_folder(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".staging-") as staging:
        staged = Path(staging) / dest.name
        shutil.copyfile(source, staged)
        os.replace(staged, _incoming(dest))


def _sources(dataset: Dataset) -> list[tuple[str, object]]:
    """(label, how to get it) for the mirror, if any, then the canonical URL."""
    found = []
    mirror = os.environ.get(ENV_MIRROR, "").strip()
    if mirror:
        if mirror.startswith(("http://", "https://", "ftp://")):
            url = mirror.rstrip("/") + "/" + dataset.filename
            found.append((f"mirror {url}", ("url", url)))
        else:
            folder = Path(mirror.removeprefix("file://")).expanduser()
            found.append((f"mirror folder {folder}", ("folder", folder / dataset.filename)))
    found.append((f"{dataset.url}", ("url", dataset.url)))
    return found


def fetch(name_or_dataset="mnist", *, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """Make sure a verified copy is available and return its path (downloading if needed)."""
    return _load_or_fetch(_get(name_or_dataset), timeout)[0]


def _load_or_fetch(dataset: Dataset, timeout: float) -> tuple[Path, dict]:
    folder = data_dir()
    target = folder / dataset.filename
    moved = None
    if target.exists():
        arrays, problem = _read_verified(dataset, target)
        if arrays is not None:
            return target, arrays
        moved = (_move_aside(target, f"{target} failed verification: {problem}",
                            dataset.filename), problem)
    keras_copy = _keras_cache_file(dataset)
    if keras_copy.exists():  # reuse read-only; a copy that fails is Keras's business, not ours
        arrays, _ = _read_verified(dataset, keras_copy)
        if arrays is not None:
            return keras_copy, arrays
    folder.mkdir(parents=True, exist_ok=True)
    incoming = _incoming(target)
    tried = []
    for label, (kind, where) in _sources(dataset):
        try:
            if kind == "folder":
                _copy_from_folder(where, target)
            else:
                _download(where, target, timeout)
        except Exception as e:  # network down, 404/500, timeout, missing mirror file
            tried.append(f"{label}: {type(e).__name__}: {e}")
            continue
        arrays, problem = _read_verified(dataset, incoming)
        if arrays is None:
            bad = _move_aside(incoming, f"{dataset.filename} from {label}: {problem}",
                              dataset.filename)
            tried.append(f"{label}: downloaded, but {problem} (kept as {bad})")
            continue
        os.replace(incoming, target)  # only a verified file ever gets the final name
        return target, arrays
    raise DataError(_failure_message(dataset, folder, tried, moved))


def _failure_message(dataset: Dataset, folder: Path, tried: list[str], moved) -> str:
    lines = [f"Could not get a verified copy of {dataset.filename} ({dataset.name})."]
    if moved is not None:
        lines.append(f"The cached copy {folder / dataset.filename} failed verification "
                     f"({moved[1]}) and was moved aside to {moved[0]}.")
    lines.append("Tried:")
    lines += [f"  - {t}" for t in tried]
    lines += [
        "To fix it, do one of:",
        f"  - connect to the internet and run: book-kit data fetch {dataset.name}",
        f"  - set {ENV_MIRROR} to a folder or base URL that holds {dataset.filename}",
        f"  - set {ENV_DATA_DIR} to a folder that already holds a good {dataset.filename}, "
        f"or copy one into {folder}",
    ]
    return "\n".join(lines)


def load(name_or_dataset) -> dict:
    """All arrays of a registered data set, verified against the registry."""
    return _load_or_fetch(_get(name_or_dataset), DOWNLOAD_TIMEOUT)[1]


def load_mnist():
    """``((x_train, y_train), (x_test, y_test))``, as ``keras.datasets.mnist.load_data()`` gives."""
    arrays = load(MNIST)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


# --- status, for `book-kit data list | verify` -----------------------------------------------

@dataclasses.dataclass
class Status:
    """What ``book-kit data list`` reports for one data set: where it is and whether it
    verified."""
    name: str
    path: Path | None
    state: str  # "verified", "corrupt: ...", "not cached"
    size: int | None

    @property
    def ok(self) -> bool:
        """True when the cached file was found and every array matched its hash."""
        return self.state == "verified"


def status(name_or_dataset) -> Status:
    """Check what is cached, without fetching or moving anything."""
    dataset = _get(name_or_dataset)
    for path in (data_dir() / dataset.filename, _keras_cache_file(dataset)):
        if path.exists():
            _, problem = _read_verified(dataset, path)
            return Status(dataset.name, path,
                          "verified" if problem is None else f"corrupt: {problem}",
                          path.stat().st_size)
    return Status(dataset.name, None, "not cached", None)
