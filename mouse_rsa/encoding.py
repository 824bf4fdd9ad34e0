"""Ridge encoding models: each reliable cell's trial-averaged response as a linear readout of a layer.

Everything runs on the layer's linear kernel K = X Xᵀ (``LayerGrams.kernel``), so one
eigendecomposition per layer and outer fold serves every cell and every penalty:

* outer k-fold over stimuli (seeded); the kernel is centred with the *training* stimuli's means
  only, and the eigendecomposition of the training kernel is the PCA of the training features
  (fitted without the held-out stimuli); test stimuli enter only through their kernel rows
  against training stimuli, i.e. their projection onto that training PCA;
* per cell, the ridge penalty is chosen from a log-spaced grid by exact leave-one-out error on the
  training stimuli (efficient LOO / GCV, as scikit-learn's RidgeCV with alpha_per_target=True),
  relative to the kernel's scale so one grid fits every layer;
* per cell and outer fold, the Pearson r between predicted and observed responses over the
  held-out stimuli, averaged over folds (and repeats); the fraction of explainable variance is
  r² / split-half reliability. Correlating within each fold, rather than over the pooled held-out
  predictions, keeps a cell with no signal at r ≈ 0: pooled, the fold-to-fold changes of the
  training mean (the intercept) anti-correlate with the held-out means and bias r to about −0.2
  with 6 folds of 118 stimuli. A fold whose predictions are constant counts as r = 0.

Per cell the layer is also chosen inside each training fold (lowest LOO error), giving a nested
all-layers score that is free of selection bias; the per-layer profile names the best layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import LayerGrams
from .rdm import pearson_columns

DEFAULT_ALPHAS = np.logspace(-4, 4, 17)  # × mean eigenvalue of the training kernel


def _center_train(k: np.ndarray) -> np.ndarray:
    row = k.mean(axis=0)
    return k - row[None, :] - row[:, None] + row.mean()


def _center_test(k_test: np.ndarray, k_train: np.ndarray) -> np.ndarray:
    train_row = k_train.mean(axis=0)
    return k_test - train_row[None, :] - k_test.mean(axis=1, keepdims=True) + train_row.mean()


@dataclass
class FoldFit:
    predictions: np.ndarray  # (n_test, n_cells) at each cell's chosen penalty
    loo_error: np.ndarray    # (n_cells,) LOO mean squared error at the chosen penalty
    alpha: np.ndarray        # (n_cells,) chosen penalty (absolute)
    alpha_index: np.ndarray  # (n_cells,) index into the grid


def ridge_fold(kernel: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
               alphas: np.ndarray = DEFAULT_ALPHAS) -> FoldFit:
    """Kernel ridge with intercept on ``train``, penalty per cell by LOO, predictions for ``test``.

    ``kernel`` is stimuli × stimuli, ``y`` stimuli × cells. Only ``kernel[train][:, train]``,
    ``kernel[test][:, train]`` and ``y[train]`` are read.
    """
    k_train = kernel[np.ix_(train, train)]
    kc = _center_train(k_train)
    evals, evecs = np.linalg.eigh(kc)
    evals = np.clip(evals, 0.0, None)
    n = len(train)
    scale = max(evals.sum() / max(n - 1, 1), 1e-300)
    grid = np.asarray(alphas, dtype=np.float64) * scale
    y_train = y[train]
    y_mean = y_train.mean(axis=0)
    uty = evecs.T @ (y_train - y_mean)                              # (n, cells)
    # hat matrix of ridge with a free intercept: 11ᵀ/n + U diag(e/(e+α)) Uᵀ on centred data
    shrink = evals[None, :] / (evals[None, :] + grid[:, None])      # (alphas, n)
    fitted = (evecs[None, :, :] * shrink[:, None, :]) @ uty        # (alphas, n, cells), centred
    hat_diag = 1.0 / n + shrink @ (evecs ** 2).T                    # (alphas, n)
    resid = (y_train - y_mean)[None] - fitted
    loo = ((resid / (1.0 - hat_diag)[:, :, None]) ** 2).mean(axis=1)  # (alphas, cells)
    best = np.argmin(loo, axis=0)
    coef = evecs @ (uty / (evals[:, None] + grid[best][None, :]))   # dual coefficients (n, cells)
    k_test = _center_test(kernel[np.ix_(test, train)], k_train)
    return FoldFit(k_test @ coef + y_mean, loo[best, np.arange(y.shape[1])], grid[best], best)


@dataclass
class EncodingResult:
    layer_r: np.ndarray          # (n_layers, n_cells) held-out Pearson r per layer (mean over folds)
    nested_r: np.ndarray         # (n_cells,) r with the layer chosen inside each training fold
    alpha_at_edge: np.ndarray    # (n_layers, n_cells) fraction of folds whose penalty hit the grid's end
    layer_names: list[str]


def encode(grams: LayerGrams, responses: np.ndarray, partitions: list[list[np.ndarray]],
           alphas: np.ndarray = DEFAULT_ALPHAS) -> EncodingResult:
    """Ridge encoding of ``responses`` (stimuli × cells, trial means) from every layer of ``grams``."""
    n_stim, n_cells = responses.shape
    n_layers = grams.n_layers
    layer_r = np.zeros((n_layers, n_cells))
    nested_r = np.zeros(n_cells)
    edge = np.zeros((n_layers, n_cells))
    n_folds = sum(len(folds) for folds in partitions)
    for folds in partitions:
        for test in folds:
            train = np.setdiff1d(np.arange(n_stim), test)
            best_err = np.full(n_cells, np.inf)
            nested = np.zeros(n_cells)
            for layer in range(n_layers):
                fit = ridge_fold(grams.kernel(layer), responses, train, test, alphas)
                r = _column_r(fit.predictions, responses[test])
                layer_r[layer] += r
                edge[layer] += np.isin(fit.alpha_index, (0, len(alphas) - 1))
                better = fit.loo_error < best_err
                best_err[better] = fit.loo_error[better]
                nested[better] = r[better]
            nested_r += nested
    return EncodingResult(layer_r / n_folds, nested_r / n_folds, edge / n_folds, grams.names)


def _column_r(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    r = pearson_columns(pred, obs)
    return np.where(np.isfinite(r), r, 0.0)
