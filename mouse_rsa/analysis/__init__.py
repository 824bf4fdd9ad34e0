"""The study's analyses on a results directory (seed 001): what makes an architecture good, which task
clusters predict which areas, and how much each model contributes when all predict a site together.

* ``models``: model kinds, taskonomic clusters and properties from the catalogue; mean scores.
* ``properties``: Pearson and Spearman correlations of mean score with n_params, depth, top-1, GFLOPs.
* ``anova``: two-way ANOVA of score on task cluster × cortical area, η², Bonferroni post-hoc tests.
* ``signatures``: joint cross-validated NNLS of every site on several models' RDMs (weight shares).
* ``modalities``: agreement of the model rankings of two datasets (2-photon vs Neuropixels), Spearman and Kendall.
* ``agreement``: rank agreement between scoring methods and image sizes, and a ranking's stability.
* ``run``: ``analyze(directory)`` runs them all (plus pretrained vs random) and writes tidy CSVs (and the
  agreement figure).

No torch here: everything reads result tables.
"""
from .run import Analysis, analyze

__all__ = ["Analysis", "analyze"]
