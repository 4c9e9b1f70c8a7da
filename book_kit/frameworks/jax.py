"""JAX versions of the helpers every framework module has."""

import jax


def devices() -> list[str]:
    return [f"{d.platform}:{d.id}" for d in jax.devices()]
