"""Chapter 8: PCA, autoencoders (deep, denoising, sparse) and word2vec."""
