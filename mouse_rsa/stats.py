"""Statistics for comparing models over neural sites: bootstrap CIs, paired tests, correction."""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.multitest import multipletests

DEFAULT_BOOTSTRAP = 10_000
# result columns that keep comparisons apart, where a table has them
SCOPE = ("dataset", "settings_key", "method", "layer_set")
PAIRED_COLUMNS = ["model", "model_seed", "n_sites", "mean_difference", "t", "p_ttest", "p_wilcoxon"]


def bootstrap_ci(values: ArrayLike, confidence: float = 0.95, n_resamples: int = DEFAULT_BOOTSTRAP,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (NaNs dropped); (nan, nan) for < 2 values."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if len(array) < 2:
        return float("nan"), float("nan")
    if np.ptp(array) == 0:
        return float(array[0]), float(array[0])
    res = stats.bootstrap((array,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _paired_row(group: pd.DataFrame) -> dict[str, float] | None:
    """Paired t-test and Wilcoxon of pretrained against random scores over shared sites; None if < 2."""
    wide = group.pivot_table(index="site", columns="weights", values="score")
    if not {"pretrained", "random"} <= set(wide.columns):
        return None
    wide = wide.dropna(subset=["pretrained", "random"])
    diff = wide["pretrained"] - wide["random"]
    if len(diff) < 2:
        return None
    t = stats.ttest_rel(wide["pretrained"], wide["random"])
    w = stats.wilcoxon(diff) if np.any(diff != 0) else None  # no difference at all: nothing to test (NaN, not p = 1)
    return {"n_sites": len(diff), "mean_difference": float(diff.mean()), "t": float(t.statistic),
            "p_ttest": float(t.pvalue), "p_wilcoxon": float(w.pvalue) if w is not None else float("nan")}


def paired_comparison(scores: pd.DataFrame, method: str | None = None) -> pd.DataFrame:
    """Pretrained vs random per architecture over the sites both were scored on.

    One row per scope (dataset, settings_key, method, layer_set: those ``scores`` has) × model × model seed:
    mean difference, paired t-test and Wilcoxon signed-rank p-values, and Bonferroni- and
    Holm-corrected t-test p-values across the architectures of a scope.
    """
    data = scores if method is None else scores[scores["method"] == method]
    scope = [c for c in SCOPE if c in data.columns]
    rows = []
    for key, group in data.groupby([*scope, "model", "model_seed"]):
        row = _paired_row(group)
        if row is not None:
            rows.append({**dict(zip([*scope, "model", "model_seed"], key)), **row})
    table = pd.DataFrame(rows, columns=[*scope, *PAIRED_COLUMNS])
    for name, how in (("p_bonferroni", "bonferroni"), ("p_holm", "holm")):
        table[name] = np.nan
        for _, family in table.groupby(scope):
            table.loc[family.index, name] = multipletests(family["p_ttest"].fillna(1.0), method=how)[1]
    return table
