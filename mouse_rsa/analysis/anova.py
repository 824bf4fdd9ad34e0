"""Which task cluster predicts which cortical area? Two-way ANOVA of score on cluster × area (seed 001, 3.3).

Observations are the Taskonomy encoders' site scores (one per task × site, averaged over seeds), per
results group and weights, so latent-only and all-layer results are analysed separately. The model is
``score ~ C(cluster) * C(area)`` fitted by statsmodels ``ols``; ``anova_lm(typ=2)`` gives type II sums
of squares (each main effect adjusted for the other, the interaction for both), the usual choice for an
unbalanced design (clusters hold different numbers of tasks, areas different numbers of sites).
η² = SS_effect / SS_total (total sum of squares about the grand mean); partial η² = SS_effect /
(SS_effect + SS_residual). A factor with one level is left out of the model, and the interaction when
no cell has a second observation.

Post-hoc tests are Welch t-tests between every pair of clusters, pooled over areas (family
``cluster``) and within each area (family ``cluster_within_area``), Bonferroni-corrected within each
family (statsmodels ``multipletests``).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from .models import GROUP, annotate, site_means

SS_TYPE = 2
ANOVA_COLUMNS = [*GROUP, "weights", "effect", "df", "sum_sq", "mean_sq", "F", "p", "eta_sq", "partial_eta_sq",
                 "ss_type", "n_observations", "n_tasks"]
POSTHOC_COLUMNS = [*GROUP, "weights", "family", "area", "cluster_1", "cluster_2", "mean_1", "mean_2", "n_1", "n_2",
                   "difference", "t", "p", "p_bonferroni", "n_comparisons"]
EFFECTS = {"C(cluster)": "cluster", "C(area)": "area", "C(cluster):C(area)": "cluster:area", "Residual": "residual"}


def task_observations(scores: pd.DataFrame, models: pd.DataFrame, value: str = "score",
                      identical: dict[tuple, list[str]] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Site scores of the models that carry a taskonomic cluster, one per model × site, with ``cluster``,
    and one line per group left out because some of its tasks are one network (``mouse_rsa.identical``:
    (GROUP..., model, weights) → the same networks), e.g. every random Taskonomy encoder: their clusters
    cannot differ, and an F test over them would print F = 0, p = 1 about nothing."""
    observations = annotate(site_means(scores, value), models)
    observations = observations[observations["cluster"] != ""].reset_index(drop=True)
    refused, keep = [], np.ones(len(observations), bool)
    for key, rows in observations.groupby([*GROUP, "weights"], sort=False):
        dataset, settings_key, method, layer_set, weights = key
        tasks = set(rows["model"])
        same = sorted(m for m in tasks if tasks & {t.rsplit(" (", 1)[0] for t in (identical or {}).get(
            (dataset, method, layer_set, settings_key, m, weights), [])})
        if same:
            refused.append(f"{dataset} {method} {layer_set} {weights}: {len(same)} tasks are one network "
                           f"({', '.join(same[:4])}{' ...' if len(same) > 4 else ''}: every layer RDM identical)")
            keep[rows.index] = False
    return observations[keep].reset_index(drop=True), refused


def _formula(data: pd.DataFrame) -> str:
    terms = [f"C({f})" for f in ("cluster", "area") if data[f].nunique() > 1]
    cells = data.groupby(["cluster", "area"]).ngroups
    interaction = len(terms) == 2 and len(data) > cells
    return "score ~ " + (" * ".join(terms) if interaction else " + ".join(terms))


def two_way_anova(data: pd.DataFrame) -> pd.DataFrame:
    """ANOVA table of one group's observations (columns cluster, area, score; ≥ 2 clusters).

    Rows: one per effect and the residual; columns effect, df, sum_sq, mean_sq, F, p, eta_sq,
    partial_eta_sq.
    """
    table = anova_lm(ols(_formula(data), data=data).fit(), typ=SS_TYPE)
    total = float(((data["score"] - data["score"].mean()) ** 2).sum())
    residual = float(table.loc["Residual", "sum_sq"])
    table = table.rename(index=EFFECTS).rename(columns={"PR(>F)": "p"})
    table["mean_sq"] = table["sum_sq"] / table["df"]
    table["eta_sq"] = table["sum_sq"] / total
    table["partial_eta_sq"] = table["sum_sq"] / (table["sum_sq"] + residual)
    table.loc["residual", ["partial_eta_sq", "F", "p"]] = np.nan
    return table.rename_axis("effect").reset_index()


def cluster_anova(observations: pd.DataFrame) -> pd.DataFrame:
    """``two_way_anova`` per GROUP × weights of ``task_observations`` with at least two clusters."""
    frames = []
    for key, data in observations.groupby([*GROUP, "weights"], sort=False):
        if data["cluster"].nunique() < 2:
            continue
        table = two_way_anova(data)
        frames.append(table.assign(**dict(zip([*GROUP, "weights"], key)), ss_type=SS_TYPE,
                                   n_observations=len(data), n_tasks=data["model"].nunique()))
    return pd.concat(frames, ignore_index=True)[ANOVA_COLUMNS] if frames else pd.DataFrame(columns=ANOVA_COLUMNS)


def _pairs(data: pd.DataFrame, family: str, area: str) -> list[dict]:
    """Welch t-tests between every pair of clusters in ``data`` with at least two observations each."""
    groups = {str(c): g["score"].to_numpy() for c, g in data.groupby("cluster") if len(g) > 1}
    rows = []
    for a, b in combinations(sorted(groups), 2):
        t = stats.ttest_ind(groups[a], groups[b], equal_var=False)
        rows.append({"family": family, "area": area, "cluster_1": a, "cluster_2": b,
                     "mean_1": groups[a].mean(), "mean_2": groups[b].mean(), "n_1": len(groups[a]),
                     "n_2": len(groups[b]), "difference": groups[a].mean() - groups[b].mean(),
                     "t": float(t.statistic), "p": float(t.pvalue)})
    return rows


def posthoc(observations: pd.DataFrame) -> pd.DataFrame:
    """Bonferroni-corrected pairwise cluster comparisons per GROUP × weights (``POSTHOC_COLUMNS``)."""
    frames = []
    for key, data in observations.groupby([*GROUP, "weights"], sort=False):
        families = [pd.DataFrame(_pairs(data, "cluster", "all")),
                    pd.DataFrame([r for area, d in data.groupby("area", sort=False)
                                  for r in _pairs(d, "cluster_within_area", str(area))])]
        for family in families:
            if family.empty:
                continue
            family["p_bonferroni"] = multipletests(family["p"].fillna(1.0), method="bonferroni")[1]
            family["n_comparisons"] = len(family)
            frames.append(family.assign(**dict(zip([*GROUP, "weights"], key))))
    return pd.concat(frames, ignore_index=True)[POSTHOC_COLUMNS] if frames else pd.DataFrame(columns=POSTHOC_COLUMNS)


def summary_lines(table: pd.DataFrame) -> list[str]:
    """One line per group × weights: F, p and η² of every effect."""
    lines = []
    for key, group in table.groupby([*GROUP, "weights"], sort=False):
        dataset, _, method, layer_set, weights = key
        residual_df = int(group.loc[group["effect"] == "residual", "df"].iloc[0])
        parts = [f"{row.effect} F({int(row.df)}, {residual_df}) = {row.F:.2f}, p = {row.p:.3g}, η² = {row.eta_sq:.3f}"
                 for row in group.itertuples() if row.effect != "residual"]
        lines.append(f"{dataset} {method} {layer_set} {weights} ANOVA (type {SS_TYPE} SS, "
                     f"{int(group['n_observations'].iloc[0])} task × site scores): " + "; ".join(parts))
    return lines
