"""``rsa_layer``: single-layer RSA, the layer chosen on training stimuli and scored on held-out stimuli.

The most common RSA benchmark score, cross-validated over stimuli with the design's folds: per site,
repeat and fold, every layer RDM is correlated with the site RDM over the cells between two training
stimuli; the layer with the highest correlation is the fold's choice, and the fold's score is that
layer's correlation with the site RDM over the cells that touch a held-out stimulus (held-out × all,
as ``rsa_nnls`` predicts them). The site's score is the mean over folds and repeats.

``score`` uses Pearson r, the correlation the noise ceiling (r² units), ``rsa_nnls`` and the per-layer
profile use; ``score_spearman`` is the same procedure with Spearman's ρ (the layer chosen by ρ on the
training cells, each subset ranked on its own). The per-layer profile (``layer_score``,
``rsa_spearman``) is each layer's Pearson r and Spearman ρ with the site RDM on all cells, as
``rsa_nnls`` reports it. The ``choices`` table keeps the chosen layer of every site, repeat and fold
with its training and held-out r (``train_score``, ``held_out_score``); with several image sizes (``LayerGrams.joined``) the layer's name
carries the size, so the size is chosen on the training stimuli too.

Chance level: the same procedure on the site RDMs with their stimuli permuted
(``Design.permutation_orders``, all sites alike), on the same folds. Kept for the stimulus bootstrap:
the chosen layer of every repeat, fold and site, the RDMs of the chosen layers and the folds.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from ..rdm import correlation_matrix, layer_profile, pair_weights, permuted_pairs, upper, weighted_pearson
from .base import (
    Design,
    Method,
    MethodResult,
    choice_rows,
    layer_rows,
    normalize,
    rdm_ceilings,
    signed_r2,
    site_columns,
    with_best_layer,
)
from .folds import fold_labels

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

_COLUMNS = 2048  # permuted site columns correlated at once (bounds the copies of the training cells)


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return correlation_matrix(stats.rankdata(a, axis=0), stats.rankdata(b, axis=0))


def cell_masks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one partition's fold ``labels`` (n_stimuli,): (training, held-out) masks (n_folds, n_pairs) of the
    RDM cells between two training stimuli and of those that touch a held-out stimulus."""
    i, j = np.triu_indices(len(labels), k=1)
    folds = np.arange(labels.max() + 1)[:, None]
    held = (labels[i][None] == folds) | (labels[j][None] == folds)
    return ~held, held


def choose_layers(x: np.ndarray, y: np.ndarray, labels: np.ndarray,
                  spearman: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-validated single-layer RSA of the columns of ``y`` (n_pairs, k) on the layer RDMs ``x``
    (n_pairs, n_layers) over the partitions whose fold labels are ``labels`` (repeats, n_stimuli).

    Returns, each (repeats, folds, k): the chosen layer (best correlation on the training cells; the first
    on ties; a layer undefined on them never wins), its training correlation, and its held-out
    correlation (0 where undefined)."""
    correlate = _spearman if spearman else correlation_matrix
    n_folds = labels.max() + 1
    chosen = np.zeros((len(labels), n_folds, y.shape[1]), dtype=np.int64)
    train_r, held_r = np.zeros(chosen.shape), np.zeros(chosen.shape)
    for repeat, partition in enumerate(labels):
        for fold, (train, held) in enumerate(zip(*cell_masks(partition))):
            on_train = correlate(x[train], y[train])
            best = np.argmax(np.where(np.isfinite(on_train), on_train, -np.inf), axis=0)
            columns = np.arange(y.shape[1])
            chosen[repeat, fold], train_r[repeat, fold] = best, on_train[best, columns]
            held_out = correlate(x[held][:, np.unique(best)], y[held])
            held_r[repeat, fold] = np.nan_to_num(held_out[np.searchsorted(np.unique(best), best), columns])
    return chosen, train_r, held_r


def null_scores(x: np.ndarray, y: np.ndarray, labels: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Scores (permutations, sites) of ``choose_layers`` on the site RDMs ``y`` with their stimuli permuted by
    each of ``orders`` (permutations, n_stimuli)."""
    n_stimuli, n_sites = labels.shape[1], y.shape[1]
    null = np.zeros((len(orders), n_sites))
    step = max(1, _COLUMNS // n_sites)
    for first in range(0, len(orders), step):
        chunk = orders[first:first + step]
        permuted = np.concatenate([y[permuted_pairs(n_stimuli, order)] for order in chunk], axis=1)
        held_r = choose_layers(x, permuted, labels)[2]
        null[first:first + len(chunk)] = held_r.mean(axis=(0, 1)).reshape(len(chunk), n_sites)
    return null


def resampled_r(chosen: np.ndarray, vectors: np.ndarray, labels: np.ndarray, site_vectors: np.ndarray,
                counts: np.ndarray) -> np.ndarray:
    """Scores (resamples, sites) of the kept choices on stimulus resamples: per repeat and fold, the Pearson r
    over the held-out cells of the chosen layer's RDM (``vectors[:, chosen]``) with the site RDM, each cell
    weighted by ``rdm.pair_weights`` of the resample's ``counts``; averaged over folds and repeats (an
    undefined r counts 0, as in the score)."""
    y = np.asarray(site_vectors, dtype=np.float64)
    scores = np.zeros((len(counts), y.shape[1]))
    for first in range(0, len(counts), 256):                  # 256 resamples × n_pairs weights at a time
        w = pair_weights(counts[first:first + 256])
        for repeat, partition in enumerate(labels):
            for fold, held in enumerate(cell_masks(partition)[1]):
                p = vectors[held][:, chosen[repeat, fold]].astype(np.float64)
                scores[first:first + 256] += np.nan_to_num(weighted_pearson(w[:, held], p, y[held]))
    return scores / chosen.shape[0] / chosen.shape[1]


class RSALayer(Method):
    name = "rsa_layer"
    short = "rsa_layer"
    title = "cross-validated single-layer RSA (Pearson r)"
    layer_label = "per-layer RSA (Pearson r)"
    layer_columns = ("rsa_spearman",)

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        x, y = upper(grams.rdms()).T, targets.site_vectors()
        labels = np.stack([fold_labels(folds, targets.n_stimuli) for folds in design.partitions])
        chosen, train_r, held_r = choose_layers(x, y, labels)
        spearman = choose_layers(x, y, labels, spearman=True)[2].mean(axis=(0, 1))
        r = held_r.mean(axis=(0, 1))
        ceilings = rdm_ceilings(targets)
        n_cells = [s.n_cells if targets.cell_means is not None else np.nan for s in targets.sites]
        sites = site_columns(targets).assign(n_cells=n_cells, score=r, score_r2=signed_r2(r), **ceilings,
                                             score_normalized=normalize(signed_r2(r), ceilings["ceiling"]),
                                             score_spearman=spearman)
        pearson, rho = layer_profile(x, y)
        kept = np.unique(chosen)
        arrays = {"chosen": np.searchsorted(kept, chosen).astype(np.int16), "vectors": x[:, kept].astype(np.float32),
                  "folds": labels.astype(np.int16)}
        null = null_scores(x, y, labels, design.permutation_orders(targets.n_stimuli))
        return MethodResult(with_best_layer(sites, grams, pearson), layer_rows(grams, targets, layer_score=pearson,
                                                                               rsa_spearman=rho),
                            {"choices": choice_rows(grams.names, targets, chosen, train_r, held_r)}, arrays, null)

    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        return resampled_r(arrays["chosen"], arrays["vectors"], arrays["folds"], target["vectors"], counts)


METHOD = RSALayer()
