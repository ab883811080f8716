"""Chapter 9 system module (being built)."""
