"""Chapters 1-6: linear algebra, probability, neurons, training and optimizers."""
