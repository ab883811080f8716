"""Autoencoders: denoising corruption in tf.data, PSNR, and the KL penalty reaching rho."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fdl_keras
from fdl_keras.embeddings.autoencoder import corrupt, mean_activation, psnr
from fdl_keras.errors import InvalidInputError


def images_dataset(n=64, batch=16):
    x = np.random.default_rng(0).uniform(0.2, 1.0, size=(n, 28, 28, 1)).astype("float32")
    return x, tf.data.Dataset.from_tensor_slices((x, np.zeros(n))).batch(batch)


def test_masking_noise_zeroes_the_asked_fraction_and_keeps_clean_targets():
    x, ds = images_dataset()
    batches = corrupt(ds, "masking", 0.3, resample_each_epoch=False)
    noisy = np.concatenate([a.numpy() for a, _ in batches])
    clean = np.concatenate([b.numpy() for _, b in batches])
    np.testing.assert_array_equal(clean, x)
    zeroed = np.mean(noisy == 0)
    assert zeroed == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(noisy[noisy != 0], x[noisy != 0])


def test_evaluation_noise_is_fixed_and_training_noise_is_redrawn():
    _, ds = images_dataset()
    fixed = corrupt(ds, "gaussian", 0.5, seed=3, resample_each_epoch=False)
    fresh = corrupt(ds, "gaussian", 0.5, seed=3, resample_each_epoch=True)
    first = [a.numpy() for a, _ in fixed]
    tf.random.set_seed(7)  # a later process: evaluation noise must not depend on it
    again = corrupt(ds, "gaussian", 0.5, seed=3, resample_each_epoch=False)
    np.testing.assert_array_equal(first[0], [a.numpy() for a, _ in again][0])
    one, two = ([a.numpy() for a, _ in fresh][0] for _ in range(2))
    assert not np.array_equal(one, two)
    assert first[0].min() >= 0.0 and first[0].max() <= 1.0


def test_psnr_known_answer_and_bad_noise():
    clean = np.zeros((2, 4, 4, 1))
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)
    with pytest.raises(InvalidInputError, match="noise must be one of"):
        corrupt(images_dataset()[1], "salt", 0.1)
    with pytest.raises(InvalidInputError, match=r"level must be in \[0, 1\)"):
        corrupt(images_dataset()[1], "masking", 1.5)


def test_kl_penalty_pulls_mean_activation_to_rho(require_mnist):
    keras.utils.set_random_seed(0)
    data = fdl_keras.load_dataset("mnist", limit=2048, batch_size=128)
    images = data.sample_batch(512)[0]
    model = fdl_keras.build("sparse_autoencoder_mnist", code_dim=32, sparsity_target=0.1)
    spec = fdl_keras.get_spec("sparse_autoencoder_mnist")
    spec.compile(model, learning_rate=3e-3)
    before = mean_activation(model, images).mean()
    model.fit(spec.pairs(model, data)[0], epochs=6, shuffle=False, verbose=0)
    after = mean_activation(model, images).mean()
    assert abs(before - 0.1) > 0.2  # sigmoid units start near 0.5
    assert after == pytest.approx(0.1, rel=0.3), (before, after)


def ordered_dataset(order, n=64, batch=16):
    """An ``EpochOrder``-driven pipeline like the package's shuffled MNIST one."""
    from fdl_keras.data.pipeline import shuffled_indices

    x = np.random.default_rng(0).uniform(0.2, 1.0, size=(n, 28, 28, 1)).astype("float32")
    images = tf.constant(x)
    picks = shuffled_indices(n, 0, order).map(lambda key, i: (tf.gather(images, i), 0))
    return picks.batch(batch)


def test_training_noise_of_a_resumed_epoch_is_the_uninterrupted_runs():
    """With the pipeline's EpochOrder the noise of epoch e is a function of (seed, e): a new
    pipeline set to epoch 1 (a run resumed there) draws epoch 1's noisy images exactly."""
    from fdl_keras.data.pipeline import EpochOrder

    def epoch_images(order, epoch):
        order.set(epoch)
        fresh = corrupt(ordered_dataset(order), "masking", 0.3, seed=3, order=order)
        return np.concatenate([a.numpy() for a, _ in fresh])

    first = EpochOrder()
    epochs = [epoch_images(first, e) for e in range(2)]
    assert not np.array_equal(epochs[0], epochs[1])
    tf.random.set_seed(11)  # a new process
    np.testing.assert_array_equal(epoch_images(EpochOrder(), 1), epochs[1])
