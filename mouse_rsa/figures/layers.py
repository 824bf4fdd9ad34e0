"""Figures of where in a network each area is best matched: the best layer's relative depth per area
(seed 000's layer–area question), per-area layer profiles, and those profiles per image size (Cadena et al.)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import methods as registry
from .style import AREA_COLORS, OTHER_COLOR, Figure, area_order, grid, method_panels, pyplot


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
        ax.set_ylabel("relative depth of best layer")
    return fig


def layer_profile_figure(layers: pd.DataFrame) -> Figure | None:
    """Per area, the mean per-layer score in ten bins of relative depth (0 = first layer, 1 = last),
    over every multi-layer model of a method, layer set and weights."""
    layers = layers[layers.groupby("unit_key")["layer"].transform("nunique") > 1]
    if layers.empty:
        return None
    bins = np.minimum((layers["layer_depth"].to_numpy(float) * 10).astype(int), 9)
    data = layers.assign(value=layers["layer_score"], depth=(bins + 0.5) / 10).dropna(subset=["value"])
    keys = ["dataset", "method", "layer_set", "image_size"]
    profile = data.assign(image_size=data["image_size"].astype(str)).groupby(
        [*keys, "weights", "area", "depth"])["value"].mean().reset_index()
    fig, panels = grid(profile, keys, "weights", (4.5, 3.4))
    for ax, rows in panels:
        for area in area_order(rows["area"]):
            line = rows[rows["area"] == area].sort_values("depth")
            ax.plot(line["depth"], line["value"], marker="o", ms=3, color=AREA_COLORS.get(area, OTHER_COLOR),
                    label=area)
        ax.set_xlim(0, 1)
        ax.set_xlabel("relative depth of layer (0 = first, 1 = last)")
        ax.set_ylabel(registry.get(rows["method"].iloc[0]).layer_label)
        ax.legend(fontsize=7, ncol=2)
    return fig


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
        ax.set_ylabel(registry.get(group["method"].iloc[0]).layer_label, fontsize=7)
    from matplotlib.lines import Line2D

    fig.legend(handles=[Line2D([], [], color=color[size], marker="o", ms=4, label=f"{size} px") for size in sizes],
               title="image size (dot: best layer)", loc="outside upper center", ncol=len(sizes), fontsize=8)
    return fig
