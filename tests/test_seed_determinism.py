"""Two separate processes, same seed, same small Keras fit: bit-identical losses, per backend."""

import json

import pytest

FIT = """
    import json
    import book_kit
    book_kit.use_backend("{backend}")
    book_kit.set_seed({seed})                 # before Keras is imported: seeded on import
    import numpy as np
    import keras
    x = np.random.normal(size=(256, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=32, shuffle=True, verbose=0)
    print(json.dumps([float(v).hex() for v in history.history["loss"]]))
"""


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_seeded_keras_fit_is_bit_identical_across_processes(py, backend):
    runs = [py(FIT.format(backend=backend, seed=seed)) for seed in (3, 3, 4)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    losses = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2], "a different seed should give different losses"
