"""The pins live in pyproject.toml only; everything else installs through its extras."""

import re
import tomllib

import yaml

from conftest import ROOT

FRAMEWORKS = ("tensorflow-cpu", "tensorflow", "jax", "torch", "keras")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(requirements):
    found = {}
    for req in requirements:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", req)
        if m:
            found.setdefault(m.group(1).lower(), set()).add(m.group(2))
    return found


def _framework_pins() -> dict[str, str]:
    """Each framework's pinned version, read from pyproject.toml (their one home)."""
    extras = _pyproject()["project"]["optional-dependencies"]
    pins = _pins(r for group in extras.values() for r in group)
    return {name: next(iter(pins[name])) for name in FRAMEWORKS}


def test_pyproject_pins_the_book_stack_exactly_and_once():
    extras = _pyproject()["project"]["optional-dependencies"]
    pins = _pins(r for group in extras.values() for r in group)
    for name in FRAMEWORKS:  # pinned with ==, one version in every extra that names it
        assert len(pins.get(name, ())) == 1, \
            f"{name} must be pinned to one version: {pins.get(name)}"
        assert all(re.match(rf"^\s*{re.escape(name)}\s*==", r) for group in extras.values()
                   for r in group if re.match(rf"^\s*{re.escape(name)}\s*[=<>~!;]", r)), name
    assert pins["tensorflow"] == pins["tensorflow-cpu"]  # the CPU build on Linux, the same release
    assert extras["all"] == ["book_kit[tensorflow,torch,jax]"]
    for name in ("pytest", "nbval", "pytest-xdist", "nbformat", "nbclient"):
        assert any(r.startswith(name) for r in extras["dev"]), name


def test_no_loose_torch_anywhere():
    # a torch requirement without == pulls a multi-GB CUDA build on this machine kind
    project = _pyproject()["project"]
    requirements = project["dependencies"] + [r for g in project["optional-dependencies"].values()
                                              for r in g]
    for req in requirements:
        if re.match(r"^\s*torch\b(?!-)", req):
            assert "==" in req, req


def test_environment_yml_installs_through_pyproject_and_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_deps = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[all,dev]" in pip_deps
    # no framework is pinned a second time on the conda side
    names = {re.split(r"[=<> ]", d)[0].lower() for d in conda_deps}
    assert not names & {"tensorflow", "tensorflow-cpu", "torch", "pytorch", "jax", "jaxlib",
                        "keras"}
    python = next(d for d in conda_deps if d.startswith("python="))
    minor = tuple(int(p) for p in python.split("=")[1].split(".")[:2])
    requires = _pyproject()["project"]["requires-python"]
    low = tuple(int(p) for p in re.search(r">=\s*([\d.]+)", requires).group(1).split(".")[:2])
    high = tuple(int(p) for p in re.search(r"<\s*([\d.]+)", requires).group(1).split(".")[:2])
    assert low <= minor < high


def test_readme_has_the_two_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")
                and not line.startswith(("set ", "cd ", "export "))]
    assert commands == ["make test"]
    assert "BOOK_KIT_DATA_MIRROR" in ci and "../shared/datasets" in ci


def test_readme_does_not_repeat_versions_that_could_drift():
    readme = (ROOT / "README.md").read_text()
    for name, version in _framework_pins().items():
        if version in readme:
            raise AssertionError(f"README repeats {name} {version}; say 'pinned in pyproject.toml'")


def test_binder_builds_from_pyproject_and_the_license_is_the_declared_one():
    import subprocess
    import sys

    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(10|11|12)", runtime), runtime  # within requires-python
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    script = post_build.read_text()
    assert not re.search(r"==\s*\d", script), "versions belong in pyproject.toml only"
    assert 'pip install --no-cache-dir -e ".[all]"' in script and "book-kit workspace" in script
    # the line that reads PyTorch's pin out of pyproject.toml gives the pin
    reader = re.search(r'torch_pin=\$\(python -c "(.*)"\)', script).group(1)
    pin = subprocess.run([sys.executable, "-c", reader], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert pin == f"torch=={_framework_pins()['torch']}"
    assert _pyproject()["project"]["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
