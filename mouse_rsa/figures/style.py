"""What every figure shares: fixed colours per area, task cluster and weights; a font in which l and I
differ (Atkinson Hyperlegible, so "VISl" never reads "VISI"); human panel titles and axis labels that
name the metric; panel grids; CIs; the mark on figures of simulated data.

Panels are laid out from the data (``grid``): a cell without rows is removed, never drawn empty.
"""
from __future__ import annotations

import functools
import textwrap
from typing import Any

import numpy as np
import pandas as pd

from .. import methods as registry
from ..data.dataset import SITE_AREAS
from ..stats import bootstrap_ci

Figure = Any  # matplotlib.figure.Figure, imported lazily
AREA_COLORS = dict(zip(SITE_AREAS, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                                    "#666666"]))
CLUSTER_COLORS = {"2d": "#4477aa", "3d": "#ee6677", "geometric": "#228833", "semantic": "#ccbb44",
                  "miscellaneous": "#aa3377"}
WEIGHT_COLORS = {"pretrained": "#1f77b4", "random": "#a0a0a0"}
OTHER_COLOR = "#777777"
LAYER_ORDER = {"latent": 0, "all": 1}
LAYER_SETS = {"all": "all layers", "latent": "latent layer"}
WEIGHT_LABELS = {"pretrained": "pretrained weights", "random": "random weights", "fixed": "fixed (baseline)"}
FONT = "Atkinson Hyperlegible"
DEMO_MARK = "simulated demo data, not mouse recordings"
DEMO_COLOR = "#b34700"
TITLE_WIDTH = 45  # characters per line of a panel title or axis label: a 3.5-inch panel at 9 pt


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display), imported on first use, with the figures' font."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _use_font()
    return plt


@functools.cache
def _use_font() -> None:
    """Register Atkinson Hyperlegible (shipped by the fontpkg-atkinson-hyperlegible dependency) and make it
    matplotlib's sans-serif font (DejaVu Sans, matplotlib's own, for any glyph it lacks)."""
    import fontpkg_atkinson_hyperlegible as font
    from matplotlib import font_manager, rcParams

    for path in sorted((font.ROOT / "files").glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [FONT, "DejaVu Sans"]


def method_title(method: str) -> str:
    """What a method's score is, naming the metric ("cross-validated RSA, NNLS over all layers (Pearson r)")."""
    try:
        return registry.get(str(method)).title
    except Exception:  # noqa: BLE001 - a method this version does not know keeps its name
        return str(method)


def layer_label(method: str) -> str:
    """What a method's per-layer profile is ("per-layer RSA (Pearson r)")."""
    try:
        return registry.get(str(method)).layer_label
    except Exception:  # noqa: BLE001
        return "per-layer score"


def score_label(method: str, what: str = "mean over sites (95% CI)") -> str:
    """An axis label naming the metric of ``method`` and how it was summarised."""
    return "\n".join([textwrap.fill(method_title(method), TITLE_WIDTH), *([what] if what else [])])


def panel_title(parts: list[tuple[str, Any]]) -> str:
    """A panel's title from (column, value) pairs: the method's title on the first line, the layer set,
    weights and other values on the second (internal keys such as ``rsa_nnls`` never shown)."""
    words = {"layer_set": LAYER_SETS, "weights": WEIGHT_LABELS}
    first = [method_title(v) for c, v in parts if c == "method"]
    rest = [f"{v} px images" if c == "image_size" and str(v).isdigit() else words.get(c, {}).get(str(v), str(v))
            for c, v in parts if c != "method" and str(v) not in ("", "nan")]
    return "\n".join([*(textwrap.fill(title, TITLE_WIDTH) for title in first), *_join_lines(rest)])


def _join_lines(words: list[str]) -> list[str]:
    """``words`` joined by " · " into lines of at most TITLE_WIDTH characters (a word never split)."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 3 + len(word) <= TITLE_WIDTH:
            lines[-1] += " · " + word
        else:
            lines.append(word)
    return lines


CEILING_LABEL = "noise ceiling (mean √ of r² ceiling)"


def ceiling_r(rows: pd.DataFrame) -> float:
    """The ceiling of a mean r over the sites of ``rows``: the mean over sites of √ceiling (ceilings are
    in r² units); NaN without ceilings."""
    if "ceiling" not in rows:
        return float("nan")
    per_site = rows.drop_duplicates("site")["ceiling"].clip(lower=0)
    return float(np.sqrt(per_site).mean()) if per_site.notna().any() else float("nan")


def ceiling_handle():
    """The legend entry of the dashed ceiling lines."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color="k", linestyle="--", lw=1, label=CEILING_LABEL)


def mark_demo(fig: Figure, datasets) -> None:
    """Say above ``fig``'s top-left corner that its data is simulated when any of ``datasets`` is a demo
    dataset (outside the panels, so it covers nothing; saved figures use a tight bounding box). Idempotent."""
    if any(str(d).startswith("demo") for d in datasets) and not any(t.get_text() == DEMO_MARK for t in fig.texts):
        fig.text(0.0, 1.0, DEMO_MARK, ha="left", va="bottom", color=DEMO_COLOR, fontsize=9, fontweight="bold")


def cluster_color(cluster: str) -> str:
    """The fixed colour of a task cluster (case-insensitive; grey for any other)."""
    return CLUSTER_COLORS.get(str(cluster).lower(), OTHER_COLOR)


def cluster_order(clusters: pd.Series) -> list[str]:
    """Clusters in the paper's order (2D, 3D, geometric, semantic, miscellaneous), others after."""
    known = list(CLUSTER_COLORS)
    return sorted(set(clusters), key=lambda c: (known.index(c.lower()) if c.lower() in known else len(known), c))


def area_order(areas: pd.Series) -> list[str]:
    """Areas in the dataset's order (VISp first, the thalamic LGd and LP after the cortex), others after."""
    return [a for a in SITE_AREAS if a in set(areas)] + sorted(set(areas) - set(SITE_AREAS))


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
            title = [(rows[k], rkey[k]) for k in shown] + ([(column, ckey)] if column else [])
            axes[i, j].set_title(panel_title(title), fontsize=9)
            panels.append((axes[i, j], data[mask]))
    return fig, panels


def method_panels(table: pd.DataFrame, width: float, height: float):
    """One panel per method × layer set (× the leaderboard's ``settings`` label where it has one, e.g.
    ``image_size=64``), side by side."""
    settings = table["settings"].fillna("").astype(str) if "settings" in table else pd.Series("", index=table.index)
    panel = [panel_title([("method", m), ("layer_set", s), ("settings", x)])
             for m, s, x in zip(table["method"], table["layer_set"], settings)]
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


def cluster_legend(fig: Figure, clusters: pd.Series, chance: bool = False, extra: list | None = None) -> None:
    """One legend of the task clusters' colours (and the chance marker, and ``extra`` handles), right of
    the panels."""
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(color=cluster_color(c), label=c) for c in cluster_order(clusters)]
    if chance:
        handles.append(Line2D([], [], color="k", marker="_", markersize=10, linestyle="none",
                              label="chance share\n(permutation null)"))
    handles += extra or []
    fig.legend(handles=handles, title="task cluster", loc="outside right center", fontsize=8)


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


