"""VAE: ELBO training on real MNIST, the IWAE bound, binarisation, traversal, save/load."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fdl_keras
from fdl_keras.generative import (
    active_dimensions,
    binarize,
    binarize_images,
    importance_weighted_bound,
    latent_traversal,
)


@pytest.fixture(scope="module")
def trained_vae(mnist_images):
    keras.utils.set_random_seed(0)
    vae = fdl_keras.build("vae", latent_dim=4, hidden_units=(64,))
    vae.compile(learning_rate=3e-3)
    binary = binarize_images(mnist_images, seed=0)
    before = vae.evaluate(binary, batch_size=128, verbose=0, return_dict=True)
    history = vae.fit(binary, epochs=4, batch_size=64, verbose=0)
    return vae, binary, before, history.history


def test_negative_elbo_falls_on_real_mnist(trained_vae):
    vae, binary, before, history = trained_vae
    after = vae.evaluate(binary, batch_size=128, verbose=0, return_dict=True)
    assert set(history) == {"loss", "reconstruction", "kl"}
    assert after["loss"] < before["loss"] - 100, (before, after)
    assert after["loss"] == pytest.approx(after["reconstruction"] + after["kl"], rel=1e-4)


def test_iwae_is_never_looser_than_the_elbo(trained_vae):
    vae, binary, _, _ = trained_vae
    bound = importance_weighted_bound(vae, binary[:64], num_samples=100, seed=0)
    assert bound["iwae"].shape == (64,)
    # Same samples: log-mean-exp >= mean-log for every image (Jensen).
    assert np.all(bound["iwae"] >= bound["elbo"] - 1e-4)
    # The bound tightens with k (Burda et al. Theorem 1): k=100 beats k=1 on average.
    single = importance_weighted_bound(vae, binary[:64], num_samples=1, seed=1)
    assert bound["iwae"].mean() > single["iwae"].mean()
    assert -bound["iwae"].mean() < vae.evaluate(binary[:64], verbose=0, return_dict=True)["loss"]


def test_noise_is_drawn_per_example(trained_vae):
    vae, binary, _, _ = trained_vae
    same = np.repeat(binary[:1], 8, axis=0)
    z = vae.posterior(same).sample(seed=tf.constant([1, 2]))
    assert len(np.unique(np.round(z.numpy()[:, 0], 6))) == 8  # not one sample shared by the batch


def test_binarize_in_tf_data(mnist_images):
    labels = np.zeros(len(mnist_images), np.int32)
    batches = tf.data.Dataset.from_tensor_slices((mnist_images[:64], labels[:64])).batch(32)
    fixed = binarize(batches, seed=3, resample_each_epoch=False)
    dynamic = binarize(batches, seed=3, resample_each_epoch=True)
    first = np.concatenate([x.numpy() for x, _ in fixed])
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert abs(first.mean() - mnist_images[:64].mean()) < 0.01
    np.testing.assert_array_equal(first, np.concatenate([x.numpy() for x, _ in fixed]))
    a, b = ([x.numpy() for x, _ in dynamic] for _ in range(2))
    assert not np.array_equal(np.concatenate(a), np.concatenate(b))


def test_binarize_of_a_resumed_epoch_is_the_uninterrupted_runs(mnist_images):
    from fdl_keras.data.pipeline import EpochOrder, shuffled_indices

    images = tf.constant(mnist_images[:64])

    def epoch_images(order, epoch):
        order.set(epoch)
        picks = shuffled_indices(64, 0, order).map(lambda key, i: (tf.gather(images, i), 0))
        return np.concatenate([x.numpy() for x, _ in binarize(picks.batch(32), 3, order=order)])

    first = EpochOrder()
    epochs = [epoch_images(first, e) for e in range(2)]
    assert not np.array_equal(epochs[0], epochs[1])
    np.testing.assert_array_equal(epoch_images(EpochOrder(), 1), epochs[1])


def test_latent_traversal_and_activity(trained_vae):
    vae, binary, _, _ = trained_vae
    dims, activity = active_dimensions(vae, binary)
    assert sorted(dims) == [0, 1, 2, 3] and np.all(np.diff(activity) <= 0)
    images = latent_traversal(vae, dims[:2], values=np.linspace(-2, 2, 5))
    assert images.shape == (2, 5, 28, 28, 1)
    assert np.all((images >= 0) & (images <= 1))
    assert not np.allclose(images[0, 0], images[0, -1])  # moving an active unit changes the digit


def test_encoder_and_optimizer_survive_save_and_load(trained_vae, tmp_path):
    vae, binary, _, _ = trained_vae
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    for a, b in zip(loaded.encoder.predict(binary[:8], verbose=0), vae.encoder(binary[:8])):
        np.testing.assert_array_equal(a, np.asarray(b))
    assert loaded.optimizer.iterations.numpy() == vae.optimizer.iterations.numpy()
    assert loaded.get_config() == vae.get_config()
