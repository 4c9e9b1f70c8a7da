"""Two separate processes, same seed, same small Keras fit: bit-identical losses, per backend."""

import json

import pytest

FIT = """
    import json
    import book_kit
    book_kit.use_backend("{backend}")
    book_kit.set_seed({first})                 # before Keras is imported: seeded on import
    import numpy as np
    import keras

    def losses():
        x = np.random.normal(size=(256, 4)).astype("float32")
        y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dropout(0.2),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        history = model.fit(x, y, epochs=3, batch_size=32, shuffle=True, verbose=0)
        return [float(v).hex() for v in history.history["loss"]]

    runs = [losses()]
    for seed in {more}:                       # seeding again, after Keras is loaded
        book_kit.set_seed(seed)
        runs.append(losses())
    print(json.dumps(runs))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_seeded_keras_fit_is_bit_identical_across_processes(py, backend):
    # two processes (one process start costs more than the fit): seeds 3 then 4, and seed 3
    first, second = (py(FIT.format(backend=backend, first=3, more=more)) for more in ([4], []))
    for run in (first, second):
        assert run.returncode == 0, run.stderr[-3000:]
    (three, four), (three_again,) = (json.loads(run.stdout.strip().splitlines()[-1])
                                     for run in (first, second))
    assert three == three_again, "the same seed in two processes should give the same losses"
    assert three != four, "a different seed should give different losses"
