"""What is installed, which backend Keras will use, which devices each framework sees.

``info()`` never imports a framework into the calling process: a framework that is not loaded yet
is asked for its devices in a short-lived subprocess, so looking never locks the Keras backend.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.metadata as metadata
import json
import os
import platform
import re
import subprocess
import sys

from book_kit import backends
from book_kit.frameworks import NAMES as FRAMEWORKS
from book_kit.frameworks import REGISTRY, builds
from book_kit.frameworks.builds import installed_version

# distribution names to report; the first installed of each alternative wins
_PACKAGES = {"numpy": ["numpy"], "keras": ["keras"],
             **{f.name: list(f.distributions) for f in REGISTRY.values()}, "jaxlib": ["jaxlib"]}


def pinned_versions() -> dict[str, str]:
    """The ``==`` pins book_kit's own metadata declares (pyproject.toml is their one home)."""
    pins = {}
    try:
        requirements = metadata.requires("book_kit") or []
    except metadata.PackageNotFoundError:
        return pins
    for req in requirements:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", req)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _base_version(version: str) -> str:
    return version.split("+", 1)[0]  # torch 2.13.0+cpu satisfies ==2.13.0


def _devices_in_subprocess(framework: str) -> list[str] | str:
    code = ("import json; from book_kit import frameworks; "
            f"print(json.dumps(frameworks.get({framework!r}).devices()))")
    env = dict(os.environ, **{k: v for f in REGISTRY.values() for k, v in f.quiet_env.items()})
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120, env=env)
    except subprocess.TimeoutExpired:
        return "no answer within 120 s"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"failed to load: {last}"
    return json.loads(out.stdout.strip().splitlines()[-1])


CPU_ONLY = "cpu:0 (a CPU-only build: there is nothing else to find)"


def _devices(framework: str, ask: bool = False) -> list[str] | str:
    if not ask and framework not in sys.modules and builds.cpu_only(framework):
        return CPU_ONLY
    if framework in sys.modules:
        from book_kit import frameworks

        return frameworks.get(framework).devices()
    return _devices_in_subprocess(framework)


@dataclasses.dataclass
class Info:
    """What ``book_kit.info()`` reports: Python, platform, versions, backend, devices, warnings."""
    python: str
    platform: str
    versions: dict[str, str | None]
    backend: str
    backend_source: str
    devices: dict[str, list[str] | str]
    warnings: list[str]

    def __str__(self) -> str:
        rows = [("python", self.python), ("platform", self.platform)]
        rows += [(name, version or "not installed") for name, version in self.versions.items()]
        rows.append(("keras backend", f"{self.backend} ({self.backend_source})"))
        for name, devs in self.devices.items():
            rows.append((f"{name} devices", ", ".join(devs) if isinstance(devs, list) else devs))
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    __repr__ = __str__


def _backend_source() -> str:
    if "keras" in sys.modules:
        return "Keras is loaded"
    if os.environ.get("KERAS_BACKEND"):
        return "from KERAS_BACKEND"
    if os.path.exists(os.path.join(backends.keras_home(), "keras.json")):
        return "from keras.json"
    return "Keras's default"


def _check(versions: dict[str, str | None]) -> list[str]:
    found = []
    if installed_version("tf-keras", "tf_keras"):
        found.append("tf_keras (legacy Keras 2) is installed: with TF_USE_LEGACY_KERAS=1 "
                     "TensorFlow would use it instead of Keras 3. Uninstall it: "
                     "pip uninstall tf_keras")
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
        found.append("TF_USE_LEGACY_KERAS is set: unset it, the book uses Keras 3.")
    keras_version = versions.get("keras")
    if keras_version and int(keras_version.split(".")[0]) < 3:
        found.append(f"Keras {keras_version} is Keras 2; the book needs Keras 3: "
                     "pip install 'book_kit[all]'")
    try:
        chosen = backends.backend()
    except ValueError as e:
        found.append(f"KERAS_BACKEND is not valid: {e}")
        chosen = None
    if chosen and chosen != "numpy" and not versions.get(chosen):
        found.append(f"Keras will use {chosen!r} but it is not installed: "
                     f"pip install 'book_kit[{chosen}]'")
    if not keras_version:
        found.append("Keras is not installed: pip install 'book_kit[all]'")
    for dist, pin in pinned_versions().items():
        have = installed_version(dist)
        if have and _base_version(have) != pin:
            found.append(f"{dist} {have} is installed but book_kit is tested with {pin}; "
                         "outputs may differ from the stored ones.")
    return found


def info(devices: bool = True, ask_frameworks: bool = False) -> Info:
    """Versions, the Keras backend and devices, with warnings for known-bad set-ups.

    Parameters
    ----------
    devices : bool
        Report each framework's devices.
    ask_frameworks : bool
        Ask each framework for its devices even when its build is CPU-only (slower: it imports
        it, in a subprocess).

    Returns
    -------
    Info
        Printable (``print(info())``); its fields hold the same as data.

    Example
    -------
    >>> print(info())  # prints this machine's versions and devices   # doctest: +SKIP
    python         3.11.7
    platform       Linux x86_64
    numpy          2.4.6
    ...
    >>> str(info(devices=False)).startswith("python")
    True
    """
    versions = {name: installed_version(*dists) for name, dists in _PACKAGES.items()}
    try:
        chosen = backends.backend()
    except ValueError:
        chosen = "invalid"
    found_devices: dict[str, list[str] | str] = {}
    if devices:
        present = [f for f in FRAMEWORKS if versions.get(f)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            for name, devs in zip(present, pool.map(lambda f: _devices(f, ask_frameworks),
                                                     present)):
                found_devices[name] = devs
    return Info(python=platform.python_version(),
                platform=f"{platform.system()} {platform.machine()}",
                versions=versions, backend=chosen, backend_source=_backend_source(),
                devices=found_devices, warnings=_check(versions))
