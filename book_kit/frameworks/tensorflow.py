"""TensorFlow versions of the helpers every framework module has."""

import tensorflow as tf


def devices() -> list[str]:
    return [f"{d.device_type.lower()}:{i}" for i, d in enumerate(tf.config.list_physical_devices())]
