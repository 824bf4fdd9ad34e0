"""How reliable are single cells and neural-site RDMs: split-half, oracle, RDM noise ceiling and its bounds.

All functions take single-trial responses shaped cells × trials × stimuli (NaN = missing trial)
and a seed for the random trial splits; the same seed gives the same numbers.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np

from ..rdm import pearson, rdm, upper

DEFAULT_THRESHOLD = 0.75  # seed 001: cells with split-half reliability >= 0.75
DEFAULT_SPLITS = 10
_CHUNK = 1024  # cells per block, bounds temporary memory on the 60k-cell Allen data


def spearman_brown(r, factor: float = 2.0):
    """Reliability of a measure ``factor`` times as long as one with reliability ``r``."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def _row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r per row of a and b (rows × stimuli), ignoring stimuli where either is NaN."""
    mask = np.isfinite(a) & np.isfinite(b)
    n = mask.sum(axis=1)
    a = np.where(mask, a, 0.0)
    b = np.where(mask, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a.sum(axis=1) / n
        mb = b.sum(axis=1) / n
        da = np.where(mask, a - ma[:, None], 0.0)
        db = np.where(mask, b - mb[:, None], 0.0)
        return (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))


def _trial_splits(n_trials: int, n_stimuli: int, n_splits: int, seed: int) -> list[np.ndarray]:
    """Per split, an independent random order of the trials of each stimulus (trials × stimuli)."""
    rng = np.random.default_rng(seed)
    return [np.argsort(rng.random((n_trials, n_stimuli)), axis=0) for _ in range(n_splits)]


def _half_means(block: np.ndarray, orders: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each split's two half-averaged tuning curves, splits × cells × stimuli each (NaN trials skipped).

    The first half of a split is the first ``n_trials // 2`` trials of its order, the second half
    the rest. Sums over a half are one matrix product per stimulus for every split at once (a 0/1
    trial mask), not a gather of the trials per split.
    """
    n_trials = block.shape[1]
    first = np.zeros((len(orders), *orders[0].shape))                          # splits × trials × stimuli
    np.put_along_axis(first, np.stack(orders)[:, : n_trials // 2], 1.0, axis=1)
    valid = np.isfinite(block)
    # stimuli × cells × trials, transposed in the input's dtype and then widened (4x faster than at once)
    by_stimulus = np.where(valid, block, 0).transpose(2, 0, 1).copy().astype(np.float64)
    counts = valid.transpose(2, 0, 1).copy().astype(np.float64)
    mask = np.ascontiguousarray(first.transpose(2, 1, 0))                      # stimuli × trials × splits
    sums = [by_stimulus @ mask, by_stimulus.sum(axis=2)[..., None]]            # first half, all trials
    n = [counts @ mask, counts.sum(axis=2)[..., None]]
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = sums[0] / n[0], (sums[1] - sums[0]) / (n[1] - n[0])
    return a.transpose(2, 1, 0), b.transpose(2, 1, 0)


def split_half_reliability(responses: np.ndarray, n_splits: int = DEFAULT_SPLITS, seed: int = 0) -> np.ndarray:
    """Per-cell split-half reliability, Spearman–Brown corrected, averaged over ``n_splits`` splits.

    For each split the trials of every stimulus are divided at random into two halves; the cell's
    two half-averaged tuning curves over stimuli are correlated (Pearson) and the correlation is
    stepped up to full length with Spearman–Brown. A cell that is constant gets NaN.
    """
    responses = _check_responses(responses)
    n_cells, n_trials, n_stimuli = responses.shape
    splits = _trial_splits(n_trials, n_stimuli, n_splits, seed)
    out = np.empty(n_cells)
    for start in range(0, n_cells, _CHUNK):
        a, b = _half_means(responses[start:start + _CHUNK], splits)
        out[start:start + _CHUNK] = np.mean([spearman_brown(_row_pearson(x, y)) for x, y in zip(a, b)], axis=0)
    return out


def oracle_correlation(responses: np.ndarray) -> np.ndarray:
    """Leave-one-trial-out (jackknife) oracle per cell, as in Lurz et al. (seed 004).

    Correlation, pooled over all trials and stimuli, between each single-trial response and the mean
    of the other trials of the same stimulus.
    """
    responses = _check_responses(responses)
    out = np.empty(responses.shape[0])
    for start in range(0, responses.shape[0], _CHUNK):
        x = responses[start:start + _CHUNK].astype(np.float64)
        valid = np.isfinite(x)
        counts = valid.sum(axis=1, keepdims=True)
        totals = np.where(valid, x, 0.0).sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            loo = (totals - x) / (counts - 1)
        n = x.shape[0]
        out[start:start + n] = _row_pearson(x.reshape(n, -1), np.where(valid, loo, np.nan).reshape(n, -1))
    return out


def select_reliable(reliability: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean mask of cells at or above ``threshold`` (NaN counts as unreliable)."""
    reliability = np.asarray(reliability, dtype=np.float64)
    return np.nan_to_num(reliability, nan=-np.inf) >= threshold


@dataclass(frozen=True)
class RDMCeiling:
    """A site RDM's noise ceiling and its bounds, in r² units (squared correlations).

    ``ceiling``: the split-half reliability of the RDM, Spearman–Brown corrected: the largest r² a
    model RDM can reach against the full-data RDM (mean over splits). ``lower`` and ``upper``: Nili et
    al. (2014)'s bounds with the two halves of each split as the two "subjects", computed as
    rsatoolbox's ``boot_noise_ceiling`` (method ``corr``): lower = the r of each half's RDM with the
    other half's (leave one subject out), upper = the mean r of each half's RDM with the pool of both
    (the mean of the z-scored half RDMs, the subject left in); each averaged over splits, then
    squared (keeping the sign of a negative r). For a split-half r ρ ≥ 0 the ceiling lies between
    them: ρ² ≤ 2ρ/(1+ρ) ≤ (1+ρ)/2.
    """

    ceiling: float
    lower: float
    upper: float


def rdm_noise_ceiling(responses: np.ndarray, n_splits: int = DEFAULT_SPLITS, seed: int = 0) -> RDMCeiling:
    """Noise ceiling of a site's RDM and its Nili bounds (``RDMCeiling``) from the same random split-halves.

    For each split, an RDM is built from each half's trial-averaged population responses and the two
    upper triangles are compared (Pearson).
    """
    responses = _check_responses(responses)
    _, n_trials, n_stimuli = responses.shape
    ceiling, lower, upper_r = [], [], []
    for a, b in zip(*_half_means(responses, _trial_splits(n_trials, n_stimuli, n_splits, seed))):
        halves = np.stack([upper(rdm(fill_missing(a).T)), upper(rdm(fill_missing(b).T))])
        r = float(pearson(halves[0], halves[1]))
        pooled = ((halves - halves.mean(axis=1, keepdims=True)) / halves.std(axis=1, keepdims=True)).mean(axis=0)
        ceiling.append(spearman_brown(r))
        lower.append(r)
        upper_r.append(float(np.mean(pearson(halves, pooled[None], axis=1))))
    low, high = float(np.mean(lower)), float(np.mean(upper_r))
    return RDMCeiling(float(np.mean(ceiling)), np.sign(low) * low ** 2, high ** 2)


def rdm_split_half_reliability(responses: np.ndarray, n_splits: int = DEFAULT_SPLITS, seed: int = 0) -> float:
    """Noise ceiling of a site's RDM: split-half reliability of the RDM, Spearman–Brown corrected.

    For each split, an RDM is built from each half's trial-averaged population responses and the two
    upper triangles are correlated (Pearson). The mean stepped-up correlation over splits estimates
    the highest r² a model RDM can reach against the full-data RDM.
    """
    return rdm_noise_ceiling(responses, n_splits, seed).ceiling


def fill_missing(means: np.ndarray) -> np.ndarray:
    """Replace NaN trial means (every trial of a stimulus missing) by the cell's mean over stimuli."""
    if not np.isnan(means).any():
        return means
    with _quiet_nanmean():
        fill = np.nanmean(means, axis=1, keepdims=True)
    return np.where(np.isnan(means), np.nan_to_num(fill), means)


def _check_responses(responses: np.ndarray) -> np.ndarray:
    responses = np.asarray(responses)
    if responses.ndim != 3:
        raise ValueError(f"responses must be cells × trials × stimuli, got shape {responses.shape}")
    if responses.shape[1] < 2:
        raise ValueError("reliability needs at least 2 trials per stimulus")
    return responses


@contextlib.contextmanager
def _quiet_nanmean():
    """Silence numpy's 'Mean of empty slice' warning: an all-missing slice is expected to give NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
