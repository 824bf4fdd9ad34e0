"""``pls``: Brain-Score-style neural predictivity, each cell's response as a partial-least-squares readout
of a layer (scikit-learn's ``PLSRegression(n_components=25, scale=False)`` per cell, Brain-Score's setting).

Per cell, layer and fold, PLS1 with ``COMPONENTS`` components (fewer where the training kernel's rank
is lower) is fitted on the training stimuli and predicts the held-out ones; the fold's r is the Pearson
r over its held-out stimuli, averaged over folds and repeats; a site's score is the median over its
cells (as Brain-Score, which then divides by the split-half ceiling: here ``score_normalized`` is the
median of r² / the cell's split-half reliability, and ``ceiling`` the median reliability).

The fit runs from the layer's kernel, not its features. In the eigenbasis (U, Λ) of the centred training
kernel (``cells.eigenbasis``: the PCA of the training features), NIPALS's x-scores of PLS1 are
t_a ∝ (I − T Tᵀ) K y_a with y_a the response deflated by the earlier scores: in eigen-coordinates
τ_a ∝ Λ ζ_a orthogonalised against τ_1..τ_{a−1} (one classical Gram–Schmidt pass, the deflation of X
that scikit-learn applies), ζ_{a+1} = ζ_a − τ_a τ_aᵀ ζ_a. The fitted response is Σ τ_a τ_aᵀ ζ = Λ c,
so the regression in sample space is Uc and a held-out stimulus is predicted as its centred kernel row
times Uc, plus the training mean (components with an eigenvalue below n·ε of the largest are treated
as the kernel's null space). One eigendecomposition per layer and fit serves every cell and every
permutation; the cost per cell is O(n · COMPONENTS²). It agrees with scikit-learn's PLSRegression on
the explicit features to ~1e-12 (tests/test_pls.py; benchmarks/peers.py on the demo).

The layer is chosen per site on the training stimuli only, by an inner cross-validation on two other
folds: for outer fold k, every layer is fitted without folds k and j and scored on fold j, for its two
neighbours j = k ± 1 (mod F; a fit without a pair of folds serves both of them, so F outer and F inner
fits per repeat), and the layer with the highest median over the site's cells of that inner r (mean of
the two) predicts fold k. The per-layer profile (``layer_score``) is the median over
cells of each layer's outer held-out r. Chance level: the whole procedure, inner choice included, on
the responses with their stimuli permuted (``Design.permutation_orders``). Kept for the stimulus
bootstrap: each cell's held-out predictions from its site's chosen layer and the folds.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from .base import Design, Method, MethodResult, choice_rows, layer_rows, signed_r2, site_columns, with_best_layer
from .cells import column_r, eigenbasis, resampled_r, site_medians
from .folds import fold_labels

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

COMPONENTS = 25     # Brain-Score's PLS regression (n_components=25, scale=False)
_COLUMNS = 1024     # response columns (cells × permutations) fitted at once


def pls_coefficients(evals: np.ndarray, z: np.ndarray, components: int = COMPONENTS) -> np.ndarray:
    """PLS1 of each column of ``z`` (n, columns): the centred training responses in the eigenbasis of the
    centred training kernel whose eigenvalues are ``evals`` (n,). Returns c (n, columns), the fitted
    responses in sample space being U Λ c and a held-out stimulus's prediction its test row in the
    eigenbasis times c (see the module docstring)."""
    n, columns = z.shape
    zeta = np.ascontiguousarray(z.T)                                     # (columns, n) deflated responses
    scores = np.zeros((columns, min(components, n), n))                  # τ_a of every column
    fitted = np.zeros((columns, n))
    for a in range(scores.shape[1]):
        g = evals[None] * zeta
        if a:
            g -= np.matmul(np.matmul(scores[:, :a], g[:, :, None]).transpose(0, 2, 1), scores[:, :a])[:, 0]
        norm = np.sqrt((g * g).sum(axis=1, keepdims=True))
        g = np.divide(g, norm, out=np.zeros_like(g), where=norm > 0)
        scores[:, a] = g
        step = (g * zeta).sum(axis=1, keepdims=True)
        zeta -= g * step
        fitted += g * step
    null = evals <= n * np.finfo(np.float64).eps * max(evals.max(), 0.0)
    return np.where(null[:, None], 0.0, fitted.T / np.where(null, 1.0, evals)[:, None])


def pls_fit(kernels: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
            components: int = COMPONENTS) -> np.ndarray:
    """Held-out predictions (layers, n_test, columns) of PLS1 per column of ``y`` (stimuli × columns)
    fitted on ``train`` from each layer of ``kernels`` (layers × stimuli × stimuli)."""
    evals, evecs, test_rows = eigenbasis(kernels, train, test)
    mean = y[train].mean(axis=0)
    out = np.empty((len(kernels), len(test), y.shape[1]))
    for first in range(0, y.shape[1], _COLUMNS):
        cols = slice(first, first + _COLUMNS)
        z = evecs.transpose(0, 2, 1) @ (y[train, cols] - mean[cols])          # (layers, n_train, columns)
        for layer in range(len(kernels)):
            out[layer, :, cols] = test_rows[layer] @ pls_coefficients(evals[layer], z[layer], components)
    return out + mean


def _fold_r(predictions: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Held-out r (layers, columns) of every layer's predictions (layers, n_test, columns)."""
    return np.stack([column_r(p, observed) for p in predictions])


def inner_pairs(n_folds: int) -> list[tuple[int, int]]:
    """The fold pairs (k, k+1 mod F) whose fits, without both folds, choose the layers: outer fold k is
    validated on its two neighbours k−1 and k+1 (needs F ≥ 3)."""
    return [(k, (k + 1) % n_folds) for k in range(n_folds)]


class _Nested:
    """One partition's fits of some response columns: every layer's held-out r and predictions in each
    outer fold, and the inner r (without fold k, scored on each other fold) that chooses fold k's layer."""

    def __init__(self, kernels: np.ndarray, y: np.ndarray, labels: np.ndarray, components: int,
                 keep_predictions: bool):
        folds = [np.flatnonzero(labels == k) for k in range(labels.max() + 1)]
        everything = np.arange(len(labels))
        self.outer_r: list[np.ndarray] = []
        self.outer_predictions: list[np.ndarray] = []                       # with keep_predictions only
        for test in folds:
            predicted = pls_fit(kernels, y, np.setdiff1d(everything, test), test, components)
            self.outer_r.append(_fold_r(predicted, y[test]))
            if keep_predictions:
                self.outer_predictions.append(predicted)
        self.inner_r = [np.zeros_like(self.outer_r[0]) for _ in folds]        # (layers, columns) per outer fold
        for k, j in inner_pairs(len(folds)):
            both = np.concatenate([folds[k], folds[j]])
            predicted = pls_fit(kernels, y, np.setdiff1d(everything, both), both, components)
            self.inner_r[k] += _fold_r(predicted[:, len(folds[k]):], y[folds[j]]) / 2
            self.inner_r[j] += _fold_r(predicted[:, :len(folds[k])], y[folds[k]]) / 2
        self.folds = folds


def nested_scores(kernels: np.ndarray, y: np.ndarray, cell_site: np.ndarray, sites: list[str],
                  labels: np.ndarray, components: int = COMPONENTS, keep: bool = True) -> dict[str, np.ndarray]:
    """The nested PLS score of the cells ``y`` (stimuli × cells, one site each in ``cell_site``) over the
    partitions with fold ``labels`` (repeats, stimuli): per cell the mean held-out r of its site's chosen
    layer (``nested_r``), its held-out predictions (``predictions``, (repeats, stimuli, cells)), every
    layer's mean held-out r (``layer_r``, (layers, cells)), the chosen layers (highest median inner r over
    the site's cells; the first on ties) and their inner and held-out site medians (``chosen``, ``inner``,
    ``held_out``: (repeats, folds, sites)). ``keep`` False leaves the predictions out (the null needs the
    scores only)."""
    n_folds, n_cells = labels.max() + 1, y.shape[1]
    nested_r, layer_r = np.zeros(n_cells), np.zeros((len(kernels), n_cells))
    predictions = np.zeros((len(labels), *y.shape) if keep else 0)
    chosen, inner, held_out = (np.zeros((len(labels), n_folds, len(sites))) for _ in range(3))
    index = {site: i for i, site in enumerate(sites)}
    site_of, cells = np.array([index[site] for site in cell_site]), np.arange(n_cells)
    for repeat, partition in enumerate(labels):
        nested = _Nested(kernels, y, partition, components, keep)
        for k, test in enumerate(nested.folds):
            medians = site_medians(nested.inner_r[k], cell_site, sites)                     # (layers, sites)
            by_site = np.argmax(medians, axis=0)
            held = nested.outer_r[k][by_site[site_of], cells]
            nested_r += held
            layer_r += nested.outer_r[k]
            chosen[repeat, k], inner[repeat, k] = by_site, medians[by_site, np.arange(len(sites))]
            held_out[repeat, k] = site_medians(held, cell_site, sites)
            if keep:
                predictions[repeat][test] = nested.outer_predictions[k][by_site[site_of], :, cells].T
    fits = len(labels) * n_folds
    return {"nested_r": nested_r / fits, "layer_r": layer_r / fits, "predictions": predictions,
            "chosen": chosen.astype(np.int64), "inner": inner, "held_out": held_out}


def null_scores(kernels: np.ndarray, y: np.ndarray, cell_site: np.ndarray, sites: list[str], labels: np.ndarray,
                orders: np.ndarray, components: int = COMPONENTS) -> np.ndarray:
    """Site scores (permutations, sites) of ``nested_scores`` on the responses with their stimuli permuted by
    each of ``orders``, every permutation fitted as one more set of columns."""
    if not len(orders):
        return np.empty((0, len(sites)))
    permuted = np.concatenate([y[order] for order in orders], axis=1)
    tagged = np.concatenate([np.char.add(f"{p}/", cell_site.astype(str)) for p in range(len(orders))])
    keys = [f"{p}/{site}" for p in range(len(orders)) for site in sites]
    r = nested_scores(kernels, permuted, tagged, keys, labels, components, keep=False)["nested_r"]
    return site_medians(r, tagged, keys).reshape(len(orders), len(sites))


class PLS(Method):
    name = "pls"
    short = "pls"
    title = "cross-validated PLS regression, 25 components (median Pearson r over cells)"
    layer_label = "per-layer PLS predictivity (median Pearson r over cells)"
    needs_cells = True
    permutations = 5           # each refits every cell, layer and inner fold: 5 × the fit's time

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        if targets.cell_means is None or targets.cell_reliability is None or targets.cell_site is None:
            raise ValueError("pls needs single-cell targets")
        keys = [site.key for site in targets.sites]
        labels = np.stack([fold_labels(folds, targets.n_stimuli) for folds in design.partitions])
        if labels.max() < 2:
            raise InvalidInput("pls chooses its layer on two other folds: it needs at least 3 folds", argument="folds")
        kernels, cell_site = grams.kernels(), np.asarray(targets.cell_site).astype(str)
        fit = nested_scores(kernels, targets.cell_means, cell_site, keys, labels)
        r, reliability = fit["nested_r"], targets.cell_reliability
        sites = pd.concat([site_columns(targets), pd.DataFrame({
            "n_cells": [int((cell_site == key).sum()) for key in keys], "score": site_medians(r, cell_site, keys),
            "score_r2": site_medians(signed_r2(r), cell_site, keys),
            "ceiling": site_medians(reliability, cell_site, keys),
            "score_normalized": site_medians(signed_r2(r) / reliability, cell_site, keys)})], axis=1)
        profile = site_medians(fit["layer_r"], cell_site, keys)
        null = null_scores(kernels, targets.cell_means, cell_site, keys, labels,
                           design.permutation_orders(targets.n_stimuli))
        return MethodResult(with_best_layer(sites, grams, profile), layer_rows(grams, targets, layer_score=profile),
                            {"choices": choice_rows(grams.names, targets, fit["chosen"], fit["inner"],
                                                    fit["held_out"])},
                            {"predictions": fit["predictions"].astype(np.float32), "folds": labels.astype(np.int16)},
                            null)

    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        r = resampled_r(arrays["predictions"], arrays["folds"], target["cell_means"], counts)
        return site_medians(r, target["cell_site"], [str(s) for s in target["sites"]])


METHOD = PLS()
