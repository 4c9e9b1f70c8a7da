"""`import book_kit` must not import a framework: that would lock the Keras backend."""

import json

from conftest import ROOT

FRAMEWORKS = ["tensorflow", "torch", "jax", "keras"]


def test_import_book_kit_loads_no_framework(py):
    out = py(f"""
        import sys, json
        import book_kit
        print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))
    """)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_choosing_backend_seed_and_info_load_no_framework(py):
    out = py(f"""
        import sys, json
        import book_kit
        book_kit.use_backend("torch")
        book_kit.set_seed(1)
        book_kit.backend()
        str(book_kit.info(devices=True))   # devices are asked in subprocesses
        print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))
    """)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


# Every module but a framework's own (book_kit/frameworks/<framework>.py imports it on purpose).
MODULES = sorted(".".join(("book_kit", *p.relative_to(ROOT / "book_kit").with_suffix("").parts))
                 .removesuffix(".__init__")
                 for p in (ROOT / "book_kit").rglob("*.py")
                 if p.parent.name != "frameworks" or p.name == "__init__.py")


def test_importing_any_module_changes_nothing_outside_it_and_loads_no_framework(py):
    """In a fresh interpreter with an IPython shell and matplotlib loaded (as in a notebook):
    environment variables, IPython's exception handlers and display formatters, matplotlib's
    settings and the loaded frameworks are the same before and after importing every module."""
    out = py(f"""
        import json, os, sys
        import matplotlib
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()

        def state():
            formats = shell.display_formatter.formatters
            return {{
                "environ": dict(os.environ),
                "custom_exceptions": repr(shell.custom_exceptions),
                "CustomTB": repr(shell.CustomTB),
                "active formats": sorted(k for k, f in formats.items() if f.enabled),
                "png printers": sorted(map(repr, formats["image/png"].type_printers)),
                "rcParams": {{k: repr(v) for k, v in matplotlib.rcParams.items()}},
                "frameworks": [m for m in {FRAMEWORKS!r} if m in sys.modules],
            }}

        before = state()
        import importlib
        for name in {MODULES!r}:
            importlib.import_module(name)
        after = state()
        changed = {{k: [before[k], after[k]] if k != "environ" and k != "rcParams" else
                    sorted(set(before[k].items()) ^ set(after[k].items()))
                    for k in before if before[k] != after[k]}}
        print(json.dumps(changed, default=str))
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == {}


def test_setup_notebook_is_the_explicit_call_that_installs_them(py):
    out = py("""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        import book_kit
        from book_kit import exercises
        before = shell.custom_exceptions
        book_kit.setup_notebook()
        print(before == (), exercises.ExerciseFailed in shell.custom_exceptions)
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["True", "True"]
