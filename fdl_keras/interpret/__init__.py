"""Chapter 11: interpretability (baselines, permutation importance, PDP, LIME, SHAP, rationales).

- :mod:`~fdl_keras.interpret.baselines`: decision tree, forest and logistic regression beside
  the Keras ``tabular_mlp``;
- :mod:`~fdl_keras.interpret.adapter`: any Keras classifier as a scikit-learn estimator, for
  ``sklearn.inspection`` (permutation importance, partial dependence and their plots);
- :mod:`~fdl_keras.interpret.attributions`: LIME and SHAP on tabular rows, texts and images,
  and the deletion test;
- :mod:`~fdl_keras.interpret.rationale`: Lei et al.'s extractive rationales
  (``rationale_movie_reviews``), shown by :mod:`~fdl_keras.interpret.html`;
- :mod:`~fdl_keras.interpret.explain`: ``explain(run, inputs, method=...)`` and ``fdl explain``.
"""

from fdl_keras.interpret import baselines, rationale  # noqa: F401 - register the systems
