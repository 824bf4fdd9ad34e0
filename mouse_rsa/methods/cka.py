"""``cka``: linear CKA between a site's population responses and each layer, the layer chosen on training
stimuli and scored on held-out stimuli.

Linear centred kernel alignment (Kornblith et al. 2019) compares two representations of the same stimuli
through their linear kernels: the layer's ``LayerGrams.kernels()`` (⟨x_i, x_j⟩ of its features) and the
site's ``R Rᵀ`` (R: stimuli × the site's reliable cells, their trial-averaged responses, as they are).
CKA(K, L) = HSIC(K, L) / √(HSIC(K, K) HSIC(L, L)) with the debiased HSIC, the U-statistic of Song et
al. (2012, eq. 5), which is unbiased for any number of stimuli (the plain estimator's bias grows as the
stimuli get fewer and the features more, and held-out folds here are ~20 stimuli):

    HSIC₁(K, L) = [tr(K̃L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2) · 1ᵀK̃L̃1] / (n(n−3)),

K̃, L̃ the kernels with their diagonals set to 0 (no centring is needed: the U-statistic is invariant to
the features' means). For one feature each, linear CKA is the squared Pearson r, so ``score`` is
already in r² units: ``score_r2`` is ``score`` (signed: the debiased estimate can be below 0).

Per site, repeat and fold: the CKA of every layer with the site on the training stimuli (their kernel
block) chooses the layer, and the fold's score is the chosen layer's CKA on the held-out stimuli; the
site's score is the mean over folds and repeats (each fold needs 4 held-out stimuli). The per-layer
profile (``layer_score``) is each layer's CKA on all stimuli. No noise ceiling is computed for CKA
(``ceiling`` is NaN). Chance level: the same procedure with the site's stimuli permuted
(``Design.permutation_orders``). Kept for the stimulus bootstrap: the chosen layers, their kernels
and the folds; a resample weights each stimulus by how often it is drawn and leaves out every pair of
a stimulus with its own copy (``weighted_hsic``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInput
from .base import Design, Method, MethodResult, choice_rows, layer_rows, site_columns, with_best_layer
from .folds import fold_labels

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

MIN_STIMULI = 4   # the debiased HSIC needs n > 3
_COLUMNS = 256    # permuted site kernels compared at once


def _off_diagonal(k: np.ndarray) -> np.ndarray:
    k = np.array(k, dtype=np.float64)
    idx = np.arange(k.shape[-1])
    k[..., idx, idx] = 0.0
    return k


def hsic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Debiased HSIC (Song et al. 2012) of every kernel of ``a`` (p, n, n) with every kernel of ``b``
    (q, n, n): (p, q)."""
    n = a.shape[-1]
    a, b = _off_diagonal(a), _off_diagonal(b)
    rows_a, rows_b = a.sum(axis=2), b.sum(axis=2)
    trace = a.reshape(len(a), -1) @ b.reshape(len(b), -1).T
    total = np.outer(rows_a.sum(axis=1), rows_b.sum(axis=1))
    return (trace + total / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (rows_a @ rows_b.T)) / (n * (n - 3))


def self_hsic(a: np.ndarray) -> np.ndarray:
    """Debiased HSIC of every kernel of ``a`` (p, n, n) with itself: (p,)."""
    n = a.shape[-1]
    a = _off_diagonal(a)
    rows = a.sum(axis=2)
    return ((a * a).sum(axis=(1, 2)) + rows.sum(axis=1) ** 2 / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (rows * rows).sum(axis=1)) / (n * (n - 3))


def cka(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Debiased linear CKA (p, q) of every kernel of ``a`` (p, n, n) with every kernel of ``b`` (q, n, n);
    NaN where a kernel's own HSIC is not positive."""
    scale = np.outer(self_hsic(a), self_hsic(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, hsic(a, b) / np.sqrt(np.where(scale > 0, scale, 1.0)), np.nan)


def _triples(k: np.ndarray, l: np.ndarray, m: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Σ over distinct stimuli i, j, q of a_i b_j c_q k_ij l_iq for zero-diagonal k, l (m = k ∘ l) and each row
    of the weights a, b, c (resamples, n): all triples, less those with j = q."""
    return (a * (b @ k) * (c @ l)).sum(axis=1) - ((b * c) @ m * a).sum(axis=1)


def weighted_hsic(k: np.ndarray, l: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The debiased HSIC of kernels ``k`` and ``l`` (n, n) on stimulus resamples (one per row of ``w``,
    (resamples, n): how often each stimulus is drawn): the U-statistic over the resample's items, leaving
    out every tuple with two copies of one stimulus, i.e. the mean of h = k_ij l_ij + k_ij l_qr − 2 k_ij l_iq
    over ordered 4-tuples of distinct stimuli, each weighted by the product of their counts. All-ones
    weights give ``hsic``; NaN for a resample with fewer than 4 distinct stimuli."""
    k, l, w = _off_diagonal(k), _off_diagonal(l), np.asarray(w, dtype=np.float64)
    m, w2, w3 = k * l, w * w, w * w * w
    p1, p2, p3, p4 = (np.sum(w ** e, axis=1) for e in range(1, 5))

    def pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:                    # Σ_ij a_i b_j m_ij
        return ((a @ m) * b).sum(axis=1)

    same = (p1 ** 2 - p2) * pairs(w, w) - 4 * p1 * pairs(w2, w) + 4 * pairs(w3, w) + 2 * pairs(w2, w2)
    cross = ((w @ k) * w).sum(axis=1) * ((w @ l) * w).sum(axis=1) - 4 * (w2 * (w @ k) * (w @ l)).sum(axis=1) \
        + 2 * pairs(w2, w2)
    shared = p1 * _triples(k, l, m, w, w, w) - _triples(k, l, m, w2, w, w) - _triples(k, l, m, w, w2, w) \
        - _triples(k, l, m, w, w, w2)
    tuples = p1 ** 4 - 6 * p1 ** 2 * p2 + 3 * p2 ** 2 + 8 * p1 * p3 - 6 * p4
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((w > 0).sum(axis=1) >= MIN_STIMULI, (same + cross - 2 * shared) / tuples, np.nan)


def site_kernels(cell_means: np.ndarray, cell_site: np.ndarray, sites: list[str]) -> np.ndarray:
    """Linear kernel R Rᵀ (sites, n, n) of each site's cells' trial means R (n × cells)."""
    return np.stack([cell_means[:, cell_site == site] @ cell_means[:, cell_site == site].T for site in sites])


def _block(k: np.ndarray, stimuli: np.ndarray) -> np.ndarray:
    return k[:, stimuli][:, :, stimuli]


def choose_layers(layers: np.ndarray, sites: np.ndarray,
                  labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-validated CKA of the site kernels ``sites`` (k, n, n) on the layer kernels ``layers`` (L, n, n)
    over the partitions with fold ``labels`` (repeats, n): per repeat, fold and site (each (repeats, folds,
    k)) the chosen layer (highest CKA on the training stimuli; the first on ties), its training CKA and its
    held-out CKA (0 where undefined)."""
    n_folds = labels.max() + 1
    chosen = np.zeros((len(labels), n_folds, len(sites)), dtype=np.int64)
    train_cka, held_cka = np.zeros(chosen.shape), np.zeros(chosen.shape)
    columns = np.arange(len(sites))
    for repeat, partition in enumerate(labels):
        for fold in range(n_folds):
            train, test = partition != fold, partition == fold
            on_train = cka(_block(layers, train), _block(sites, train))
            best = np.argmax(np.where(np.isfinite(on_train), on_train, -np.inf), axis=0)
            used = np.unique(best)
            held_out = cka(_block(layers[used], test), _block(sites, test))
            chosen[repeat, fold], train_cka[repeat, fold] = best, on_train[best, columns]
            held_cka[repeat, fold] = np.nan_to_num(held_out[np.searchsorted(used, best), columns])
    return chosen, train_cka, held_cka


def null_scores(layers: np.ndarray, sites: np.ndarray, labels: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Scores (permutations, sites) of ``choose_layers`` with the site kernels' stimuli permuted by each of
    ``orders`` (permutations, n)."""
    null = np.zeros((len(orders), len(sites)))
    step = max(1, _COLUMNS // len(sites))
    for first in range(0, len(orders), step):
        chunk = orders[first:first + step]
        permuted = np.concatenate([sites[:, order][:, :, order] for order in chunk])
        held = choose_layers(layers, permuted, labels)[2].mean(axis=(0, 1))
        null[first:first + len(chunk)] = held.reshape(len(chunk), len(sites))
    return null


def resampled_cka(chosen: np.ndarray, kernels: np.ndarray, labels: np.ndarray, sites: np.ndarray,
                  counts: np.ndarray) -> np.ndarray:
    """Scores (resamples, sites) of the kept choices on stimulus resamples: per repeat and fold, the CKA on
    the held-out stimuli (``weighted_hsic`` with each stimulus's count) of the chosen layer's kernel
    (``kernels[chosen]``) with the site kernel, averaged over folds and repeats (undefined counts 0)."""
    scores = np.zeros((len(counts), len(sites)))
    for repeat, partition in enumerate(labels):
        for fold in range(chosen.shape[1]):
            test = partition == fold
            w = counts[:, test]
            for s, site in enumerate(sites):
                layer, target = kernels[chosen[repeat, fold, s]][np.ix_(test, test)], site[np.ix_(test, test)]
                scale = weighted_hsic(layer, layer, w) * weighted_hsic(target, target, w)
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = weighted_hsic(layer, target, w) / np.sqrt(scale)
                scores[:, s] += np.where(scale > 0, np.nan_to_num(value), 0.0)
    return scores / chosen.shape[0] / chosen.shape[1]


class CKA(Method):
    name = "cka"
    short = "cka"
    title = "cross-validated linear CKA (debiased)"
    layer_label = "per-layer linear CKA (debiased)"
    needs_cells = True

    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        if targets.cell_means is None or targets.cell_site is None:
            raise ValueError("cka needs single-cell targets")
        labels = np.stack([fold_labels(folds, targets.n_stimuli) for folds in design.partitions])
        smallest = min(len(test) for folds in design.partitions for test in folds)
        if smallest < MIN_STIMULI:
            raise InvalidInput(f"cka needs at least {MIN_STIMULI} held-out stimuli per fold, and a fold holds "
                               f"{smallest}; use at most {targets.n_stimuli // MIN_STIMULI} folds", argument="folds")
        layers = grams.kernels()
        sites = site_kernels(targets.cell_means, targets.cell_site, [s.key for s in targets.sites])
        chosen, train_cka, held_cka = choose_layers(layers, sites, labels)
        score = held_cka.mean(axis=(0, 1))
        n_cells = [s.n_cells for s in targets.sites]
        table = site_columns(targets).assign(n_cells=n_cells, score=score, score_r2=score, ceiling=np.nan,
                                             score_normalized=np.nan)
        profile = cka(layers, sites)
        kept = np.unique(chosen)
        arrays = {"chosen": np.searchsorted(kept, chosen).astype(np.int16), "kernels": layers[kept].astype(np.float32),
                  "folds": labels.astype(np.int16)}
        null = null_scores(layers, sites, labels, design.permutation_orders(targets.n_stimuli))
        return MethodResult(with_best_layer(table, grams, profile), layer_rows(grams, targets, layer_score=profile),
                            {"choices": choice_rows(grams.names, targets, chosen, train_cka, held_cka)}, arrays, null)

    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        sites = site_kernels(target["cell_means"], target["cell_site"], [str(s) for s in target["sites"]])
        return resampled_cka(arrays["chosen"], arrays["kernels"].astype(np.float64), arrays["folds"], sites, counts)


METHOD = CKA()
