"""Figures of the model zoo (seed 001, 3.1): the leaderboard, pretrained against random weights, the
architecture hierarchy, and mean score against each architecture's properties.

The first three draw the leaderboard's rows (``leaderboard.rank``): one bar or point per model ×
weights, its model seeds aggregated, with the interval over stimuli and seeds; scores are
chance-corrected (the mean score minus the score a fit to permuted stimuli gets), what the
leaderboard ranks by.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.models import PROPERTIES, annotate, model_means
from ..analysis.properties import MIN_MODELS
from .style import OTHER_COLOR, WEIGHT_COLORS, WEIGHT_LABELS, Figure, grid, method_panels, score_label

PROPERTY_LABELS = {"n_params": "parameters (millions)", "depth": "depth (layers with weights)",
                   "top1": "ImageNet top-1 (%)", "gflops": "GFLOPs"}
CORRECTED = "score − chance level (95% CI over stimuli and seeds)"


def corrected_interval(rows: pd.DataFrame) -> np.ndarray:
    """Error bar lengths (2, n) of the chance-corrected score from the leaderboard's CI (0 where none)."""
    low, high = rows["ci_low"] - rows["chance_mean"], rows["ci_high"] - rows["chance_mean"]
    return np.nan_to_num(np.vstack([rows["mean_score_corrected"] - low, high - rows["mean_score_corrected"]]))


def _weights_legend(ax, kinds, ceiling: bool = False, below: bool = False) -> None:
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(color=WEIGHT_COLORS.get(k, OTHER_COLOR), label=label)
                             for k, label in WEIGHT_LABELS.items() if k in kinds]
    if ceiling:
        handles.append(Line2D([], [], color="k", linestyle="--", lw=0.8, label="noise ceiling (√ of mean r² ceiling)"))
    where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncol": 2} if below else \
        {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
    ax.legend(handles=handles, fontsize=8, frameon=False, **where)


def leaderboard_figure(table: pd.DataFrame) -> Figure:
    """Bars of ``leaderboard.rank``: chance-corrected mean score per model × weights (seeds aggregated)
    with its interval over stimuli and seeds, per method × layer set, best at the top; the noise ceiling
    (√ of the mean r² ceiling) dashed where known."""
    labels = [f"{m} ({w}{f', {n} seeds' if n > 1 else ''})"
              for m, w, n in zip(table["model"], table["weights"], table["n_seeds"])]
    table = table.assign(label=labels)
    height = max(2.5, 0.3 * table.groupby(["method", "layer_set"]).size().max() + 1.8)
    fig, panels = method_panels(table, 3.2 + 0.075 * max(map(len, labels)), height)
    for ax, rows in panels:
        rows = rows.sort_values("mean_score_corrected")
        ax.barh(rows["label"], rows["mean_score_corrected"], xerr=corrected_interval(rows),
                color=[WEIGHT_COLORS.get(w, OTHER_COLOR) for w in rows["weights"]])
        ax.axvline(0, color="k", lw=0.6)
        ceiling = np.sqrt(rows["mean_ceiling"].mean())
        if np.isfinite(ceiling):
            ax.axvline(ceiling, color="k", lw=0.8, ls="--")
        ax.set_xlabel(CORRECTED)          # the panel's title names the metric
        _weights_legend(ax, set(rows["weights"]), ceiling=bool(np.isfinite(ceiling)), below=True)
    return fig


def pretrained_vs_random_figure(table: pd.DataFrame, tests: pd.DataFrame | None = None) -> Figure | None:
    """Each architecture's pretrained against its random chance-corrected score, both with their
    intervals, and the identity line; with ``tests`` (``comparison.compare``'s table) a filled marker is
    a significant difference (Holm-adjusted paired bootstrap p < 0.05), an open one is not."""
    keys = ["method", "layer_set", "settings_key", "model"]
    wide = table.pivot_table(index=keys, columns="weights", values=["mean_score_corrected", "ci_low", "ci_high",
                                                                    "chance_mean"])
    if not {"pretrained", "random"} <= set(wide.columns.get_level_values(1)):
        return None
    pairs = pd.DataFrame({f"{v}_{w}": wide[v][w] for v in wide.columns.levels[0] for w in ("pretrained", "random")})
    pairs = pairs.dropna(subset=["mean_score_corrected_pretrained", "mean_score_corrected_random"]).reset_index()
    if pairs.empty:
        return None
    labels = table.drop_duplicates("settings_key").set_index("settings_key")["settings"]
    pairs["settings"] = pairs["settings_key"].map(labels)
    if tests is not None and not tests.empty:
        p = tests.rename(columns={"model_a": "model"}).set_index(keys)["p_holm"]
        pairs["significant"] = pairs.set_index(keys).index.map(p).to_numpy() < 0.05
    fig, panels = method_panels(pairs, 4.8, 4.5)
    for ax, rows in panels:
        err = {w: corrected_interval(pd.DataFrame({c: rows[f"{c}_{w}"] for c in
                                                   ("mean_score_corrected", "ci_low", "ci_high", "chance_mean")}))
               for w in ("pretrained", "random")}
        x, y = rows["mean_score_corrected_random"], rows["mean_score_corrected_pretrained"]
        ax.errorbar(x, y, xerr=err["random"], yerr=err["pretrained"], fmt="none", ecolor="#bbbbbb", lw=0.8)
        filled = rows["significant"].to_numpy(bool) if "significant" in rows else np.zeros(len(rows), bool)
        ax.scatter(x[filled], y[filled], color=WEIGHT_COLORS["pretrained"], zorder=3,
                   label="different (paired bootstrap, Holm p < 0.05)")
        ax.scatter(x[~filled], y[~filled], facecolor="white", edgecolor=WEIGHT_COLORS["pretrained"], zorder=3,
                   label="not significantly different" if "significant" in rows else "not tested")
        for row in rows.itertuples():
            ax.annotate(row.model, (row.mean_score_corrected_random, row.mean_score_corrected_pretrained),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
        lo, hi = np.nanmin([x.min(), y.min()]), np.nanmax([x.max(), y.max()])
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, label="pretrained = random")
        ax.set_xlabel("random weights: score − chance (95% CI)")
        ax.set_ylabel("pretrained: score − chance (95% CI)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.16), frameon=False)
    return fig


def architecture_figure(table: pd.DataFrame, models: pd.DataFrame) -> Figure | None:
    """The architecture hierarchy: pretrained and random chance-corrected scores with their intervals,
    architectures sorted by pretrained score (random where there is none); a missing row is a gap."""
    data = table[models["kind"].reindex(table["model"]).fillna("architecture").to_numpy() == "architecture"]
    if data.empty:
        return None
    height = 0.35 * data.groupby(["dataset", "method", "layer_set", "settings"])["model"].nunique().max() + 1.4
    fig, panels = grid(data, ["dataset", "method", "settings"], "layer_set", (6.0, max(3.0, height)))
    for ax, rows in panels:
        order = (rows.assign(first=rows["weights"] != "pretrained").sort_values(["first", "mean_score_corrected"])
                 .drop_duplicates("model")["model"])
        position = {m: i for i, m in enumerate(order)}
        kinds = [w for w in ("pretrained", "random") if (rows["weights"] == w).any()]
        width = 0.8 / len(kinds)                      # side by side when both were run, centred otherwise
        for k, weights in enumerate(kinds):
            group = rows[rows["weights"] == weights]
            offset = (len(kinds) - 1) / 2 * width - k * width
            ax.barh(group["model"].map(position).to_numpy() + offset, group["mean_score_corrected"], height=width,
                    xerr=corrected_interval(group), color=WEIGHT_COLORS[weights])
        ax.axvline(0, color="k", lw=0.6)
        ax.set_yticks(range(len(order)), list(order), fontsize=8)
        ax.set_xlabel(CORRECTED)
        _weights_legend(ax, set(rows["weights"]))
    return fig


def property_figure(scores: pd.DataFrame, models: pd.DataFrame) -> Figure | None:
    """Mean score of each pretrained architecture against its properties, least-squares line and Pearson r."""
    means = annotate(model_means(scores), models)
    means = means[(means["kind"] == "architecture") & (means["weights"] == "pretrained")]
    long = means.melt(id_vars=["dataset", "method", "layer_set", "model", "mean_score"], value_vars=list(PROPERTIES),
                      var_name="property", value_name="x").dropna(subset=["x"])
    enough = long.groupby(["dataset", "method", "layer_set", "property"])["x"].transform(
        lambda x: len(x) >= MIN_MODELS and np.ptp(x) > 0).astype(bool)
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
        ax.set_ylabel(score_label(rows["method"].iloc[0], "mean over sites"))
    return fig
