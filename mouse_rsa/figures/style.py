"""What every figure shares: fixed colours per area, task cluster and weights; panel grids; CIs.

Panels are laid out from the data (``grid``): a cell without rows is removed, never drawn empty.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data.dataset import AREAS
from ..stats import bootstrap_ci

Figure = Any  # matplotlib.figure.Figure, imported lazily
AREA_COLORS = dict(zip(AREAS, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]))
CLUSTER_COLORS = {"2d": "#4477aa", "3d": "#ee6677", "geometric": "#228833", "semantic": "#ccbb44",
                  "miscellaneous": "#aa3377"}
WEIGHT_COLORS = {"pretrained": "#1f77b4", "random": "#a0a0a0"}
OTHER_COLOR = "#777777"
LAYER_ORDER = {"latent": 0, "all": 1}


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cluster_color(cluster: str) -> str:
    """The fixed colour of a task cluster (case-insensitive; grey for any other)."""
    return CLUSTER_COLORS.get(str(cluster).lower(), OTHER_COLOR)


def cluster_order(clusters: pd.Series) -> list[str]:
    """Clusters in the paper's order (2D, 3D, geometric, semantic, miscellaneous), others after."""
    known = list(CLUSTER_COLORS)
    return sorted(set(clusters), key=lambda c: (known.index(c.lower()) if c.lower() in known else len(known), c))


def area_order(areas: pd.Series) -> list[str]:
    """Areas in the dataset's order (VISp first), others after."""
    return [a for a in AREAS if a in set(areas)] + sorted(set(areas) - set(AREAS))


def grid(data: pd.DataFrame, rows: list[str], column: str | None, size: tuple[float, float],
         order: list[str] | None = None):
    """One titled panel per group of ``data`` by ``rows`` (one line each) × ``column`` (side by side,
    in ``order`` where given, else latent before all, else sorted); the dataset and image size are named
    in titles only where they vary.

    Returns (figure, [(axes, that group's rows), ...]); cells without data are removed.
    """
    data = data.sort_values("layer_set", key=lambda v: v.map(LAYER_ORDER).fillna(9), kind="stable") \
        if "layer_set" in data else data
    row_keys = list(data[rows].drop_duplicates().itertuples(index=False, name=None)) if rows else [()]
    present = set(data[column]) if column else set()
    col_keys = ([v for v in order if v in present] if order else
                sorted(present, key=lambda v: (LAYER_ORDER.get(v, 9), str(v)))) if column else [None]
    fig, axes = pyplot().subplots(len(row_keys), len(col_keys), squeeze=False, layout="constrained",
                                   figsize=(size[0] * len(col_keys), size[1] * len(row_keys)))
    shown = [i for i, c in enumerate(rows) if c not in ("dataset", "image_size") or data[c].nunique() > 1]
    panels = []
    for i, rkey in enumerate(row_keys):
        in_row = np.logical_and.reduce([data[c] == v for c, v in zip(rows, rkey)] + [np.ones(len(data), bool)])
        for j, ckey in enumerate(col_keys):
            mask = in_row & (data[column] == ckey) if column else in_row
            if not mask.any():
                fig.delaxes(axes[i, j])
                continue
            title = [str(rkey[k]) for k in shown if str(rkey[k])] + ([str(ckey)] if column else [])
            axes[i, j].set_title(" · ".join(title), fontsize=10)
            panels.append((axes[i, j], data[mask]))
    return fig, panels


def method_panels(table: pd.DataFrame, width: float, height: float):
    """One panel per method × layer set (× the leaderboard's ``settings`` label where it has one, e.g.
    ``image_size=64``), side by side."""
    panel = table["method"] + " · " + table["layer_set"]
    if "settings" in table:
        panel += np.where(table["settings"].fillna("").astype(str) != "", " · " + table["settings"].astype(str), "")
    return grid(table.assign(panel=panel), [], "panel", (width, height))


def mean_ci(values: pd.Series) -> pd.Series:
    """Mean and its 95 % percentile-bootstrap CI (2000 resamples, seed 0) as a Series mean, low, high."""
    low, high = bootstrap_ci(values, n_resamples=2000)
    return pd.Series({"mean": values.mean(), "low": low, "high": high})


def summarise(data: pd.DataFrame, by: list[str], value: str = "score") -> pd.DataFrame:
    """Mean of ``value`` with its bootstrap CI per group: columns by + mean, low, high."""
    return data.groupby(by, sort=False)[value].apply(mean_ci).unstack().reset_index()


def error_bars(rows: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bar lengths (2, n) from columns mean, low, high (0 where there is no CI)."""
    return np.nan_to_num(np.vstack([rows["mean"] - rows["low"], rows["high"] - rows["mean"]]))


def cluster_legend(fig: Figure, clusters: pd.Series, chance: bool = False) -> None:
    """One legend of the task clusters' colours (and the chance marker), right of the panels."""
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(color=cluster_color(c), label=c) for c in cluster_order(clusters)]
    if chance:
        handles.append(Line2D([], [], color="k", marker="_", markersize=10, linestyle="none",
                              label="chance share\n(permutation null)"))
    fig.legend(handles=handles, title="task cluster", loc="outside right upper", fontsize=8)


def grouped_bars(ax, rows: pd.DataFrame, value: str, low: str, high: str) -> None:
    """Bars per area (x) × cluster (colour) of ``value`` with its interval."""
    areas, clusters = area_order(rows["area"]), cluster_order(rows["cluster"])
    width = 0.8 / len(clusters)
    for k, cluster in enumerate(clusters):
        group = rows[rows["cluster"] == cluster].set_index("area").reindex(areas)
        x = np.arange(len(areas)) - 0.4 + width * (k + 0.5)
        err = np.nan_to_num(np.vstack([group[value] - group[low], group[high] - group[value]]))
        ax.bar(x, group[value], width=width, yerr=err, color=cluster_color(cluster))
    ax.set_xticks(range(len(areas)), areas)
    ax.set_xlabel("visual area")


