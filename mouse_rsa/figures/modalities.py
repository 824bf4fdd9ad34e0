"""Figure of the rank agreement across datasets: each model's rank on one dataset against its rank on the
other (e.g. 2-photon against Neuropixels), over all areas and per area."""
from __future__ import annotations

import pandas as pd

from ..analysis.modalities import ALL_AREAS, rank_agreement
from .style import OTHER_COLOR, WEIGHT_COLORS, Figure, area_order, grid, panel_title

LABELLED = 12  # models named next to their points up to this many per panel


def modality_figure(pairs: pd.DataFrame) -> Figure | None:
    """Rank on dataset b against rank on dataset a (1 = best) per comparison (row) and area (column), from
    ``analysis.modalities.paired_rankings``, with Spearman's ρ and Kendall's τ in each title; None without pairs."""
    if pairs.empty:
        return None
    agreement = rank_agreement(pairs, n_resamples=0).set_index(
        ["dataset_a", "dataset_b", "method", "layer_set", "settings_key_a", "settings_key_b", "area"])
    several = pairs.drop_duplicates(["dataset_a", "dataset_b", "method", "layer_set", "settings_key_a",
                                     "settings_key_b"]).groupby(["dataset_a", "dataset_b", "method", "layer_set"]).size()
    labels = [f"{r.dataset_a} vs {r.dataset_b} · {r.method} · {r.layer_set}"
              + (f" · {r.settings_key_a}/{r.settings_key_b}" if several[(r.dataset_a, r.dataset_b, r.method,
                                                                             r.layer_set)] > 1 else "")
              for r in pairs.itertuples()]
    order = [ALL_AREAS, *area_order(pairs.loc[pairs["area"] != ALL_AREAS, "area"])]
    fig, panels = grid(pairs.assign(comparison=labels), ["comparison"], "area", (3.2, 3.2), order=order)
    for ax, rows in panels:
        first = rows.iloc[0]
        key = (first.dataset_a, first.dataset_b, first.method, first.layer_set, first.settings_key_a,
               first.settings_key_b, first.area)
        ax.scatter(rows["rank_a"], rows["rank_b"], color=[WEIGHT_COLORS.get(w, OTHER_COLOR) for w in rows["weights"]],
                   zorder=2)
        top = max(rows["rank_a"].max(), rows["rank_b"].max())
        ax.plot([1, top], [1, top], color="k", lw=0.6, zorder=1)
        if len(rows) <= LABELLED:
            for row in rows.itertuples():
                ax.annotate(row.model, (row.rank_a, row.rank_b), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(top + 0.7, 0.3)  # best (rank 1) at the right and the top
        ax.set_ylim(top + 0.7, 0.3)
        stats = (rf"Spearman $\rho$ = {agreement.loc[key, 'spearman']:.2f}, Kendall $\tau$ = "  # the font has no Greek
                 f"{agreement.loc[key, 'kendall']:.2f}" if key in agreement.index else f"{len(rows)} models")
        settings = f"{first.settings_key_a}/{first.settings_key_b}" if first.comparison.count(" · ") > 2 else ""
        title = panel_title([("method", first.method), ("layer_set", first.layer_set), ("settings", settings),
                             ("area", first.area)])
        ax.set_title(f"{title}\n{stats}", fontsize=9)
        ax.set_xlabel(f"rank on {first.dataset_a}")
        ax.set_ylabel(f"rank on {first.dataset_b}")
    return fig
