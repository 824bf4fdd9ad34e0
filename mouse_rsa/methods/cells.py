"""What the methods that predict single cells from a layer share (``encoding_ridge``, ``pls``).

* ``eigenbasis``: every layer's training kernel, centred with the training stimuli's means only, in its
  eigenbasis (the PCA of the training features), and the held-out stimuli's centred kernel rows against
  the training stimuli in that basis: all that a kernel regression fitted on the training stimuli needs
  to predict the held-out ones;
* ``column_r``: the held-out Pearson r of each cell within a fold (0 where undefined);
* ``site_medians``: a site's value is the median over its cells;
* ``resampled_r``: the stimulus bootstrap of kept held-out predictions (``Method.resample_scores``).

``eigenbasis`` and ``column_r`` are written against one array namespace (``mouse_rsa.arrays``): numpy
arrays in, numpy out; torch tensors on a GPU in, tensors there out.
"""
from __future__ import annotations

import numpy as np

from .. import arrays


def _training_means(k_train: np.ndarray) -> np.ndarray:
    """Column means (layers, n) of each training kernel, one 2-D reduction per layer: the rounding of
    the per-layer solver this replaced, so near-tied penalties are chosen as before."""
    xp = arrays.namespace(k_train)
    return xp.stack([xp.mean(k, axis=0) for k in k_train])


def _center_train(k: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Double-centred kernels (layers, n, n) given their column means ``row`` (layers, n)."""
    xp = arrays.namespace(k)
    return k - row[:, None, :] - row[:, :, None] + xp.mean(row, axis=1)[:, None, None]


def _center_test(k_test: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Test rows (layers, n_test, n) centred with the training kernels' column means (layers, n)."""
    xp = arrays.namespace(k_test)
    return k_test - row[:, None, :] - xp.mean(k_test, axis=2, keepdims=True) + xp.mean(row, axis=1)[:, None, None]


def eigenbasis(kernels: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eigenvalues (layers, n_train) clipped at 0, eigenvectors (layers, n_train, n_train), centred test rows
    in the eigenbasis (layers, n_test, n_train)) of every layer of ``kernels`` (layers × stimuli × stimuli);
    only the ``train`` × ``train`` and ``test`` × ``train`` blocks are read."""
    xp = arrays.namespace(kernels)
    k_train = arrays.contiguous(kernels[:, train][:, :, train])     # (numpy puts the layer axis last)
    row = _training_means(k_train)
    evals, evecs = xp.linalg.eigh(_center_train(k_train, row))
    k_test = _center_test(arrays.contiguous(kernels[:, test][:, :, train]), row)
    return xp.clip(evals, 0.0), evecs, k_test @ evecs


def column_r(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson r over stimuli (axis 0) of every column of ``pred`` with ``obs``; 0 where undefined (as
    ``rdm.pearson``, in the arrays' namespace)."""
    xp = arrays.namespace(pred, obs)
    a, b = pred - xp.mean(pred, axis=0, keepdims=True), obs - xp.mean(obs, axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = xp.sum(a * b, axis=0) / xp.sqrt(xp.sum(a * a, axis=0) * xp.sum(b * b, axis=0))
    return xp.where(xp.isfinite(r), r, 0.0)


def site_medians(values: np.ndarray, cell_site: np.ndarray, sites: list[str]) -> np.ndarray:
    """Median over each site's cells of ``values`` (..., cells): (..., sites)."""
    return np.stack([np.median(values[..., cell_site == site], axis=-1) for site in sites], axis=-1)


def resampled_r(predictions: np.ndarray, folds: np.ndarray, observed: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Held-out r per resample and cell (resamples, cells): within each fold, the Pearson r over its
    held-out stimuli with each stimulus weighted by how often a resample draws it, averaged over folds
    and repeats (a fold with fewer than two distinct stimuli drawn counts as r = 0, as a constant fold does)."""
    total = np.zeros((len(counts), observed.shape[1]))
    n_folds = 0
    for repeat in range(len(predictions)):
        for fold in np.unique(folds[repeat]):
            held = folds[repeat] == fold
            p, y, w = predictions[repeat][held].astype(np.float64), observed[held], counts[:, held].astype(np.float64)
            n = w.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                sp, sy = w @ p, w @ y
                cov = w @ (p * y) - sp * sy / n
                var_p, var_y = w @ (p * p) - sp * sp / n, w @ (y * y) - sy * sy / n
                r = cov / np.sqrt(var_p * var_y)
            total += np.where(np.isfinite(r) & (var_p > 0) & (var_y > 0), r, 0.0)
            n_folds += 1
    return total / n_folds
