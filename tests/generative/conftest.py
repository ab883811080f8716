"""Shared fixtures of the chapter-10 tests: a small real MNIST subset."""

import numpy as np
import pytest


@pytest.fixture(scope="package")
def mnist_images(request):
    """512 real MNIST training images in [0, 1] (skips without MNIST)."""
    from fdl_keras.data import load_arrays
    from fdl_keras.errors import DatasetNotFoundError

    try:
        ((x_train, _), _), _ = load_arrays("mnist")
    except DatasetNotFoundError as exc:
        pytest.skip(f"real MNIST not found: {exc}")
    return (x_train[:512, ..., None] / 255.0).astype(np.float32)
