"""Statistics for comparing models over neural sites: bootstrap CIs, paired tests, correction."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

DEFAULT_BOOTSTRAP = 10_000


def bootstrap_ci(values, confidence: float = 0.95, n_resamples: int = DEFAULT_BOOTSTRAP,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (NaNs dropped); (nan, nan) for < 2 values."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    res = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_comparison(scores: pd.DataFrame, method: str | None = None) -> pd.DataFrame:
    """Pretrained vs random per architecture over the sites both were scored on.

    One row per dataset × method × model × seed: mean difference, paired t-test and Wilcoxon
    signed-rank p-values, and Bonferroni- and Holm-corrected t-test p-values across architectures.
    """
    data = scores if method is None else scores[scores["method"] == method]
    rows = []
    for (dataset, meth, model, seed), group in data.groupby(["dataset", "method", "model", "seed"]):
        wide = group.pivot_table(index="site", columns="weights", values="score")
        if not {"pretrained", "random"} <= set(wide.columns):
            continue
        wide = wide.dropna(subset=["pretrained", "random"])
        diff = wide["pretrained"] - wide["random"]
        if len(diff) < 2:
            continue
        t = stats.ttest_rel(wide["pretrained"], wide["random"])
        w = stats.wilcoxon(diff) if np.any(diff != 0) else None
        rows.append({"dataset": dataset, "method": meth, "model": model, "seed": seed, "n_sites": len(diff),
                     "mean_difference": float(diff.mean()), "t": float(t.statistic), "p_ttest": float(t.pvalue),
                     "p_wilcoxon": float(w.pvalue) if w is not None else 1.0})
    table = pd.DataFrame(rows, columns=["dataset", "method", "model", "seed", "n_sites", "mean_difference",
                                        "t", "p_ttest", "p_wilcoxon"])
    for name, how in (("p_bonferroni", "bonferroni"), ("p_holm", "holm")):
        table[name] = np.nan
        for _, idx in table.groupby(["dataset", "method"]).groups.items():
            table.loc[idx, name] = multipletests(table.loc[idx, "p_ttest"].fillna(1.0), method=how)[1]
    return table
