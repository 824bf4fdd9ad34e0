"""``encoding_ridge``: each reliable cell's trial-averaged response as a ridge readout of a layer.

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
A site's score is the median over its reliable cells of that nested r; its ceiling the median
split-half reliability; ``layer_score`` the median per-layer r, and ``encoding_alpha_at_edge`` the
fraction of folds in which a cell's penalty was the grid's smallest or largest (averaged over the
site's cells): a layer often at the edge would want a wider grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..rdm import pearson
from .base import Design, Method, MethodResult, layer_rows, signed_r2, site_columns, with_best_layer

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

DEFAULT_ALPHAS = np.logspace(-4, 4, 17)  # × mean eigenvalue of the training kernel


def _training_means(k_train: np.ndarray) -> np.ndarray:
    """Column means (layers, n) of each training kernel, one 2-D reduction per layer: the rounding of
    the per-layer solver this replaced, so near-tied penalties are chosen as before."""
    return np.stack([k.mean(axis=0) for k in k_train])


def _center_train(k: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Double-centred kernels (layers, n, n) given their column means ``row`` (layers, n)."""
    return k - row[:, None, :] - row[:, :, None] + row.mean(axis=1)[:, None, None]


def _center_test(k_test: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Test rows (layers, n_test, n) centred with the training kernels' column means (layers, n)."""
    return k_test - row[:, None, :] - k_test.mean(axis=2, keepdims=True) + row.mean(axis=1)[:, None, None]


@dataclass
class FoldFit:
    """Ridge fits of every layer for one outer fold."""

    predictions: np.ndarray  # (n_layers, n_test, n_cells) at each cell's chosen penalty
    loo_error: np.ndarray    # (n_layers, n_cells) LOO mean squared error at the chosen penalty
    alpha: np.ndarray        # (n_layers, n_cells) chosen penalty (absolute)
    alpha_index: np.ndarray  # (n_layers, n_cells) index into the grid


def ridge_fold(kernels: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
               alphas: np.ndarray = DEFAULT_ALPHAS) -> FoldFit:
    """Kernel ridge with intercept on ``train`` for every layer, penalty per cell by LOO, predictions
    for ``test``.

    ``kernels`` is layers × stimuli × stimuli, ``y`` stimuli × cells. Only the ``train`` × ``train``
    and ``test`` × ``train`` blocks of the kernels and ``y[train]`` are read. The centred training
    kernels are eigendecomposed in one batch; then, per layer, with Kc = U diag(e) Uᵀ and
    s = e / (e + α), the LOO residuals of every penalty and cell are
    diag(1 / (1 − h)) U diag(1 − s) Uᵀ yc (h the hat matrix's diagonal, 1/n + U² s): one stacked
    matrix product for all penalties and cells.
    """
    k_train = np.ascontiguousarray(kernels[:, train][:, :, train])     # (numpy puts the layer axis last)
    row = _training_means(k_train)
    evals, evecs = np.linalg.eigh(_center_train(k_train, row))
    k_test = _center_test(np.ascontiguousarray(kernels[:, test][:, :, train]), row)
    y_train = y[train]
    y_mean = y_train.mean(axis=0)
    fits = [_ridge_layer(u, np.clip(e, 0.0, None), k, y_train - y_mean, alphas)
            for u, e, k in zip(evecs, evals, k_test)]
    predictions, loo, alpha, best = (np.stack(v) for v in zip(*fits))
    return FoldFit(predictions + y_mean, loo, alpha, best)


def _ridge_layer(evecs: np.ndarray, evals: np.ndarray, k_test: np.ndarray, yc: np.ndarray,
                 alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One layer's fit from its centred training kernel's eigenpairs, centred test rows and centred
    responses: (centred predictions, LOO error, penalty, grid index), each per cell."""
    n = len(evals)
    grid = np.asarray(alphas, dtype=np.float64) * max(evals.sum() / max(n - 1, 1), 1e-300)
    uty = evecs.T @ yc                                                  # (n, cells)
    shrink = evals[None, :] / (evals[None, :] + grid[:, None])          # (alphas, n)
    leverage = 1.0 - (1.0 / n + shrink @ (evecs ** 2).T)                # 1 − hat diagonal, (alphas, n)
    loo_map = evecs[None] * (1.0 - shrink)[:, None, :] / leverage[:, :, None]   # (alphas, n, n)
    residuals = (loo_map.reshape(-1, n) @ uty).reshape(len(grid), n, -1)        # LOO residuals
    loo = np.einsum("anc,anc->ac", residuals, residuals) / n
    best = np.argmin(loo, axis=0)
    predictions = (k_test @ evecs) @ (uty / (evals[:, None] + grid[best][None, :]))   # test × dual coefficients
    return predictions, loo[best, np.arange(yc.shape[1])], grid[best], best


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
    kernels = grams.kernels()
    layer_r = np.zeros((grams.n_layers, n_cells))
    nested_r = np.zeros(n_cells)
    edge = np.zeros((grams.n_layers, n_cells))
    n_folds = sum(len(folds) for folds in partitions)
    for folds in partitions:
        for test in folds:
            fit = ridge_fold(kernels, responses, np.setdiff1d(np.arange(n_stim), test), test, alphas)
            r = _column_r(fit.predictions, responses[test])                  # (layers, cells)
            layer_r += r
            edge += np.isin(fit.alpha_index, (0, len(alphas) - 1))
            nested_r += r[np.argmin(fit.loo_error, axis=0), np.arange(n_cells)]  # first layer on ties
    return EncodingResult(layer_r / n_folds, nested_r / n_folds, edge / n_folds, grams.names)


def _column_r(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson r over stimuli of every layer's predictions (layers, n, cells) with obs (n, cells); 0 where
    undefined."""
    r = pearson(pred, obs[None], axis=1)
    return np.where(np.isfinite(r), r, 0.0)


class EncodingRidge(Method):
    name = "encoding_ridge"
    short = "encoding"
    title = "cross-validated ridge encoding (median Pearson r over cells)"
    layer_label = "per-layer encoding (median Pearson r over cells)"
    needs_cells = True
    layer_columns = ("encoding_alpha_at_edge",)

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        if targets.cell_means is None or targets.cell_reliability is None or targets.cell_site is None:
            raise ValueError("encoding needs single-cell targets")
        result = encode(grams, targets.cell_means, design.partitions)
        rows, per_layer, edge = [], [], []
        for site in targets.sites:
            cells = targets.cell_site == site.key
            r2 = signed_r2(result.nested_r[cells])
            reliability = targets.cell_reliability[cells]
            per_layer.append(np.median(result.layer_r[:, cells], axis=1))
            edge.append(result.alpha_at_edge[:, cells].mean(axis=1))
            rows.append({"n_cells": int(cells.sum()), "score": float(np.median(result.nested_r[cells])),
                         "score_r2": float(np.median(r2)), "ceiling": float(np.median(reliability)),
                         "score_normalized": float(np.median(r2 / reliability))})
        sites = pd.concat([site_columns(targets), pd.DataFrame(rows)], axis=1)
        profile = np.stack(per_layer, axis=1)
        layers = layer_rows(grams, targets, layer_score=profile, encoding_alpha_at_edge=np.stack(edge, axis=1))
        return MethodResult(with_best_layer(sites, grams.names, profile), layers)


METHOD = EncodingRidge()
