"""``rsa_nnls``: cross-validated NNLS of each site's RDM on all of a model's layer RDMs (seed 001, 2.4).

Per site, every layer RDM is a regressor of one non-negative least-squares fit with a free
intercept, cross-validated over stimuli (``nnls.fit_cv_nnls``); the score is the Pearson r between
the assembled held-out prediction and the site's RDM (0 when no layer gets weight), averaged over
repeats. The per-layer profile is each layer's own RSA: Pearson r (``layer_score``) and Spearman r
(``rsa_spearman``) of its RDM with the site's, on all stimuli. Its units keep the NNLS weights of
every layer and the intercept in every repeat and fold (the ``nnls`` table).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..rdm import correlation_matrix, upper
from .base import Design, Method, MethodResult, layer_rows, normalize, signed_r2, site_columns, with_best_layer
from .nnls import CVNNLSFit, fit_cv_nnls

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets


def layer_profile(layer_vectors: np.ndarray, site_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman r of every layer RDM with every site RDM.

    ``layer_vectors`` (n_pairs, n_layers) and ``site_vectors`` (n_pairs, n_sites) are upper
    triangles; each result is (n_layers, n_sites), NaN where an RDM is constant. Every column is
    ranked once.
    """
    pearson = correlation_matrix(layer_vectors, site_vectors)
    spearman = correlation_matrix(stats.rankdata(layer_vectors, axis=0), stats.rankdata(site_vectors, axis=0))
    return pearson, spearman


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
        ceiling = np.array([s.ceiling for s in targets.sites])
        n_cells = [s.n_cells if targets.cell_means is not None else np.nan for s in targets.sites]
        sites = site_columns(targets).assign(n_cells=n_cells, score=r, score_r2=signed_r2(r), ceiling=ceiling,
                                             score_normalized=normalize(signed_r2(r), ceiling))
        layers = layer_rows(grams, targets, layer_score=pearson, rsa_spearman=spearman)
        return MethodResult(with_best_layer(sites, grams.names, pearson), layers,
                            {"nnls": nnls_rows(fit, grams.names, targets)})


METHOD = RSANNLS()
