"""``encoding_ridge``: each reliable cell's trial-averaged response as a ridge readout of a layer.

Everything runs on the layer's linear kernel K = X Xᵀ (``LayerGrams.kernels``), so one
eigendecomposition per layer and outer fold serves every cell, every penalty and every permutation
of the chance level:

* outer k-fold over stimuli (seeded); the kernel is centred with the *training* stimuli's means
  only, and the eigendecomposition of the training kernel is the PCA of the training features
  (fitted without the held-out stimuli); test stimuli enter only through their kernel rows
  against training stimuli, i.e. their projection onto that training PCA;
* per cell, the ridge penalty is chosen from a log-spaced grid, relative to the kernel's scale so
  one grid fits every layer, by generalised cross-validation on the training stimuli (``gcv``, the
  default; Golub, Heath & Wahba 1979): GCV(α) = n‖(I − H)y‖² / (n − tr H)², H the hat matrix
  with the intercept, is the rotation-invariant form of leave-one-out and costs one product per
  penalty in the eigenbasis, Σₖ (1 − sₖ)² (Uᵀy)ₖ², instead of a full residual vector. ``loo``
  (exact leave-one-out, what scikit-learn's RidgeCV with alpha_per_target=True minimises) is
  kept for that comparison: it costs the number of penalties (17) times more, and on the demo
  the two give the same held-out accuracy (tests/test_encoding.py);
* per cell and outer fold, the Pearson r between predicted and observed responses over the
  held-out stimuli, averaged over folds (and repeats); the fraction of explainable variance is
  r² / split-half reliability. Correlating within each fold, rather than over the pooled held-out
  predictions, keeps a cell with no signal at r ≈ 0: pooled, the fold-to-fold changes of the
  training mean (the intercept) anti-correlate with the held-out means and bias r to about −0.2
  with 6 folds of 118 stimuli. A fold whose predictions are constant counts as r = 0.

Per cell the layer is also chosen inside each training fold (lowest GCV error), giving a nested
all-layers score that is free of selection bias; the per-layer profile names the best layer.
A site's score is the median over its reliable cells of that nested r; its ceiling the median
split-half reliability; ``layer_score`` the median per-layer r, and ``encoding_alpha_at_edge`` the
fraction of folds in which a cell's penalty was the grid's smallest or largest (averaged over the
site's cells): a layer often at the edge would want a wider grid.

Chance level: the same nested fit with the stimuli of the responses permuted (the design's
permutations), every cell of a site permuted alike; the site's null score is the median over its
cells. Since the held-out Pearson r of a fold is averaged over every assignment of the held-out
responses, its expectation under the null is 0 whatever the fit, so this chance level sits near 0
(unlike RSA's). The unit keeps each cell's nested held-out predictions and fold labels for the
stimulus bootstrap (``resample_scores``).

The fits are written against one array namespace (``mouse_rsa.arrays``): numpy on a CPU, torch on the
unit's GPU (``Design.device``), where the per-fold eigendecompositions, leave-one-out products and
permuted refits stay; only each fold's scores and predictions come back to the host.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import arrays
from ..arrays import Device
from .base import Design, Method, MethodResult, layer_rows, signed_r2, site_columns, with_best_layer
from .cells import column_r, eigenbasis, resampled_r, site_medians
from .folds import fold_labels

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

DEFAULT_ALPHAS = np.logspace(-4, 4, 17)  # × mean eigenvalue of the training kernel
CRITERIA = ("gcv", "loo")
_COLUMNS = 1024  # response columns (cells × permutations) fitted at once: Uᵀy of every layer is layers × n × this


@dataclass
class FoldBasis:
    """One outer fold's centred training kernels in their eigenbasis, every layer: what every cell,
    penalty and permutation of that fold shares."""

    evals: np.ndarray       # (layers, n_train) eigenvalues, clipped at 0
    evecs: np.ndarray       # (layers, n_train, n_train)
    test_rows: np.ndarray   # (layers, n_test, n_train) centred test kernel rows in the eigenbasis
    grid: np.ndarray        # (layers, alphas) absolute penalties

    @classmethod
    def of(cls, kernels: np.ndarray, train: np.ndarray, test: np.ndarray,
           alphas: np.ndarray = DEFAULT_ALPHAS) -> FoldBasis:
        """Only the ``train`` × ``train`` and ``test`` × ``train`` blocks of ``kernels`` (numpy, or torch on
        the device the fit runs on) are read."""
        xp = arrays.namespace(kernels)
        evals, evecs, test_rows = eigenbasis(kernels, train, test)
        scale = xp.clip(xp.sum(evals, axis=1) / max(len(train) - 1, 1), 1e-300)
        return cls(evals, evecs, test_rows, arrays.like(np.asarray(alphas, dtype=np.float64), evals)[None]
                   * scale[:, None])

    def project(self, yc: np.ndarray) -> np.ndarray:
        """Uᵀ yc of every layer, (layers, n_train, columns), as one product."""
        xp = arrays.namespace(yc)
        n_layers, n = self.evals.shape
        return xp.reshape(xp.reshape(xp.permute_dims(self.evecs, (0, 2, 1)), (n_layers * n, n)) @ yc,
                          (n_layers, n, -1))

    def penalties(self, uty: np.ndarray, criterion: str = "loo") -> tuple[np.ndarray, np.ndarray]:
        """Per layer and column, the penalty ``criterion`` chooses: (its error, its grid index), (layers, columns)."""
        xp = arrays.namespace(uty)
        n = self.evals.shape[1]
        shrink = self.evals[:, None, :] / (self.evals[:, None, :] + self.grid[:, :, None])   # (layers, alphas, n)
        if criterion == "gcv":  # (1/n)‖(I − H) yc‖² / (1 − tr H / n)², tr H = 1 + Σ s (the intercept and the ridge)
            residual = (1.0 - shrink) ** 2 @ (uty * uty)                                    # (layers, alphas, cols)
            with np.errstate(invalid="ignore", divide="ignore"):
                error = n * residual / (n - 1.0 - xp.sum(shrink, axis=2))[:, :, None] ** 2
            error = xp.where(xp.isfinite(error), error, xp.inf)
        else:  # exact leave-one-out: residuals over 1 − the hat matrix's diagonal (1/n + U² s)
            error = xp.stack([self._loo(layer, shrink[layer], uty[layer]) for layer in range(len(uty))])
        best = xp.argmin(error, axis=1)
        return xp.take_along_axis(error, best[:, None], axis=1)[:, 0], best

    def _loo(self, layer: int, shrink: np.ndarray, uty: np.ndarray) -> np.ndarray:
        xp = arrays.namespace(uty)
        evecs, n = self.evecs[layer], len(shrink[0])
        leverage = 1.0 - (1.0 / n + shrink @ (evecs ** 2).T)                       # (alphas, n)
        loo_map = evecs[None] * (1.0 - shrink)[:, None, :] / leverage[:, :, None]  # (alphas, n, n)
        residuals = xp.reshape(xp.reshape(loo_map, (-1, n)) @ uty, (len(shrink), n, -1))
        return xp.einsum("anc,anc->ac", residuals, residuals) / n

    def predict(self, uty: np.ndarray, best: np.ndarray, layers: np.ndarray | None = None) -> np.ndarray:
        """Centred test predictions at the chosen penalties ``best`` (layers, columns): of every layer
        (layers, n_test, columns), or with ``layers`` (columns,) of that layer only (n_test, columns)."""
        xp = arrays.namespace(uty)
        alpha = xp.take_along_axis(self.grid, best, axis=1)                        # (layers, cols)
        if layers is None:
            return self.test_rows @ (uty / (self.evals[:, :, None] + alpha[:, None, :]))
        out = xp.empty((self.test_rows.shape[1], uty.shape[2]), dtype=uty.dtype, device=arrays.device_of(uty))
        for layer in np.unique(arrays.host(layers)):
            cols = xp.nonzero(layers == int(layer))[0]
            coef = uty[layer][:, cols] / (self.evals[layer][:, None] + alpha[layer, cols][None, :])
            out[:, cols] = self.test_rows[layer] @ coef
        return out


@dataclass
class FoldFit:
    """Ridge fits of every layer for one outer fold."""

    predictions: np.ndarray  # (n_layers, n_test, n_cells) at each cell's chosen penalty
    error: np.ndarray        # (n_layers, n_cells) the criterion's error at the chosen penalty
    alpha: np.ndarray        # (n_layers, n_cells) chosen penalty (absolute)
    alpha_index: np.ndarray  # (n_layers, n_cells) index into the grid


def ridge_fold(kernels: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
               alphas: np.ndarray = DEFAULT_ALPHAS, criterion: str = "loo") -> FoldFit:
    """Kernel ridge with intercept on ``train`` for every layer of ``kernels`` (layers × stimuli ×
    stimuli), penalty per cell of ``y`` (stimuli × cells) by ``criterion``, predictions for ``test``."""
    xp = arrays.namespace(kernels)
    basis = FoldBasis.of(kernels, train, test, alphas)
    y_mean = xp.mean(y[train], axis=0)
    uty = basis.project(y[train] - y_mean)
    error, best = basis.penalties(uty, criterion)
    return FoldFit(basis.predict(uty, best) + y_mean, error, xp.take_along_axis(basis.grid, best, axis=1), best)


@dataclass
class EncodingResult:
    layer_r: np.ndarray          # (n_layers, n_cells) held-out Pearson r per layer (mean over folds)
    nested_r: np.ndarray         # (n_cells,) r with the layer chosen inside each training fold
    alpha_at_edge: np.ndarray    # (n_layers, n_cells) fraction of folds whose penalty hit the grid's end
    layer_names: list[str]
    predictions: np.ndarray      # (repeats, n_stimuli, n_cells) nested held-out predictions
    folds: np.ndarray            # (repeats, n_stimuli) the fold that held each stimulus out
    null: np.ndarray             # (permutations, n_cells) nested r with the responses' stimuli permuted


@dataclass
class _Fold:
    """One outer fold's fit of some response columns: the nested r and prediction of each column, and
    (for the real responses) every layer's r and whether its penalty was at the grid's end."""

    nested_r: np.ndarray
    nested_prediction: np.ndarray
    layer_r: np.ndarray = field(default_factory=lambda: np.empty(0))
    at_edge: np.ndarray = field(default_factory=lambda: np.empty(0, bool))


def _fit_fold(basis: FoldBasis, y: np.ndarray, train: np.ndarray, test: np.ndarray, criterion: str,
              per_layer: bool) -> _Fold:
    """Nested fit of the columns of ``y`` (stimuli × columns): each column's layer is the one with the
    lowest training error (the first on ties), its penalty the one its criterion chose on that layer. The
    fold's results come back to the host."""
    xp = arrays.namespace(y)
    y_mean = xp.mean(y[train], axis=0)
    uty = basis.project(y[train] - y_mean)
    error, best = basis.penalties(uty, criterion)
    chosen = xp.argmin(error, axis=0)
    prediction = basis.predict(uty, best, chosen) + y_mean
    fold = _Fold(arrays.host(column_r(prediction, y[test])), arrays.host(prediction))
    if per_layer:
        every = basis.predict(uty, best) + y_mean
        fold.layer_r = arrays.host(xp.stack([column_r(p, y[test]) for p in every]))
        fold.at_edge = arrays.host((best == 0) | (best == basis.grid.shape[1] - 1))
    return fold


def encode(grams: LayerGrams, responses: np.ndarray, partitions: list[list[np.ndarray]],
           alphas: np.ndarray = DEFAULT_ALPHAS, criterion: str = "loo",
           null_orders: np.ndarray | None = None, device: Device = None) -> EncodingResult:
    """Ridge encoding of ``responses`` (stimuli × cells, trial means) from every layer of ``grams``, and
    with ``null_orders`` (permutations, stimuli) the nested score of each permutation of the responses.

    Response columns are fitted ``_COLUMNS`` at a time, the permuted ones several permutations at once.
    ``device``: where the fits run (``mouse_rsa.arrays``; None: numpy on the host)."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, not {criterion!r}")
    n_stim, n_cells = responses.shape
    orders = np.empty((0, n_stim), np.int64) if null_orders is None else np.asarray(null_orders)
    kernels, responses = arrays.on(grams.kernels(), device), arrays.on(responses, device)
    xp = arrays.namespace(kernels)
    layer_r, edge = np.zeros((grams.n_layers, n_cells)), np.zeros((grams.n_layers, n_cells))
    nested_r, null = np.zeros(n_cells), np.zeros((len(orders), n_cells))
    predictions = np.zeros((len(partitions), n_stim, n_cells), dtype=np.float32)
    per_chunk = max(1, _COLUMNS // n_cells)                 # permutations fitted together
    n_folds = sum(len(folds) for folds in partitions)
    for repeat, folds in enumerate(partitions):
        for test in folds:
            train = np.setdiff1d(np.arange(n_stim), test)
            basis = FoldBasis.of(kernels, train, test, alphas)
            for first in range(0, n_cells, _COLUMNS):
                cells = slice(first, first + _COLUMNS)
                fold = _fit_fold(basis, responses[:, cells], train, test, criterion, per_layer=True)
                nested_r[cells] += fold.nested_r
                layer_r[:, cells] += fold.layer_r
                edge[:, cells] += fold.at_edge
                predictions[repeat, test, cells] = fold.nested_prediction
            for first in range(0, len(orders), per_chunk):
                chunk = orders[first:first + per_chunk]
                permuted = xp.concat([responses[order] for order in chunk], axis=1)
                r = _fit_fold(basis, permuted, train, test, criterion, per_layer=False).nested_r
                null[first:first + len(chunk)] += r.reshape(len(chunk), n_cells)
    labels = np.stack([fold_labels(folds, n_stim) for folds in partitions])
    return EncodingResult(layer_r / n_folds, nested_r / n_folds, edge / n_folds, grams.names, predictions, labels,
                          null / n_folds)


class EncodingRidge(Method):
    name = "encoding_ridge"
    short = "encoding"
    title = "cross-validated ridge encoding (median Pearson r over cells)"
    layer_label = "per-layer encoding (median Pearson r over cells)"
    needs_cells = True
    layer_columns = ("encoding_alpha_at_edge",)
    permutations = 20          # each refits every cell: 20 × the fit's time
    settings_used = ("ridge_criterion",)

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        if targets.cell_means is None or targets.cell_reliability is None or targets.cell_site is None:
            raise ValueError("encoding needs single-cell targets")
        criterion = design.options.get("ridge_criterion", "loo")
        result = encode(grams, targets.cell_means, design.partitions, criterion=criterion,
                        null_orders=design.permutation_orders(targets.n_stimuli), device=design.device)
        keys = [site.key for site in targets.sites]
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
        return MethodResult(with_best_layer(sites, grams, profile), layers,
                            arrays={"predictions": result.predictions, "folds": result.folds.astype(np.int16)},
                            null=site_medians(result.null, targets.cell_site, keys))

    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        r = resampled_r(arrays["predictions"], arrays["folds"], target["cell_means"], counts)
        return site_medians(r, target["cell_site"], [str(s) for s in target["sites"]])


METHOD = EncodingRidge()
