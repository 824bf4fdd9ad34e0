"""RSA of one model against neural sites: per-layer profiles and cross-validated NNLS (seed 001, 2.4).

All layer RDMs of a model are the regressors of a non-negative least-squares fit (plus a free
intercept) to a site's RDM (Jozwik et al. 2016). Cross-validation is over *stimuli*: for each fold
the fit uses only RDM cells whose two stimuli are both in the training folds, and predicts every
cell that touches a held-out stimulus; a cell predicted by two folds gets the mean. The score is
the Pearson r between the assembled predicted RDM and the site's RDM.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.model_selection import KFold

from .rdm import pearson_columns

DEFAULT_FOLDS = 6


def upper_triangles(rdms: np.ndarray) -> np.ndarray:
    """Upper triangles of a stack of RDMs (n, S, S) as columns: (S·(S−1)/2, n)."""
    i, j = np.triu_indices(rdms.shape[-1], k=1)
    return rdms[:, i, j].T


def layer_profile(layer_vectors: np.ndarray, site_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman r between each layer's RDM (columns of ``layer_vectors``) and the site's."""
    pearson = pearson_columns(layer_vectors, site_vector[:, None])
    ranks = stats.rankdata(layer_vectors, axis=0)
    spearman = pearson_columns(ranks, stats.rankdata(site_vector)[:, None])
    return pearson, spearman


def stimulus_folds(n_stimuli: int, folds: int, repeats: int, seed: int) -> list[list[np.ndarray]]:
    """Held-out stimulus sets: ``repeats`` independent shuffled k-fold partitions (seeded)."""
    rng = np.random.RandomState(seed)
    partitions = []
    for _ in range(repeats):
        kf = KFold(n_splits=folds, shuffle=True, random_state=rng.randint(2**31 - 1))
        partitions.append([test for _, test in kf.split(np.arange(n_stimuli))])
    return partitions


def nnls_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative weights w and free intercept b minimising ||y − Xw − b||².

    With b free, the optimum is NNLS on column-centred X and centred y, then b = ȳ − x̄·w.
    """
    x_mean, y_mean = x.mean(axis=0), y.mean()
    w, _ = optimize.nnls(x - x_mean, y - y_mean)
    return w, float(y_mean - x_mean @ w)


@dataclass
class NNLSResult:
    score: float                 # Pearson r of the assembled predicted RDM (mean over repeats)
    weights: pd.DataFrame        # repeat, fold, regressor (layer or 'intercept'), weight


def cross_validated_nnls(layer_vectors: np.ndarray, site_vector: np.ndarray, n_stimuli: int,
                         partitions: list[list[np.ndarray]], layer_names: list[str]) -> NNLSResult:
    """Cross-validated NNLS of a site RDM on all layer RDMs (upper-triangle vectors)."""
    i, j = np.triu_indices(n_stimuli, k=1)
    scores, rows = [], []
    for repeat, folds in enumerate(partitions):
        total = np.zeros(len(site_vector))
        count = np.zeros(len(site_vector))
        any_weight = False
        for fold, test in enumerate(folds):
            held = np.zeros(n_stimuli, dtype=bool)
            held[test] = True
            touches = held[i] | held[j]
            w, b = nnls_fit(layer_vectors[~touches], site_vector[~touches])
            any_weight |= bool(np.any(w > 0))
            total[touches] += layer_vectors[touches] @ w + b
            count[touches] += 1
            rows += [(repeat, fold, name, float(v)) for name, v in zip(layer_names, w)]
            rows.append((repeat, fold, "intercept", b))
        predicted = total / count
        r = pearson_columns(predicted[:, None], site_vector[:, None])[0]
        # no layer got weight in any fold: the prediction is fold intercepts only, no model structure
        scores.append(float(r) if any_weight and np.isfinite(r) else 0.0)
    weights = pd.DataFrame(rows, columns=["repeat", "fold", "regressor", "weight"])
    return NNLSResult(float(np.mean(scores)), weights)
