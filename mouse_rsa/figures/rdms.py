"""Figures of the RDMs themselves, from the files a results directory keeps: the site RDMs beside the best
model's RDM (``site_rdm_figure``), and a map of the models by how alike their RDMs are (``model_map_figure``).

Both read the latent RDMs that latent units of RDM-keeping methods save (``.rdms.npz``: ``rsa_nnls``
with ``--layers latent``) and the site RDMs of each neural target (``targets-<key>.npz``); all-layer
units keep no layer RDMs, so they are not on the map.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from .. import methods as registry
from .. import results
from ..rdm import correlation_matrix
from .style import AREA_COLORS, OTHER_COLOR, WEIGHT_COLORS, Figure, area_order, cluster_color, mark_demo, pyplot

MIXED_COLOR = "#8c564b"  # a point standing for identical RDMs of models of different kinds
MARKERS = {"area": "*", "fixed": "s", "mixed": "D"}  # any other model: "o"
RANK_LABEL = "dissimilarity (1 − Pearson r),\npercentile within each RDM"


def latent_units(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per latent unit whose method saves its RDMs, with its mean score over sites."""
    keeping = [m.name for m in registry.all_methods() if m.keeps_layer_rdms]
    latent = scores[scores["method"].isin(keeping) & (scores["layer_set"] == "latent")]
    keys = ["unit_key", "dataset", "settings_key", "targets_key", "model", "weights", "model_seed", "method"]
    return latent.groupby(keys, as_index=False, sort=False)["score"].mean()


def _percentiles(vector: np.ndarray) -> np.ndarray:
    return squareform(100.0 * (stats.rankdata(vector) - 1) / max(len(vector) - 1, 1))


def _best_site_per_area(sites: list[str], ceilings: np.ndarray, scores: pd.DataFrame) -> list[int]:
    """Per area (in the dataset's order), the index of its site with the highest ceiling (else the most cells)."""
    table = pd.DataFrame({"site": sites, "ceiling": ceilings}).merge(
        scores.drop_duplicates("site")[["site", "area", "n_cells"]], on="site", how="left")
    table["index"] = np.arange(len(table))
    table["area"] = table["area"].fillna(table["site"].str.split("_").str[0])
    picks = []
    for area in area_order(table["area"]):
        rows = table[table["area"] == area].sort_values(["ceiling", "n_cells"], ascending=False, na_position="last")
        picks.append(int(rows["index"].iloc[0]))
    return picks


def site_rdm_figure(directory: str | Path, scores: pd.DataFrame) -> Figure | None:
    """Per dataset: the best-scoring latent model's RDM beside one site RDM per area (its most reliable
    site), all with the stimuli in the model RDM's hierarchical-clustering order and shown as within-RDM
    percentiles; each site titled with the model's cross-validated score there."""
    units = latent_units(scores)
    if units.empty:
        return None
    best = units.sort_values("score", ascending=False).drop_duplicates("dataset")
    plt = pyplot()
    n_rows = len(best)
    fig = None
    for row_index, unit in enumerate(best.itertuples()):
        names, vectors = results.read_model_rdms(directory, unit.unit_key)
        unit_rows = scores[scores["unit_key"] == unit.unit_key]
        sites, site_vectors, ceilings = results.read_site_rdms(directory, unit.dataset, unit.targets_key)
        picks = _best_site_per_area(sites, ceilings, unit_rows)
        if fig is None:
            fig, axes = plt.subplots(n_rows, len(picks) + 1, squeeze=False, layout="constrained",
                                     figsize=(2.3 * (len(picks) + 1) + 0.8, 2.7 * n_rows))
        model_vector = vectors[:, 0]
        order = hierarchy.leaves_list(hierarchy.optimal_leaf_ordering(
            hierarchy.linkage(model_vector, "average"), model_vector))
        panels = [(model_vector, f"{unit.model} ({unit.weights})\nlatent layer {names[0]}", "k")]
        site_scores = unit_rows.set_index("site")["score"]
        for i in picks:
            r = site_scores.get(sites[i], np.nan)
            panels.append((site_vectors[:, i], f"{sites[i]}\nmodel r = {r:.2f}, ceiling r² = {ceilings[i]:.2f}",
                           AREA_COLORS.get(sites[i].split("_")[0], OTHER_COLOR)))
        for ax, (vector, title, color) in zip(axes[row_index], panels):
            image = ax.imshow(_percentiles(vector)[np.ix_(order, order)], cmap="viridis", vmin=0, vmax=100,
                              interpolation="nearest")
            ax.set_title(title, fontsize=8, color=color)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row_index, 0].set_ylabel(f"{len(order)} stimuli ({unit.dataset}),\nordered by the model RDM", fontsize=8)
        fig.colorbar(image, ax=axes[row_index].tolist(), shrink=0.8, label=RANK_LABEL)
    mark_demo(fig, best["dataset"])
    return fig


def _groups(vectors: np.ndarray) -> list[list[int]]:
    """Indices of the columns of ``vectors`` grouped by identical content (e.g. several random networks
    built from one seed), first-seen order."""
    groups: dict[bytes, list[int]] = {}
    for i in range(vectors.shape[1]):
        groups.setdefault(np.round(vectors[:, i], 12).tobytes(), []).append(i)
    return list(groups.values())


def _map_points(directory: str | Path, units: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    """(labels, colours, upper-triangle RDMs) of the models of one target and of its areas' mean site RDMs."""
    from model_zoo import catalogue

    clusters = catalogue().set_index("name")["cluster"].fillna("").astype(str)
    vectors = np.column_stack([results.read_model_rdms(directory, key)[1][:, 0] for key in units["unit_key"]])
    labels_, colors, columns = [], [], []
    for group in _groups(vectors):
        first = units.iloc[group[0]]
        extra = f" +{len(group) - 1} identical" if len(group) > 1 else ""
        labels_.append(f"{first['model']} ({first['weights']}){extra}")
        kinds = {clusters.get(m, "") or w for m, w in zip(units["model"].iloc[group], units["weights"].iloc[group])}
        cluster = clusters.get(first["model"], "")
        colors.append(MIXED_COLOR if len(kinds) > 1 else
                      cluster_color(cluster) if cluster else WEIGHT_COLORS.get(first["weights"], OTHER_COLOR))
        columns.append(vectors[:, group[0]])
    sites, site_vectors, _ = results.read_site_rdms(directory, units["dataset"].iloc[0], units["targets_key"].iloc[0])
    areas = pd.Series([s.split("_")[0] for s in sites])
    for area in area_order(areas):
        labels_.append(f"mouse {area}")
        colors.append("k")
        columns.append(site_vectors[:, (areas == area).to_numpy()].mean(axis=1))
    return labels_, colors, np.column_stack(columns)


def model_map_figure(directory: str | Path, scores: pd.DataFrame) -> Figure | None:
    """Per dataset and settings: the models' latent RDMs and each area's mean site RDM placed by metric MDS
    on 1 − Pearson r between RDMs (left), and their average-linkage clustering (right). Models whose RDMs
    are identical are one point. None with fewer than 3 distinct points."""
    from sklearn.manifold import MDS

    units = latent_units(scores)
    units = units[units["model_seed"] == units.groupby(["dataset", "settings_key", "model", "weights"])[
        "model_seed"].transform("min")]
    targets = [(k, g) for k, g in units.groupby(["dataset", "settings_key"], sort=True)]
    maps = [(k, _map_points(directory, g)) for k, g in targets]
    maps = [(k, m) for k, m in maps if len(m[0]) >= 3]
    if not maps:
        return None
    plt = pyplot()
    tallest = max(len(m[0]) for _, m in maps)
    fig, axes = plt.subplots(len(maps), 2, squeeze=False, layout="constrained",
                             figsize=(12, max(4.5, 0.22 * tallest + 1.5) * len(maps)))
    for (dataset, _), (labels_, colors, vectors), (ax_map, ax_tree) in zip([k for k, _ in maps],
                                                                         [m for _, m in maps], axes):
        distance = 1.0 - correlation_matrix(vectors, vectors)
        np.fill_diagonal(distance, 0.0)
        distance = (distance + distance.T) / 2
        xy = MDS(n_components=2, dissimilarity="precomputed", random_state=0, n_init=4,
                 normalized_stress="auto").fit_transform(distance)
        for (x, y), label, color in zip(xy, labels_, colors):
            ax_map.scatter([x], [y], c=color, marker=_marker(label, color), s=120 if color == "k" else 36)
        for (x, y), label in zip(xy, labels_):
            ax_map.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax_map.set_xlabel("MDS dimension 1")
        ax_map.set_ylabel("MDS dimension 2")
        ax_map.set_title(f"{dataset}: latent RDMs, metric MDS of 1 − Pearson r", fontsize=9)
        hierarchy.dendrogram(hierarchy.linkage(squareform(distance, checks=False), "average"),
                                    labels=labels_, orientation="right", ax=ax_tree, color_threshold=0,
                                    above_threshold_color="#555555", leaf_font_size=7)
        for tick in ax_tree.get_yticklabels():
            tick.set_color(colors[labels_.index(tick.get_text())])
        ax_tree.set_xlabel("1 − Pearson r between RDMs (average linkage)")
        ax_tree.set_title(f"{dataset}: hierarchical clustering", fontsize=9)
    _map_legend(fig, [c for _, (_, c, _) in maps])
    mark_demo(fig, [k[0] for k, _ in maps])
    return fig


def _marker(label: str, color: str) -> str:
    if label.startswith("mouse "):
        return MARKERS["area"]
    return MARKERS["mixed"] if color == MIXED_COLOR else MARKERS["fixed"] if "(fixed)" in label else "o"


def _map_legend(fig: Figure, colors: list[list[str]]) -> None:
    from matplotlib.lines import Line2D

    from .style import CLUSTER_COLORS

    used = {c for group in colors for c in group}
    handles = [Line2D([], [], marker="*", color="k", linestyle="none", markersize=10, label="mouse area (mean site RDM)")]
    handles += [Line2D([], [], marker="o", color=c, linestyle="none", label=f"{w} weights")
                for w, c in WEIGHT_COLORS.items() if c in used]
    if OTHER_COLOR in used:
        handles.append(Line2D([], [], marker="s", color=OTHER_COLOR, linestyle="none", label="fixed (baseline)"))
    handles += [Line2D([], [], marker="o", color=c, linestyle="none", label=f"Taskonomy: {k}")
                for k, c in CLUSTER_COLORS.items() if c in used]
    if MIXED_COLOR in used:
        handles.append(Line2D([], [], marker="D", color=MIXED_COLOR, linestyle="none",
                              label="identical RDMs of several kinds"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=8)
