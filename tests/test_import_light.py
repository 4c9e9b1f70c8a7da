"""`import book_kit` must not import a framework: that would lock the Keras backend."""

import json

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
