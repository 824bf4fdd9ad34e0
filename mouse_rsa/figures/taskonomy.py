"""Figures of the neural taskonomy (seed 001, 3.2–3.3): the task hierarchy, latent and all layers
side by side, and the taskonomic signatures (score and joint-NNLS weight share by cluster and area)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.anova import task_observations
from .style import (
    Figure,
    area_order,
    ceiling_handle,
    ceiling_r,
    cluster_color,
    cluster_legend,
    cluster_order,
    error_bars,
    grid,
    grouped_bars,
    score_label,
    summarise,
)


def task_figure(scores: pd.DataFrame, models: pd.DataFrame) -> Figure | None:
    """The task hierarchy: one bar per Taskonomy task coloured by cluster; latent and all layers side by side."""
    data, _ = task_observations(scores, models)
    if data.empty:
        return None
    summary = summarise(data, ["dataset", "method", "weights", "layer_set", "model", "cluster"])
    height = 0.3 * summary.groupby(["dataset", "method", "weights", "layer_set"]).size().max() + 1.2
    fig, panels = grid(summary, ["dataset", "method", "weights"], "layer_set", (5.0, max(3.0, height)))
    drew_ceiling = False
    for ax, rows in panels:
        rows = rows.sort_values("mean")
        labels = rows["model"].str.removeprefix("taskonomy_")
        ax.barh(labels, rows["mean"], xerr=error_bars(rows), color=[cluster_color(c) for c in rows["cluster"]])
        ceiling = ceiling_r(scores[_same_panel(scores, rows.iloc[0])])
        if np.isfinite(ceiling):
            ax.axvline(ceiling, color="k", linestyle="--", lw=1)
            drew_ceiling = True
        ax.tick_params(axis="y", labelsize=8)
        ax.set_xlabel(score_label(rows["method"].iloc[0]))
    cluster_legend(fig, summary["cluster"], extra=[ceiling_handle()] if drew_ceiling else [])
    return fig


def _same_panel(data: pd.DataFrame, row: pd.Series) -> np.ndarray:
    return np.logical_and.reduce([(data[c] == row[c]).to_numpy() for c in ("dataset", "method", "weights",
                                                                          "layer_set")])


def signature_figure(scores: pd.DataFrame, models: pd.DataFrame, areas: pd.DataFrame | None = None) -> Figure | None:
    """Taskonomic signatures: per area and task cluster, the mean score (left) and, where the joint
    NNLS was run, each cluster's weight share (right; the dash is the permutation null's mean)."""
    data, _ = task_observations(scores, models)
    if data.empty:
        return None
    summary = summarise(data, ["dataset", "method", "layer_set", "weights", "area", "cluster"])
    panels_data = [summary.assign(panel="score by cluster")]
    if areas is not None and len(areas):
        first = areas[areas["model_seed"] == areas.groupby(["dataset", "weights"])["model_seed"].transform("min")]
        panels_data.append(first.assign(panel="joint NNLS weight share"))  # under the method whose RDMs it fitted
    fig, panels = grid(pd.concat(panels_data, ignore_index=True), ["dataset", "method", "layer_set", "weights"],
                       "panel", (6.5, 3.4), order=["score by cluster", "joint NNLS weight share"])
    for ax, rows in panels:
        if rows["panel"].iloc[0] == "score by cluster":
            grouped_bars(ax, rows, "mean", "low", "high")
            ax.set_ylabel(score_label(rows["method"].iloc[0], "mean over sites and tasks (95% CI)"))
        else:
            grouped_bars(ax, rows, "weight_share", "ci_low", "ci_high")
            ax.scatter(*_null_positions(rows), marker="_", color="k", s=60, zorder=3)
            ax.set_ylabel("joint NNLS weight share\n(2.5–97.5 percentiles over splits)")
    cluster_legend(fig, summary["cluster"], chance=len(panels_data) > 1)
    return fig


def _null_positions(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """x, y of each area × cluster's null share, matching ``grouped_bars``' bar positions."""
    areas, clusters = area_order(rows["area"]), cluster_order(rows["cluster"])
    width = 0.8 / len(clusters)
    x = rows["area"].map({a: i for i, a in enumerate(areas)}) - 0.4 + width * (
        rows["cluster"].map({c: k for k, c in enumerate(clusters)}) + 0.5)
    return x.to_numpy(float), rows["null_share"].to_numpy(float)
