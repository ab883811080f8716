"""Chapter 12: Neural Turing Machine and Differentiable Neural Computer."""
