"""Chapter 11: interpretability (baselines, permutation importance, PDP, LIME, SHAP, rationales)."""
