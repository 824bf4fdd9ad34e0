"""Figures a paper needs, drawn from a results directory (matplotlib, no display needed).

* ``leaderboard.png``: mean score over sites per model × weights with 95 % bootstrap CIs, per method.
* ``pretrained_vs_random.png``: each architecture's pretrained against its random mean score.
* ``best_layer_depth.png``: relative depth (0 = first layer, 1 = last) of each site's best layer,
  by visual area, over every multi-layer model: the layer–area correspondence question of seed 000.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .cache import atomic_path
from .data.dataset import AREAS
from .leaderboard import leaderboard, read_scores


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels(table: pd.DataFrame, width: float, height: float):
    """One titled panel per method: (figure, [(axes, that method's rows), ...])."""
    methods = list(table["method"].unique())
    fig, axes = _pyplot().subplots(1, len(methods), figsize=(width * len(methods), height), squeeze=False)
    for ax, method in zip(axes[0], methods):
        ax.set_title(method)
    return fig, [(ax, table[table["method"] == method]) for ax, method in zip(axes[0], methods)]


def leaderboard_figure(table: pd.DataFrame):
    fig, panels = _panels(table, 5, max(2.5, 0.3 * table.groupby("method").size().max() + 1))
    for ax, rows in panels:
        rows = rows.sort_values("mean_score")
        labels = [f"{m} ({w})" for m, w in zip(rows["model"], rows["weights"])]
        err = np.vstack([rows["mean_score"] - rows["ci_low"], rows["ci_high"] - rows["mean_score"]])
        colors = ["tab:blue" if w == "pretrained" else "tab:gray" for w in rows["weights"]]
        ax.barh(labels, rows["mean_score"], xerr=np.nan_to_num(err), color=colors)
        ax.set_xlabel("mean score over sites (95% CI)")
    return fig


def pretrained_vs_random_figure(table: pd.DataFrame):
    fig, panels = _panels(table, 4.5, 4.5)
    for ax, rows in panels:
        pairs = rows.pivot_table(index="model", columns="weights", values="mean_score")
        both = {"pretrained", "random"} <= set(pairs.columns)
        pairs = pairs.dropna(subset=["pretrained", "random"]) if both else pairs.iloc[0:0]
        if len(pairs):
            ax.scatter(pairs["random"], pairs["pretrained"])
            for model, row in pairs.iterrows():
                ax.annotate(model, (row["random"], row["pretrained"]), fontsize=7)
            lo = float(np.nanmin(pairs[["random", "pretrained"]].to_numpy()))
            hi = float(np.nanmax(pairs[["random", "pretrained"]].to_numpy()))
            ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set_xlabel("random weights")
        ax.set_ylabel("pretrained")
    return fig


def best_layer_depth_figure(scores: pd.DataFrame):
    fig, panels = _panels(scores, 5, 3.5)
    for ax, rows in panels:
        rows = rows[rows["n_layers"] > 1]  # a one-layer model has no depth
        areas = [a for a in AREAS if a in set(rows["area"])]
        ax.boxplot([rows.loc[rows["area"] == a, "best_layer_depth"] for a in areas])
        ax.set_xticks(range(1, len(areas) + 1), areas)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("relative depth of best layer")
    return fig


def save_figures(directory: str | Path = "results", out: str | Path | None = None) -> list[Path]:
    """Draw the three figures for every run under ``directory`` into ``out`` (default DIR/figures)."""
    out = Path(out) if out is not None else Path(directory) / "figures"
    scores = read_scores(directory)
    table = leaderboard(directory)
    plt = _pyplot()
    written = []
    for name, fig in (("leaderboard.png", leaderboard_figure(table)),
                      ("pretrained_vs_random.png", pretrained_vs_random_figure(table)),
                      ("best_layer_depth.png", best_layer_depth_figure(scores))):
        fig.tight_layout()
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
        plt.close(fig)
        written.append(out / name)
    return written
