"""Natural photographs for the image-to-image systems: random crops of scikit-learn's two photos.

Johnson et al. trained their style network on MS-COCO; offline, the two photographs that
scikit-learn ships (``china``: a temple, ``flower``) give real natural-image crops. The training
and test crops come from disjoint halves of each photo (left / right), so test images are unseen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fdl_keras.data.pipeline import EpochOrder, shuffled_indices
from fdl_keras.data.registry import Dataset, dataset, split_dataset

CROP_SIZE = 64
NUM_TRAIN, NUM_TEST = 512, 64


def sample_photos() -> dict[str, np.ndarray]:
    """The two photographs scikit-learn ships (``china``, ``flower``), RGB float32 in [0, 1]."""
    from sklearn.datasets import load_sample_image

    return {
        name: load_sample_image(f"{name}.jpg").astype(np.float32) / 255.0
        for name in ("china", "flower")
    }


def random_crops(images: Sequence[np.ndarray], count: int, size: int, seed: int = 0) -> np.ndarray:
    """``count`` random ``size x size`` crops of ``images`` (half flipped): ``(count, s, s, 3)``."""
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        image = images[i % len(images)]
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        crop = image[top : top + size, left : left + size]
        crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    return np.stack(crops).astype(np.float32)


@dataset(
    "photos",
    title="crops of scikit-learn's two photographs",
    files="nothing (shipped with scikit-learn)",
)
def load_photos(
    name: str,
    *,
    batch_size: int,
    validation_fraction: float,
    seed: int,
    limit: int | None,
    augment: str | None,
) -> Dataset:
    """``(crop, crop)`` pairs of 64x64 RGB crops in [0, 1]: 512 for training, 64 for testing."""
    import tensorflow as tf

    del augment  # random crops are the augmentation
    photos = list(sample_photos().values())
    width = min(p.shape[1] for p in photos) // 2
    train_crops = random_crops([p[:, :width] for p in photos], NUM_TRAIN, CROP_SIZE, seed)
    test_crops = random_crops([p[:, width:] for p in photos], NUM_TEST, CROP_SIZE, seed=1)
    if limit is not None:
        train_crops, test_crops = train_crops[:limit], test_crops[: max(limit // 4, batch_size)]
    n_val = int(round(len(train_crops) * validation_fraction))
    validation, train = train_crops[:n_val], train_crops[n_val:]

    order = EpochOrder()

    def pipe(x: np.ndarray, shuffle: bool = False):
        if shuffle:
            crops = tf.constant(x)
            ds = shuffled_indices(len(x), seed, order).batch(batch_size)
            ds = ds.map(lambda key, i: (tf.gather(crops, i), tf.gather(crops, i)))
        else:
            ds = tf.data.Dataset.from_tensor_slices((x, x)).batch(batch_size)
        return ds.prefetch(tf.data.AUTOTUNE)

    splits = {"train": train, "validation": validation, "test": test_crops}
    return split_dataset(
        {split: (x, x) for split, x in splits.items()},
        lambda split, shuffle: pipe(splits[split], shuffle),
        order=order,
        name=name,
        source="scikit-learn sample images (embedded)",
        input_shape=(CROP_SIZE, CROP_SIZE, 3),
        title="photo crops",
    )
