"""What the chapter-10 models share: a functional sampler graph that trains with its own step.

Each registered generative system (``vae``, ``dcgan``, ``ncsn``) is a :class:`GenerativeModel`:
its functional graph is the network that is exported (VAE decoder, GAN generator, score network)
and takes every random quantity as an explicit input, so the SavedModel and ONNX files are
deterministic functions; the network it trains against (encoder, discriminator) is an attribute.
Training is a custom ``train_step`` in the style of keras-io ``examples/generative/vae.py``:
``keras.metrics.Mean`` trackers exposed through ``metrics``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from fdl_keras.serialization import ConfigModel, OptimizerOnlyCompileConfig


class GenerativeModel(OptimizerOnlyCompileConfig, ConfigModel):
    """Base of the generative trainers; subclasses set their graph and override ``train_step``."""

    #: optimizer learning rate used when ``compile()`` is called without one.
    default_learning_rate = 1e-3

    def compile(self, optimizer=None, learning_rate: float | None = None, **kwargs) -> None:
        """Adam at ``learning_rate`` (default :attr:`default_learning_rate`) unless given one."""
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate or self.default_learning_rate)
        super().compile(optimizer=optimizer, **kwargs)

    def noise_inputs(self, batch_size: int, seed: int = 0):
        """Random inputs of the exported graph: standard normal, one array per input.

        A single input gives one array (like ``model.inputs`` has one tensor), several a list.
        """
        rng = np.random.default_rng(seed)
        arrays = [
            rng.standard_normal((batch_size, *t.shape[1:])).astype(t.dtype) for t in self.inputs
        ]
        return arrays[0] if len(arrays) == 1 else arrays

    def training_data(self, dataset, seed: int = 0, order=None, fresh: bool = True):
        """Maps a ``(images, labels)`` pipeline to what ``fit`` expects: images in [0, 1]
        (``seed`` and ``order``, the pipeline's ``EpochOrder``, seed a subclass's noise;
        ``fresh``: new noise on every pass, for training, else the same on each)."""
        del seed, order, fresh
        return dataset.map(lambda images, labels: images)


def image_tensor(data):
    """The images of a ``fit`` batch, whether it is ``images`` or ``(images, labels)``."""
    return data[0] if isinstance(data, (tuple, list)) else data


def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 1) -> np.ndarray:
    """Tiles ``(n, h, w, c)`` (or ``(rows, cols, h, w, c)``) images into one ``(H, W)`` array."""
    images = np.asarray(images)
    if images.ndim == 5:
        columns = images.shape[1]
        images = images.reshape(-1, *images.shape[2:])
    n, h, w = images.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad), np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = images[i, ..., 0] if images.ndim == 4 else images[i]
    return grid


class SampleGrid(keras.callbacks.Callback):
    """Draws the same samples at the end of every epoch; keeps the grids and writes PNGs.

    Args:
        num_samples: samples per grid.
        seed: seed of the fixed noise (``model.noise_inputs(num_samples, seed)``).
        directory: folder for ``samples_epoch_XXX.png`` (none written when ``None``).
        sampler: ``sampler(model, noise) -> images``; default ``model.predict(noise)``, e.g.
            annealed Langevin dynamics for a score network.
    """

    def __init__(self, num_samples: int = 64, seed: int = 0, directory=None, sampler=None):
        super().__init__()
        self.num_samples, self.seed, self.directory = num_samples, seed, directory
        self.sampler = sampler or (lambda model, noise: model.predict(noise, verbose=0))
        self.grids: dict[int, np.ndarray] = {}

    def on_epoch_end(self, epoch, logs=None):
        noise = self.model.noise_inputs(self.num_samples, seed=self.seed)
        grid = image_grid(np.clip(self.sampler(self.model, noise), 0.0, 1.0))
        self.grids[epoch] = grid
        if self.directory is not None:
            import matplotlib.pyplot as plt

            path = Path(self.directory)
            path.mkdir(parents=True, exist_ok=True)
            name = path / f"samples_epoch_{epoch + 1:03d}.png"
            plt.imsave(name, grid, cmap="gray", vmin=0, vmax=1)
