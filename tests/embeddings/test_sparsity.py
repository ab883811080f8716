"""The KL sparsity penalty and the k-sparse layer against NumPy references."""

import numpy as np
import pytest

from fdl_keras.layers.contract import check_layer_contract
from fdl_keras.layers.sparsity import KLSparsity, KSparse, kl_divergence_penalty


def test_kl_penalty_matches_numpy_and_vanishes_at_rho():
    rng = np.random.default_rng(0)
    h = rng.uniform(0.01, 0.99, size=(32, 6)).astype("float32")
    rho, beta = 0.1, 2.5
    rho_hat = h.mean(axis=0)
    expected = beta * np.sum(
        rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    )
    assert float(kl_divergence_penalty(h, rho, beta)) == pytest.approx(expected, rel=1e-5)
    # Keras divides an activity regulariser by the batch size; the regulariser undoes it.
    assert float(KLSparsity(rho, beta)(h)) == pytest.approx(32 * expected, rel=1e-5)
    at_target = np.full((8, 3), rho, "float32")
    assert float(kl_divergence_penalty(at_target, rho, beta)) == pytest.approx(0.0, abs=1e-5)
    assert KLSparsity.from_config(KLSparsity(rho, beta).get_config()).rho == rho
    with pytest.raises(ValueError, match="rho must be in"):
        KLSparsity(1.5)


def test_k_sparse_keeps_the_k_largest_and_passes_the_layer_contract(tmp_path):
    x = np.random.default_rng(1).normal(size=(5, 9)).astype("float32")
    out = np.asarray(KSparse(3)(x))
    for row, kept in zip(x, out):
        top = np.sort(np.argsort(-row)[:3])
        np.testing.assert_array_equal(np.flatnonzero(kept), top)
        np.testing.assert_array_equal(kept[top], row[top])
    with pytest.raises(ValueError, match="k must be >= 1"):
        KSparse(0)
    check_layer_contract(lambda: KSparse(3), x, tmp_path)
