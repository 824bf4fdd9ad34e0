"""Rank every whole unit under a results directory into one table (``rank``) and write it (``write``).

One row per dataset × method × layer set × settings × model × weights (and weights source) × model
seed: rank (within dataset, method, layer set and settings, by mean score), ``settings``: the
settings that tell the row's comparison apart from the others of its dataset, method and layer set
(e.g. ``folds=10``; empty when there is one), the mean score over sites with a 95 %
percentile-bootstrap CI (seeded; the seed is a column), mean signed r², mean normalised score,
n_sites, the model's catalogue metadata, and for pretrained rows the difference to the same
architecture's random row (same seed when there is one). Reads CSVs only: no torch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .cache import atomic_path
from .results import KEY_COLUMNS, read_scores
from .results.files import NOT_SETTINGS
from .stats import bootstrap_ci

SCOPE = ["dataset", "method", "layer_set", "settings_key"]
GROUP = [*SCOPE, "model", "weights", "weights_source", "model_seed"]
COLUMNS = ["dataset", "method", "layer_set", "settings", "settings_key", "rank", "model", "weights", "weights_source",
           "model_seed", "mean_score",
           "ci_low", "ci_high", "mean_score_r2", "mean_score_normalized", "n_sites", "n_params", "depth", "source",
           "pretrained_minus_random", "bootstrap_seed"]


def _metadata() -> pd.DataFrame:
    import model_zoo

    table = model_zoo.catalogue()
    return table.set_index("name")[["n_params", "depth", "source"]]


def rank(directory: str | Path = "results", bootstrap_seed: int = 0) -> pd.DataFrame:
    """The leaderboard of ``directory`` (see the module docstring for its columns)."""
    scores = read_scores(directory)
    rows = []
    for values, g in scores.groupby(GROUP, dropna=False, sort=True):
        low, high = bootstrap_ci(g["score"], seed=bootstrap_seed)
        rows.append({**dict(zip(GROUP, values)), "mean_score": g["score"].mean(), "ci_low": low, "ci_high": high,
                     "mean_score_r2": g["score_r2"].mean(), "mean_score_normalized": g["score_normalized"].mean(),
                     "n_sites": int(g["site"].nunique()), "bootstrap_seed": bootstrap_seed})
    table = pd.DataFrame(rows).join(_metadata(), on="model")
    table["source"] = table["source"].fillna("unknown")
    table["pretrained_minus_random"] = [_minus_random(table, row) for row in table.itertuples()]
    labels = settings_labels(scores)
    table["settings"] = [labels[key] for key in table[SCOPE].itertuples(index=False, name=None)]
    ranks = table.groupby(SCOPE)["mean_score"].rank(ascending=False, method="min")
    table["rank"] = ranks.astype(int)
    return table.sort_values([*SCOPE, "rank", "model"])[COLUMNS].reset_index(drop=True)


def settings_labels(scores: pd.DataFrame) -> dict[tuple, str]:
    """Per (dataset, method, layer set, settings_key): the settings in which it differs from the other
    settings of its dataset, method and layer set, as ``field=value, ...`` ("" where there is one)."""
    fields = [c for c in KEY_COLUMNS if c not in NOT_SETTINGS and c != "dataset"]
    labels = {}
    for _, group in scores.drop_duplicates(SCOPE).groupby(SCOPE[:-1]):
        varying = [c for c in fields if group[c].astype(str).nunique() > 1]
        for row in group.to_dict("records"):
            labels[tuple(row[c] for c in SCOPE)] = ", ".join(f"{c}={row[c]}" for c in varying)
    return labels


def _minus_random(table: pd.DataFrame, row) -> float:
    if row.weights != "pretrained":
        return np.nan
    random = table[(table["dataset"] == row.dataset) & (table["method"] == row.method)
                   & (table["layer_set"] == row.layer_set) & (table["settings_key"] == row.settings_key)
                   & (table["model"] == row.model)
                   & (table["weights"] == "random")]
    if random.empty:
        return np.nan
    same_seed = random[random["model_seed"] == row.model_seed]
    match = same_seed if len(same_seed) else random.sort_values("model_seed")
    return float(row.mean_score - match["mean_score"].iloc[0])


def write(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` as CSV atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    return path
