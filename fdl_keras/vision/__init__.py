"""Chapter 7: convolutional networks."""
