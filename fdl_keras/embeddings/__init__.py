"""Chapter 8: PCA, autoencoders (deep, denoising, sparse) and word2vec.

Importing the package registers its systems: ``pca_mnist`` (:mod:`.pca`), ``autoencoder_mnist``,
``denoising_autoencoder_mnist``, ``sparse_autoencoder_mnist`` (:mod:`.autoencoder`) and
``word2vec_brown`` (:mod:`.word2vec`).
"""

from fdl_keras.embeddings import autoencoder, pca, word2vec  # noqa: F401 - registers the systems
