"""Taskonomic signatures: which models share the prediction of a site's RDM? (seed 001, sec. 2.5 and 3.3)

Per site, one cross-validated NNLS (``methods.nnls.fit_cv_nnls``) with several models' RDMs as regressors at
once (e.g. the latent RDM of each Taskonomy task), repeated over many random k-fold splits of the
stimuli (the paper: 1000 random 6-fold splits). Regressors are z-scored first, so a weight measures a
model's contribution to the predicted RDM in common units (the fit itself, and so the score, is
unchanged by the scaling). A model's *weight* in a split is its NNLS weight averaged over the folds
(summed over the model's regressors when it has several); its *weight share* is that weight over the
sum of all models' weights (a split in which no model gets weight has no shares and is left out).
A cluster's weight is the sum of its models' weights; an area's, the mean over its sites.

Intervals (``ci_low``, ``ci_high``): the 2.5–97.5 percentiles of the per-split shares over the random
splits (the paper's "permuted 95 % CI": each split is a random permutation of the stimuli into
folds). They say how much a share depends on the split, not how well the stimuli sample it.

Chance: a permutation null in which the site RDMs' stimuli are shuffled (one shuffle per permutation,
shared by all sites, one random split each). ``null_share`` is the mean share and ``null_high`` the
95th percentile under that null (shares of pure noise are far from zero: they sum to one);
``p_permutation`` = (1 + #null weights ≥ the observed mean weight) / (1 + permutations) tests the
weight itself, conservatively (one split varies more than a mean over many).
"""
from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from ..methods.folds import stimulus_folds
from ..methods.nnls import fit_cv_nnls
from ..rdm import permuted_pairs

MAX_SPLITS = 10_000  # ten times the study's 1000; each split holds a (folds, sites, regressors) weight array
STAT_COLUMNS = ["weight_share", "ci_low", "ci_high", "weight", "null_share", "null_high", "p_permutation", "n_splits"]


@dataclass(frozen=True)
class SplitDesign:
    """How a joint fit is repeated: ``splits`` random ``folds``-fold splits and ``permutations`` null fits."""

    splits: int = 1000
    folds: int = 6
    seed: int = 0
    permutations: int = 100

    def __post_init__(self) -> None:
        for name, least, most in (("splits", 1, MAX_SPLITS), ("folds", 2, None), ("permutations", 0, MAX_SPLITS)):
            value = getattr(self, name)
            if not least <= value <= (most or value):
                bound = f"between {least} and {most}" if most else f"at least {least}"
                raise InvalidInput(f"{name} must be {bound}, got {value}", argument=name)

    def check_stimuli(self, n_stimuli: int) -> None:
        """InvalidInput when ``folds`` exceeds the ``n_stimuli`` the splits partition."""
        if self.folds > n_stimuli:
            raise InvalidInput(f"folds={self.folds} is more than the {n_stimuli} stimuli; use at most {n_stimuli}",
                               argument="folds")


@dataclass
class JointFit:
    """Per-split results of one joint NNLS of every site on every model."""

    weights: np.ndarray  # (n_splits, n_sites, n_models) model weights (z-scored regressors, mean over folds)
    scores: np.ndarray   # (n_splits, n_sites) cross-validated r of the joint prediction
    null: np.ndarray     # (n_permutations, n_sites, n_models) model weights with shuffled site stimuli


def n_stimuli_of(n_pairs: int) -> int:
    """Stimulus count S of an upper triangle with S·(S−1)/2 cells."""
    n = (1 + math.isqrt(1 + 8 * n_pairs)) // 2
    if n * (n - 1) // 2 != n_pairs:
        raise ValueError(f"{n_pairs} is not the length of an RDM's upper triangle")
    return n


def model_weights(weights: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Per split, site and model: NNLS weights (R, F, S, L) averaged over folds, summed per model (L, M) → (R, S, M)."""
    return weights.mean(axis=1) @ membership


def shares(weights: np.ndarray) -> np.ndarray:
    """Each group's weight over the sum along the last axis (NaN where nothing got weight)."""
    total = weights.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights / total, np.nan)


def zscore(vectors: np.ndarray) -> np.ndarray:
    std = vectors.std(axis=0)
    return (vectors - vectors.mean(axis=0)) / np.where(std > 0, std, 1.0)


def joint_fit(regressors: np.ndarray, membership: np.ndarray, site_vectors: np.ndarray,
              design: SplitDesign) -> JointFit:
    """Joint cross-validated NNLS of every site (n_pairs, S) on every regressor (n_pairs, L).

    ``membership`` (L, M) assigns each regressor column to one of M models (1.0, else 0.0).
    """
    n_stimuli = n_stimuli_of(len(site_vectors))
    design.check_stimuli(n_stimuli)
    x = zscore(np.asarray(regressors, dtype=np.float64))
    partitions = stimulus_folds(n_stimuli, design.folds, design.splits, design.seed)
    fit = fit_cv_nnls(x, site_vectors, n_stimuli, partitions)
    null = np.empty((0, site_vectors.shape[1], membership.shape[1]))
    if design.permutations:
        rng = np.random.default_rng(design.seed)
        shuffled = np.concatenate([site_vectors[permuted_pairs(n_stimuli, rng.permutation(n_stimuli))]
                                   for _ in range(design.permutations)], axis=1)
        one_split = stimulus_folds(n_stimuli, design.folds, 1, design.seed + 1)
        null_fit = fit_cv_nnls(x, shuffled, n_stimuli, one_split)
        null = model_weights(null_fit.weights, membership)[0].reshape(design.permutations, *null.shape[1:])
    return JointFit(model_weights(fit.weights, membership), fit.scores, null)


def summarise(weights: np.ndarray, null: np.ndarray, units: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows for every unit × group: mean share, its interval over splits, mean weight and the null.

    weights (n_splits, U, G) and null weights (n_permutations, U, G), the groups partitioning the
    models; ``units`` (U rows) and ``groups`` (G rows) label the axes and become the leading columns.
    """
    observed, chance = shares(weights), shares(null)
    with _all_nan_ok():
        mean = np.nanmean(observed, axis=0)
        low, high = np.nanpercentile(observed, [2.5, 97.5], axis=0)
        null_mean, null_high = np.nanmean(chance, axis=0), np.nanpercentile(chance, 95, axis=0)
        weight = weights.mean(axis=0)
        p = (1 + (null >= weight[None]).sum(axis=0)) / (1 + len(null))
    if not len(null):
        p[:] = np.nan
    values = np.stack([mean, low, high, weight, null_mean, null_high, p, np.isfinite(observed).sum(axis=0)], axis=-1)
    table = pd.DataFrame(values.reshape(-1, len(STAT_COLUMNS)), columns=STAT_COLUMNS).astype({"n_splits": int})
    u, g = np.meshgrid(np.arange(len(units)), np.arange(len(groups)), indexing="ij")
    labels = [units.iloc[u.ravel()].reset_index(drop=True), groups.iloc[g.ravel()].reset_index(drop=True)]
    return pd.concat([*labels, table], axis=1)


def _by_area(values: np.ndarray, areas: list[str]) -> np.ndarray:
    """Mean over the sites of each area (axis 1, NaN-aware): (n, S, G) → (n, n_areas, G)."""
    labels = np.asarray(areas)
    with _all_nan_ok():
        return np.stack([np.nanmean(values[:, labels == a], axis=1) for a in dict.fromkeys(areas)], axis=1)


@contextlib.contextmanager
def _all_nan_ok() -> Iterator[None]:
    """A site or split with no shares at all gives NaN statistics, silently."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _membership(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct labels in order of appearance and the one-hot matrix (len(labels), n_distinct)."""
    names = list(dict.fromkeys(labels))
    return names, (np.asarray(labels)[:, None] == np.asarray(names)[None]).astype(np.float64)


def signature_tables(fit: JointFit, sites: pd.DataFrame, models: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Tidy ``models`` (site × model), ``clusters`` (site × cluster) and ``areas`` (area × cluster) tables.

    sites: one row per site of the fit (columns site, area, cortical_layer); models: one row per model
    of the fit (columns model, cluster). Site rows carry the joint fit's mean score and its interval.
    """
    with _all_nan_ok():
        low, high = np.nanpercentile(fit.scores, [2.5, 97.5], axis=0)
    units = sites.reset_index(drop=True).assign(joint_score=fit.scores.mean(axis=0), joint_score_low=low,
                                                joint_score_high=high)
    clusters, to_cluster = _membership(list(models["cluster"]))
    cluster_rows = pd.DataFrame({"cluster": clusters, "n_models": to_cluster.sum(axis=0).astype(int)})
    weights, null = fit.weights @ to_cluster, fit.null @ to_cluster
    areas = list(sites["area"])
    area_units = units.groupby("area", sort=False).agg(n_sites=("site", "size"), joint_score=("joint_score", "mean"))
    return {"models": summarise(fit.weights, fit.null, units, models.reset_index(drop=True)),
            "clusters": summarise(weights, null, units, cluster_rows),
            "areas": summarise(_by_area(weights, areas), _by_area(null, areas), area_units.reset_index(), cluster_rows)}


def summary_lines(areas: pd.DataFrame, label: str) -> list[str]:
    """Per area, the cluster with the largest mean weight share and its interval."""
    lines = []
    for area, rows in areas.groupby("area", sort=False):
        top = rows.loc[rows["weight_share"].idxmax()] if rows["weight_share"].notna().any() else None
        if top is not None:
            lines.append(f"{label} {area}: largest share {top['cluster']} {top['weight_share']:.2f} "
                         f"[{top['ci_low']:.2f}, {top['ci_high']:.2f}] (chance {top['null_share']:.2f}), "
                         f"joint r = {top['joint_score']:.3f}")
    return lines
