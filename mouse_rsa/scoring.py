"""Score one model's layer summaries against every neural site: RSA (cross-validated NNLS) or encoding.

Both return plain tables without key columns (``mouse_rsa.results`` adds them):

* sites: one row per site with ``results.SITE_COLUMNS``;
* layers: one row per site × layer (per-layer RSA profile or per-layer encoding accuracy);
* nnls: the NNLS weight of every layer and the intercept per site, repeat and fold (RSA only).

``score`` is the cross-validated r; ``score_r2`` is the *signed* r², sign(r)·r², so a model that
predicts a site inversely never earns positive explained variance; ``score_normalized`` is
``score_r2 / ceiling`` (ceilings are in r² units).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import encoding as enc
from . import rsa
from .grams import LayerGrams
from .targets import Targets

Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def signed_r2(r):
    """sign(r) · r²: explained variance that keeps the sign of the correlation."""
    r = np.asarray(r, dtype=np.float64)
    return np.sign(r) * r * r


def relative_depth(index: np.ndarray | int, n_layers: int) -> np.ndarray:
    """0 for the first layer, 1 for the last (0 for a one-layer model)."""
    return np.asarray(index, dtype=np.float64) / (n_layers - 1) if n_layers > 1 else np.zeros_like(index, float)


def _site_columns(targets: Targets) -> pd.DataFrame:
    return pd.DataFrame({"area": [s.area for s in targets.sites],
                         "cortical_layer": [s.cortical_layer for s in targets.sites],
                         "site": [s.key for s in targets.sites]})


def _best_layer(sites: pd.DataFrame, names: list[str], per_layer: np.ndarray) -> pd.DataFrame:
    """Add the best single layer of each site from ``per_layer`` (n_layers, n_sites)."""
    best = np.nanargmax(np.where(np.isfinite(per_layer), per_layer, -np.inf), axis=0)
    return sites.assign(best_layer=[names[b] for b in best], best_layer_index=best,
                        best_layer_depth=relative_depth(best, len(names)),
                        best_layer_score=per_layer[best, np.arange(per_layer.shape[1])], n_layers=len(names))


def _layer_rows(grams: LayerGrams, targets: Targets, **values: np.ndarray) -> pd.DataFrame:
    """Site × layer rows; each value is (n_layers, n_sites)."""
    n_layers, n_sites = grams.n_layers, len(targets.sites)
    site = _site_columns(targets).loc[np.repeat(np.arange(n_sites), n_layers)].reset_index(drop=True)
    index = np.tile(np.arange(n_layers), n_sites)
    return site.assign(layer=np.array(grams.names, dtype=object)[index], layer_index=index,
                       layer_depth=relative_depth(index, n_layers),
                       **{name: np.asarray(v, dtype=np.float64).T.ravel() for name, v in values.items()})


def score_rsa(grams: LayerGrams, targets: Targets, partitions: list[list[np.ndarray]]) -> Tables:
    """Per-layer RSA profiles and cross-validated NNLS over all layers, for every site."""
    layer_vectors = rsa.upper_triangles(grams.rdms())
    site_vectors = targets.site_vectors()
    pearson, spearman = rsa.layer_profile(layer_vectors, site_vectors)
    fit = rsa.fit_cv_nnls(layer_vectors, site_vectors, targets.n_stimuli, partitions)
    r = fit.scores.mean(axis=0)
    ceiling = np.array([s.ceiling for s in targets.sites])
    n_cells = [s.n_cells if targets.cell_means is not None else np.nan for s in targets.sites]
    sites = _site_columns(targets).assign(n_cells=n_cells, score=r, score_r2=signed_r2(r), ceiling=ceiling,
                                          score_normalized=_normalize(signed_r2(r), ceiling))
    nan = np.full_like(pearson, np.nan)
    layers = _layer_rows(grams, targets, rsa_pearson=pearson, rsa_spearman=spearman, encoding_median_r=nan,
                         encoding_alpha_at_edge=nan)
    return _best_layer(sites, grams.names, pearson), layers, _nnls_rows(fit, grams.names, targets)


def _normalize(r2: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling > 0, r2 / ceiling, np.nan)


def _nnls_rows(fit: rsa.CVNNLSFit, names: list[str], targets: Targets) -> pd.DataFrame:
    """Long table of fit.weights (repeats, folds, sites, layers) and fit.intercepts (repeats, folds, sites)."""
    values = np.concatenate([fit.weights, fit.intercepts[..., None]], axis=-1)
    grid = np.indices(values.shape).reshape(4, -1)
    order = np.lexsort((grid[3], grid[1], grid[0], grid[2]))  # site, repeat, fold, regressor
    regressors = np.array([*names, "intercept"], dtype=object)
    sites = np.array([s.key for s in targets.sites], dtype=object)
    return pd.DataFrame({"site": sites[grid[2][order]], "repeat": grid[0][order], "fold": grid[1][order],
                         "regressor": regressors[grid[3][order]], "weight": values.ravel()[order]})


def score_encoding(grams: LayerGrams, targets: Targets, partitions: list[list[np.ndarray]]) -> Tables:
    """Ridge encoding per layer and cell; a site's score is the median over its reliable cells."""
    if targets.cell_means is None or targets.cell_reliability is None or targets.cell_site is None:
        raise ValueError("encoding needs single-cell targets")
    result = enc.encode(grams, targets.cell_means, partitions)
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
    sites = pd.concat([_site_columns(targets), pd.DataFrame(rows)], axis=1)
    profile = np.stack(per_layer, axis=1)
    nan = np.full_like(profile, np.nan)
    layers = _layer_rows(grams, targets, rsa_pearson=nan, rsa_spearman=nan, encoding_median_r=profile,
                         encoding_alpha_at_edge=np.stack(edge, axis=1))
    return _best_layer(sites, grams.names, profile), layers, pd.DataFrame()


SCORERS = {"rsa": score_rsa, "encoding": score_encoding}
