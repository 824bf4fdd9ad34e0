"""Figures of the model zoo (seed 001, 3.1): the leaderboard, pretrained against random weights, the
architecture hierarchy, and mean score against each architecture's properties."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.models import PROPERTIES, annotate, model_means
from .style import OTHER_COLOR, WEIGHT_COLORS, Figure, error_bars, grid, method_panels, summarise

PROPERTY_LABELS = {"n_params": "parameters (millions)", "depth": "depth (layers with weights)",
                   "top1": "ImageNet top-1 (%)", "gflops": "GFLOPs"}


def leaderboard_figure(table: pd.DataFrame) -> Figure:
    """Bars of ``leaderboard.rank``: mean score per model × weights with its CI, per method × layer set."""
    longest = max(len(f"{m} ({w})") for m, w in zip(table["model"], table["weights"]))
    height = max(2.5, 0.3 * table.groupby(["method", "layer_set"]).size().max() + 1)
    fig, panels = method_panels(table, 3.5 + 0.07 * longest, height)  # room for the model labels
    for ax, rows in panels:
        rows = rows.sort_values("mean_score")
        labels = [f"{m} ({w})" for m, w in zip(rows["model"], rows["weights"])]
        err = np.vstack([rows["mean_score"] - rows["ci_low"], rows["ci_high"] - rows["mean_score"]])
        ax.barh(labels, rows["mean_score"], xerr=np.nan_to_num(err),
                color=[WEIGHT_COLORS.get(w, OTHER_COLOR) for w in rows["weights"]])
        ax.set_xlabel("mean score over sites (95% CI)")
    return fig


def pretrained_vs_random_figure(table: pd.DataFrame) -> Figure | None:
    """Each architecture's pretrained against its random mean score, with the identity line."""
    pairs = table.pivot_table(index=["method", "layer_set", "model"], columns="weights", values="mean_score")
    if not {"pretrained", "random"} <= set(pairs.columns):
        return None
    pairs = pairs.dropna(subset=["pretrained", "random"]).reset_index()
    if pairs.empty:
        return None
    fig, panels = method_panels(pairs, 4.5, 4.5)
    for ax, rows in panels:
        ax.scatter(rows["random"], rows["pretrained"], color=WEIGHT_COLORS["pretrained"])
        for row in rows.itertuples():
            ax.annotate(row.model, (row.random, row.pretrained), fontsize=7)
        lo, hi = np.nanmin(rows[["random", "pretrained"]]), np.nanmax(rows[["random", "pretrained"]])
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set_xlabel("mean score, random weights")
        ax.set_ylabel("mean score, pretrained")
    return fig


def architecture_figure(scores: pd.DataFrame, models: pd.DataFrame) -> Figure | None:
    """The architecture hierarchy: pretrained and random bars with CIs, sorted by pretrained score."""
    data = annotate(scores, models)
    data = data[data["kind"] == "architecture"]
    if data.empty:
        return None
    summary = summarise(data, ["dataset", "method", "layer_set", "model", "weights"])
    height = 0.35 * summary.groupby(["dataset", "method", "layer_set"])["model"].nunique().max() + 1.2
    fig, panels = grid(summary, ["dataset", "method"], "layer_set", (5.5, max(3.0, height)))
    for ax, rows in panels:
        order = rows.sort_values(["weights", "mean"]).drop_duplicates("model", keep="first")["model"]
        position = {m: i for i, m in enumerate(order)}
        for offset, (weights, group) in zip((0.2, -0.2), rows.groupby("weights")):
            y = group["model"].map(position).to_numpy() + offset
            ax.barh(y, group["mean"], height=0.4, xerr=error_bars(group), label=weights,
                    color=WEIGHT_COLORS.get(weights, OTHER_COLOR))
        ax.set_yticks(range(len(order)), list(order), fontsize=8)
        ax.set_xlabel("mean score over sites (95% CI)")
        ax.legend(fontsize=8, loc="lower right")
    return fig


def property_figure(scores: pd.DataFrame, models: pd.DataFrame) -> Figure | None:
    """Mean score of each pretrained architecture against its properties, least-squares line and Pearson r."""
    means = annotate(model_means(scores), models)
    means = means[(means["kind"] == "architecture") & (means["weights"] == "pretrained")]
    long = means.melt(id_vars=["dataset", "method", "layer_set", "model", "mean_score"], value_vars=list(PROPERTIES),
                      var_name="property", value_name="x").dropna(subset=["x"])
    enough = long.groupby(["dataset", "method", "layer_set", "property"])["x"].transform(
        lambda x: len(x) >= 3 and np.ptp(x) > 0).astype(bool)
    long = long[enough]
    if long.empty:
        return None
    fig, panels = grid(long, ["dataset", "method", "layer_set"], "property", (3.6, 3.2), order=list(PROPERTIES))
    for ax, rows in panels:
        prop = rows["property"].iloc[0]
        x = rows["x"].to_numpy(float) / (1e6 if prop == "n_params" else 1.0)
        fit = stats.linregress(x, rows["mean_score"])
        ax.scatter(x, rows["mean_score"], color=WEIGHT_COLORS["pretrained"], s=18)
        line = np.linspace(x.min(), x.max(), 2)
        ax.plot(line, fit.intercept + fit.slope * line, color="k", lw=1)
        row = ax.get_title().replace(f" · {prop}", "")
        ax.set_title(f"{row} · pretrained\nr = {fit.rvalue:+.2f} (p = {fit.pvalue:.2g}, n = {len(x)})", fontsize=9)
        ax.set_xlabel(PROPERTY_LABELS[prop])
        ax.set_ylabel("mean score over sites")
    return fig
