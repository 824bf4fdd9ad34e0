"""Does an architecture's size, depth, accuracy or cost predict how well it scores? (seed 001, sec. 3.1)

Across the architectures of one results group (not the Taskonomy encoders, which share one
architecture, nor the fixed baselines), the mean score of each model is correlated with each catalogue
property: Pearson (the paper's test) and Spearman, with scipy's p-values and a seeded percentile
bootstrap CI of r (architectures resampled with replacement; a resample in which the property or the
score is constant has no r and is left out). Random-weight models are analysed the same way, as a
control: a property that predicts random-weight scores too is about the architecture, not training.
Identical networks (random vgg16 and vgg16_bn: ``mouse_rsa.identical``) are one architecture here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..rdm import pearson
from .models import GROUP, PROPERTIES, annotate, model_means

COLUMNS = [*GROUP, "weights", "property", "statistic", "n_models", "r", "p", "ci_low", "ci_high",
           "n_resamples", "bootstrap_seed"]
MIN_MODELS = 5  # fewer: most bootstrap resamples hold ≤ 2 distinct models, and the CI is meaningless
CONTROL_WEIGHTS = ("pretrained", "random")
BATCH = 1000  # bootstrap resamples evaluated at once (bounds the pairwise rank comparison's memory)


def _ranks(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) along ``axis``, as ``scipy.stats.rankdata``
    but vectorised by pairwise comparison (scipy 1.10 loops over the other axes)."""
    x = np.moveaxis(x, axis, -1)
    less = (x[..., None, :] < x[..., :, None]).sum(axis=-1)
    equal = (x[..., None, :] == x[..., :, None]).sum(axis=-1)
    return np.moveaxis(less + (equal + 1) / 2, -1, axis)


def _spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman ρ along ``axis``: Pearson r of the average ranks."""
    return pearson(_ranks(x, axis), _ranks(y, axis), axis=axis)


STATISTICS = {"pearson": (stats.pearsonr, pearson), "spearman": (stats.spearmanr, _spearman)}


def correlation(x: np.ndarray, y: np.ndarray, statistic: str = "pearson", n_resamples: int = 10_000,
                seed: int = 0) -> dict[str, float]:
    """r, p (scipy) and the 95 % percentile-bootstrap CI of r over (x, y) pairs.

    x, y: (n,) with n ≥ 3 and neither constant.
    """
    test, vectorised = STATISTICS[statistic]
    result = test(x, y)
    boot = stats.bootstrap((x, y), vectorised, paired=True, vectorized=True, n_resamples=n_resamples,
                           method="percentile", batch=BATCH, random_state=np.random.default_rng(seed))
    low, high = np.nanpercentile(boot.bootstrap_distribution, [2.5, 97.5])
    return {"r": float(result[0]), "p": float(result[1]), "ci_low": float(low), "ci_high": float(high)}


def property_correlations(scores: pd.DataFrame, models: pd.DataFrame, value: str = "score",
                          n_resamples: int = 10_000, seed: int = 0,
                          identical: dict[tuple, list[str]] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Correlations of each architecture's mean ``value`` with each property, per GROUP × weights, and one
    line per group in which identical networks were counted once.

    scores: site scores (contract columns); models: ``model_table`` of the catalogue; identical:
    (GROUP..., model, weights) → the "model (weights)" that are the same network (``mouse_rsa.identical``):
    of each such set only the first model by name is kept (random vgg16 and vgg16_bn are one point).
    One row per GROUP × weights (pretrained; random as the control) × property × statistic with at least
    ``MIN_MODELS`` architectures that vary in both; ``COLUMNS``.
    """
    means = annotate(model_means(scores, value), models)
    means = means[(means["kind"] == "architecture") & means["weights"].isin(CONTROL_WEIGHTS)]
    rows, lines = [], []
    for key, group in means.groupby([*GROUP, "weights"], sort=False):
        group, dropped = _one_per_network(group.sort_values("model"), key, identical or {})
        if dropped:
            lines.append(f"{' '.join(str(k) for i, k in enumerate(key) if i != 1)}: counted once as the same network: "
                         + "; ".join(dropped))
        for prop in PROPERTIES:
            known = group.dropna(subset=[prop])
            x, y = known[prop].to_numpy(float), known["mean_score"].to_numpy(float)
            if len(known) < MIN_MODELS or np.ptp(x) == 0 or np.ptp(y) == 0:
                continue
            for statistic in STATISTICS:
                result = correlation(x, y, statistic, n_resamples, seed)
                rows.append({**dict(zip([*GROUP, "weights"], key)), "property": prop, "statistic": statistic,
                             "n_models": len(known), **result, "n_resamples": n_resamples, "bootstrap_seed": seed})
    return pd.DataFrame(rows, columns=COLUMNS), lines


def _one_per_network(group: pd.DataFrame, key: tuple, identical: dict[tuple, list[str]]) -> tuple[pd.DataFrame, list[str]]:
    """``group`` (one row per model, sorted) without the models identical to a model kept before them."""
    dataset, settings_key, method, layer_set, weights = key
    keep, dropped, seen = [], [], set()
    for model in group["model"]:
        if model in seen:
            continue
        same = {m.rsplit(" (", 1)[0] for m in identical.get((dataset, method, layer_set, settings_key, model, weights), [])}
        twins = sorted(same & set(group["model"]))
        seen.update(twins)
        keep.append(model)
        if twins:
            dropped.append(f"{model} = {', '.join(twins)}")
    return group[group["model"].isin(keep)], dropped


def summary_lines(table: pd.DataFrame) -> list[str]:
    """One line per group × weights: the Pearson r of each property, as the paper reports them."""
    lines = []
    pearson = table[table["statistic"] == "pearson"]
    for key, group in pearson.groupby([*GROUP, "weights"], sort=False):
        dataset, _, method, layer_set, weights = key
        parts = [f"{row.property} r = {row.r:+.3f} (p = {row.p:.3g}, 95% CI [{row.ci_low:+.2f}, {row.ci_high:+.2f}], "
                 f"n = {row.n_models})" for row in group.itertuples()]
        lines.append(f"{dataset} {method} {layer_set} {weights}: mean score vs " + "; ".join(parts))
    return lines
