"""``rsa_nnls``: cross-validated NNLS of each site's RDM on all of a model's layer RDMs (seed 001, 2.4).

Per site, every layer RDM is a regressor of one non-negative least-squares fit with a free
intercept, cross-validated over stimuli (``nnls.fit_cv_nnls``); the score is the Pearson r between
the assembled held-out prediction and the site's RDM (0 when no layer gets weight in any fold: the
prediction is then fold intercepts only), averaged over repeats. The per-layer profile is each
layer's own RSA: Pearson r (``layer_score``) and Spearman r (``rsa_spearman``) of its RDM with the
site's, on all stimuli. Its units keep the NNLS weights of every layer and the intercept in every
repeat and fold (the ``nnls`` table) and the assembled held-out prediction of every site (arrays).

Chance level: the same cross-validated fit, on the same folds, of the site RDMs with their stimuli
permuted (``Design.permutation_orders``; all sites permuted alike). It is negative and depends on
the model: a held-out cell shares a stimulus with training cells, and the fold intercepts and the
number of layers shape what a fit to noise predicts (about −0.07 for a 100-layer network and −0.1
for one layer on the 118 scenes), so models are ranked by the chance-corrected score.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..rdm import layer_profile, pair_weights, permuted_pairs, upper, weighted_pearson
from .base import (
    Design,
    Method,
    MethodResult,
    layer_rows,
    normalize,
    rdm_ceilings,
    signed_r2,
    site_columns,
    with_best_layer,
)
from .nnls import CVNNLSFit, fit_cv_nnls, held_out_predictions

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets


def nnls_rows(fit: CVNNLSFit, names: list[str], targets: Targets) -> pd.DataFrame:
    """Long table of fit.weights (repeats, folds, sites, layers) and fit.intercepts (repeats, folds, sites):
    columns site, repeat, fold, regressor, weight."""
    values = np.concatenate([fit.weights, fit.intercepts[..., None]], axis=-1)
    grid = np.indices(values.shape).reshape(4, -1)
    order = np.lexsort((grid[3], grid[1], grid[0], grid[2]))  # site, repeat, fold, regressor
    regressors = np.array([*names, "intercept"], dtype=object)
    sites = np.array([s.key for s in targets.sites], dtype=object)
    return pd.DataFrame({"site": sites[grid[2][order]], "repeat": grid[0][order], "fold": grid[1][order],
                         "regressor": regressors[grid[3][order]], "weight": values.ravel()[order]})


class RSANNLS(Method):
    name = "rsa_nnls"
    short = "rsa"
    title = "cross-validated RSA, NNLS over all layers (Pearson r)"
    layer_label = "per-layer RSA (Pearson r)"
    keeps_layer_rdms = True
    layer_columns = ("rsa_spearman",)

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        layer_vectors = upper(grams.rdms()).T
        site_vectors = targets.site_vectors()
        pearson, spearman = layer_profile(layer_vectors, site_vectors)
        fit = fit_cv_nnls(layer_vectors, site_vectors, targets.n_stimuli, design.partitions)
        r = fit.scores.mean(axis=0)
        ceilings = rdm_ceilings(targets)
        n_cells = [s.n_cells if targets.cell_means is not None else np.nan for s in targets.sites]
        sites = site_columns(targets).assign(n_cells=n_cells, score=r, score_r2=signed_r2(r), **ceilings,
                                             score_normalized=normalize(signed_r2(r), ceilings["ceiling"]))
        layers = layer_rows(grams, targets, layer_score=pearson, rsa_spearman=spearman)
        predictions = np.stack([held_out_predictions(layer_vectors, fit, k, folds, targets.n_stimuli)
                                for k, folds in enumerate(design.partitions)]).astype(np.float32)
        weighted = (fit.weights > 0).any(axis=(1, 3))                            # (repeats, sites)
        null = null_scores(layer_vectors, site_vectors, targets.n_stimuli, design)
        return MethodResult(with_best_layer(sites, grams, pearson), layers,
                            {"nnls": nnls_rows(fit, grams.names, targets)},
                            arrays={"predictions": predictions, "weighted": weighted}, null=null)

    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        return resampled_r(arrays["predictions"], arrays["weighted"], target["vectors"], counts)


_NULL_COLUMNS = 2048  # permuted site columns fitted at once (bounds the block sums' memory)


def null_scores(layer_vectors: np.ndarray, site_vectors: np.ndarray, n_stimuli: int, design: Design) -> np.ndarray:
    """Cross-validated NNLS scores (permutations, sites) of the site RDMs with their stimuli permuted by
    each of the design's permutations, fitted on the same folds as the real score."""
    orders = design.permutation_orders(n_stimuli)
    n_sites = site_vectors.shape[1]
    null = np.zeros((len(orders), n_sites))
    step = max(1, _NULL_COLUMNS // n_sites)
    for first in range(0, len(orders), step):
        chunk = orders[first:first + step]
        permuted = np.concatenate([site_vectors[permuted_pairs(n_stimuli, order)] for order in chunk], axis=1)
        fit = fit_cv_nnls(layer_vectors, permuted, n_stimuli, design.partitions)
        null[first:first + len(chunk)] = fit.scores.mean(axis=0).reshape(len(chunk), n_sites)
    return null


def resampled_r(predictions: np.ndarray, weighted: np.ndarray, site_vectors: np.ndarray,
                counts: np.ndarray) -> np.ndarray:
    """Scores (resamples, sites) of fixed held-out predictions (repeats, n_pairs, sites) on stimulus
    resamples: per repeat the Pearson r over RDM cells, each weighted by ``rdm.pair_weights`` of the
    resample's ``counts``, averaged over repeats; a repeat in which no layer got weight scores 0, as it did."""
    y = np.asarray(site_vectors, dtype=np.float64)
    scores = np.zeros((len(counts), y.shape[1]))
    for first in range(0, len(counts), 256):                  # 256 resamples × n_pairs weights at a time
        w = pair_weights(counts[first:first + 256])
        for p, used in zip(predictions.astype(np.float64), weighted):
            r = weighted_pearson(w, p, y)
            scores[first:first + 256] += np.where(used & np.isfinite(r), r, 0.0)
    return scores / len(predictions)


METHOD = RSANNLS()
