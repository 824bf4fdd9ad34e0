"""Figures of where in a network each area is best matched: the best layer's relative depth per area
(seed 000's layer–area question), per-area layer profiles with each area's noise ceiling, and those profiles
per image size (Cadena et al.)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import (
    AREA_COLORS,
    OTHER_COLOR,
    Figure,
    area_order,
    ceiling_handle,
    ceiling_r,
    grid,
    layer_label,
    method_panels,
    pyplot,
)


def best_layer_depth_figure(scores: pd.DataFrame) -> Figure | None:
    """Relative depth of each site's best layer by area, over every multi-layer model."""
    scores = scores[scores["n_layers"] > 1]  # a one-layer model has no depth
    if scores.empty:
        return None
    fig, panels = method_panels(scores, 5, 3.5)
    for ax, rows in panels:
        areas = area_order(rows["area"])
        boxes = ax.boxplot([rows.loc[rows["area"] == a, "best_layer_depth"] for a in areas], patch_artist=True,
                           medianprops={"color": "k"})
        for box, area in zip(boxes["boxes"], areas):
            box.set_facecolor(AREA_COLORS.get(area, OTHER_COLOR))
        ax.set_xticks(range(1, len(areas) + 1), areas)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("visual area")
        ax.set_ylabel("relative depth of the best layer\n(0 = first, 1 = last)")
    return fig


def layer_profile_figure(layers: pd.DataFrame, scores: pd.DataFrame | None = None) -> Figure | None:
    """Per area, the mean per-layer score in ten bins of relative depth (0 = first layer, 1 = last),
    over every multi-layer model of a method, layer set and weights; with ``scores``, each area's noise
    ceiling (mean over its sites of √ceiling) as a dashed line. One legend, outside the panels."""
    layers = layers[layers.groupby("unit_key")["layer"].transform("nunique") > 1]
    if layers.empty:
        return None
    bins = np.minimum((layers["layer_depth"].to_numpy(float) * 10).astype(int), 9)
    data = layers.assign(value=layers["layer_score"], depth=(bins + 0.5) / 10).dropna(subset=["value"])
    keys = ["dataset", "method", "layer_set", "image_size"]
    profile = data.assign(image_size=data["image_size"].astype(str)).groupby(
        [*keys, "weights", "area", "depth"])["value"].mean().reset_index()
    fig, panels = grid(profile, keys, "weights", (5.2, 3.4))
    handles: dict[str, object] = {}
    for ax, rows in panels:
        for area in area_order(rows["area"]):
            line = rows[rows["area"] == area].sort_values("depth")
            color = AREA_COLORS.get(area, OTHER_COLOR)
            handles[area], = ax.plot(line["depth"], line["value"], marker="o", ms=3, color=color, label=area)
            if scores is not None:
                ceiling = ceiling_r(_matching(scores, rows.iloc[0], area))
                if np.isfinite(ceiling):
                    ax.axhline(ceiling, color=color, linestyle="--", lw=0.9)
                    handles["ceiling"] = ceiling_handle()
        ax.set_xlim(0, 1)
        ax.set_xlabel("relative depth of layer (0 = first, 1 = last)")
        ax.set_ylabel(layer_label(rows["method"].iloc[0]) + "\nmean over sites and models")
    last = [handles.pop("ceiling")] if "ceiling" in handles else []
    fig.legend(handles=list(handles.values()) + last, title="visual area", loc="outside right center", fontsize=8)
    return fig


def _matching(scores: pd.DataFrame, row: pd.Series, area: str) -> pd.DataFrame:
    """The score rows of one panel's dataset, method, layer set and weights, in ``area``."""
    mask = np.ones(len(scores), bool)
    for column in ("dataset", "method", "layer_set", "weights"):
        mask &= (scores[column] == row[column]).to_numpy()
    return scores[mask & (scores["area"] == area).to_numpy()]
def resolution_figure(layers: pd.DataFrame) -> Figure | None:
    """Cadena et al.'s Figure 3A: per area (columns) and model × method (rows), the per-layer score against the
    layer's relative depth at each image size (one line per size, darker for larger images; a dot marks each
    line's best layer), averaged over the area's sites and the model seeds. Drawn for multi-layer models run
    at two or more single sizes."""
    single = layers[layers["image_size"].astype(str).str.isdigit()]
    single = single[single.groupby("unit_key")["layer"].transform("nunique") > 1]
    keys = ["dataset", "method", "layer_set", "model", "weights"]
    sizes = single.groupby(keys)["image_size"].transform("nunique")
    single = single[sizes > 1].dropna(subset=["layer_score"])
    if single.empty:
        return None
    profile = single.assign(size=single["image_size"].astype(int)).groupby(
        [*keys, "area", "size", "layer_index", "layer_depth"])["layer_score"].mean().reset_index()
    rows = [k for k in keys if k in ("method", "model") or profile[k].nunique() > 1]
    fig, panels = grid(profile, rows, "area", (3.0, 2.4), order=area_order(profile["area"]))
    colors = pyplot().get_cmap("viridis_r")
    sizes = sorted(profile["size"].unique())
    color = {size: colors(0.15 + 0.7 * k / max(len(sizes) - 1, 1)) for k, size in enumerate(sizes)}
    for ax, group in panels:
        for size, line in group.groupby("size"):
            line = line.sort_values("layer_depth")
            ax.plot(line["layer_depth"], line["layer_score"], color=color[size], lw=1.2)
            best = line.loc[line["layer_score"].idxmax()]
            ax.plot(best["layer_depth"], best["layer_score"], "o", color=color[size], ms=4)
        ax.set_xlim(0, 1)
        ax.set_xlabel("relative depth of layer")
        ax.set_ylabel(layer_label(group["method"].iloc[0]), fontsize=7)
    from matplotlib.lines import Line2D

    fig.legend(handles=[Line2D([], [], color=color[size], marker="o", ms=4, label=f"{size} px") for size in sizes],
               title="image size (dot: best layer)", loc="outside upper center", ncol=len(sizes), fontsize=8)
    return fig
