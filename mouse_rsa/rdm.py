"""Representational dissimilarity matrices (RDMs), their upper triangles, and Pearson correlation.

Definitions follow rsatoolbox where they overlap: an RDM is 1 - Pearson correlation between the
response patterns of two stimuli (rsatoolbox's ``method='correlation'``); RDMs are compared on their
upper triangles (``rsatoolbox.rdm.compare`` with ``'corr'`` or ``'spearman'``). ``upper`` and
``pearson`` are the project's one upper-triangle helper and one Pearson correlation.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def rdm(patterns: np.ndarray) -> np.ndarray:
    """Correlation-distance RDM of ``patterns`` (stimuli × units): 1 - Pearson r between rows, float64.

    A stimulus whose pattern is constant across units has no defined correlation; its row and
    column are NaN so callers can detect it.
    """
    x = np.asarray(patterns, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    return rdm_from_gram(x @ x.T)


def rdm_from_gram(gram: np.ndarray) -> np.ndarray:
    """Correlation-distance RDM(s) from inner products of centred patterns, ``(..., S, S)``."""
    diag = np.sqrt(np.einsum("...ii->...i", gram))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = gram / (diag[..., :, None] * diag[..., None, :])
    idx = np.arange(gram.shape[-1])
    corr[..., idx, idx] = 1.0
    return np.clip(1.0 - corr, 0.0, 2.0)


def upper(matrices: np.ndarray) -> np.ndarray:
    """Upper triangle (k=1, row-major) of a square matrix or a stack of them: (..., S, S) → (..., S·(S−1)/2)."""
    i, j = np.triu_indices(matrices.shape[-1], k=1)
    return matrices[..., i, j]


def permuted_pairs(n_stimuli: int, permutation: np.ndarray) -> np.ndarray:
    """Index into an upper-triangle vector that relabels stimulus k as ``permutation[k]``: (n_pairs,).
    ``vector[permuted_pairs(n, p)]`` is the upper triangle of the RDM with rows and columns reordered by p."""
    i, j = np.triu_indices(n_stimuli, k=1)
    a, b = np.minimum(permutation[i], permutation[j]), np.maximum(permutation[i], permutation[j])
    return a * n_stimuli - a * (a + 1) // 2 + (b - a - 1)


def pair_weights(counts: np.ndarray) -> np.ndarray:
    """Weight of every RDM cell (i < j) in stimulus resamples drawn ``counts`` (resamples, n_stimuli) times:
    c_i · c_j, so a pair of a stimulus with its own copy never enters (rsatoolbox's bootstrap)."""
    i, j = np.triu_indices(counts.shape[1], k=1)
    c = np.asarray(counts, dtype=np.float64)
    return c[:, i] * c[:, j]


def pearson(a: np.ndarray, b: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson r between ``a`` and ``b`` along ``axis`` (the two broadcast); NaN where one is constant."""
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=axis) / np.sqrt((a * a).sum(axis=axis) * (b * b).sum(axis=axis))


def correlation_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between every column of ``a`` (n × p) and every column of ``b`` (n × q): (p, q);
    NaN where a column is constant."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a.T @ b) / np.sqrt(np.outer((a * a).sum(axis=0), (b * b).sum(axis=0)))


def weighted_pearson(weights: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r (n_weightings, k) between the columns of ``a`` and ``b`` (n, k) with the observations
    weighted by each row of ``weights`` (n_weightings, n); NaN where a column has no weighted variance."""
    n = weights.sum(axis=1, keepdims=True)
    sa, sb = weights @ a, weights @ b
    with np.errstate(invalid="ignore", divide="ignore"):
        var_a, var_b = weights @ (a * a) - sa * sa / n, weights @ (b * b) - sb * sb / n
        r = (weights @ (a * b) - sa * sb / n) / np.sqrt(var_a * var_b)
    return np.where((var_a > 0) & (var_b > 0), r, np.nan)


def layer_profile(layer_vectors: np.ndarray, site_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman r of every layer RDM with every site RDM.

    ``layer_vectors`` (n_pairs, n_layers) and ``site_vectors`` (n_pairs, n_sites) are upper
    triangles; each result is (n_layers, n_sites), NaN where an RDM is constant. Every column is
    ranked once.
    """
    pearson = correlation_matrix(layer_vectors, site_vectors)
    spearman = correlation_matrix(stats.rankdata(layer_vectors, axis=0), stats.rankdata(site_vectors, axis=0))
    return pearson, spearman


def compare(a: np.ndarray, b: np.ndarray, method: str = "pearson") -> float:
    """Pearson or Spearman correlation between two RDMs' upper triangles (or two vectors)."""
    va = upper(a) if a.ndim == 2 else a
    vb = upper(b) if b.ndim == 2 else b
    if method == "spearman":
        va, vb = stats.rankdata(va), stats.rankdata(vb)
    elif method != "pearson":
        raise ValueError(f"unknown RDM comparison {method!r}; use 'pearson' or 'spearman'")
    return float(pearson(va, vb))
