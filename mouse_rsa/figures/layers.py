"""Figures of where in a network each area is best matched: the best layer's relative depth per area
(seed 000's layer–area question) and per-area layer profiles."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import methods as registry
from .style import AREA_COLORS, OTHER_COLOR, Figure, area_order, grid, method_panels


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
    profile = data.groupby(["dataset", "method", "layer_set", "weights", "area", "depth"])["value"].mean().reset_index()
    fig, panels = grid(profile, ["dataset", "method", "layer_set"], "weights", (4.5, 3.4))
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
