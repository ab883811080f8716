"""Dataset provider module (being built)."""
