"""Aggregate every benchmark run under a results directory into one ranked table.

One row per dataset × method × model × weights × seed: rank (within dataset and method, by mean
score), mean score over sites with a 95 % percentile-bootstrap CI (seeded; the seed is a column),
mean r², mean normalised score, n_sites, the model's n_params and depth, and for pretrained rows
the difference to the same architecture's random row (same seed when there is one).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import model_zoo

from .benchmark import SCORE_COLUMNS
from .cache import atomic_path
from .errors import InvalidInput
from .stats import bootstrap_ci

COLUMNS = ["dataset", "method", "rank", "model", "weights", "seed", "mean_score", "ci_low", "ci_high",
           "mean_score_r2", "mean_score_normalized", "n_sites", "n_params", "depth", "source",
           "pretrained_minus_random", "bootstrap_seed"]


def read_scores(directory: str | Path) -> pd.DataFrame:
    """Every ``*.scores.csv`` under ``directory``, concatenated (a later file for the same unit wins)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"results directory {directory} does not exist; run `mouse-rsa benchmark` first")
    frames = []
    for path in sorted(directory.rglob("*.scores.csv")):
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise InvalidInput(f"{path} is not a readable scores file ({err}); delete it or re-run that model") from err
        missing = set(SCORE_COLUMNS) - set(table.columns)
        if missing:
            raise InvalidInput(f"{path} lacks columns {sorted(missing)}; re-run that model")
        frames.append(table)
    if not frames:
        raise InvalidInput(f"no *.scores.csv under {directory}; run `mouse-rsa benchmark` first")
    scores = pd.concat(frames, ignore_index=True)
    return scores.drop_duplicates(["dataset", "method", "model", "weights", "seed", "site"], keep="last")


def leaderboard(directory: str | Path = "results", bootstrap_seed: int = 0) -> pd.DataFrame:
    scores = read_scores(directory)
    rows = []
    for (dataset, method, model, weights, seed), g in scores.groupby(["dataset", "method", "model", "weights", "seed"]):
        low, high = bootstrap_ci(g["score"], seed=bootstrap_seed)
        try:
            meta = model_zoo.info(model)
        except InvalidInput:
            meta = model_zoo.ModelInfo(model, "unknown")
        rows.append({"dataset": dataset, "method": method, "model": model, "weights": weights, "seed": seed,
                     "mean_score": g["score"].mean(), "ci_low": low, "ci_high": high,
                     "mean_score_r2": g["score_r2"].mean(), "mean_score_normalized": g["score_normalized"].mean(),
                     "n_sites": int(g["site"].nunique()), "n_params": meta.n_params, "depth": meta.depth,
                     "source": meta.source, "bootstrap_seed": bootstrap_seed})
    table = pd.DataFrame(rows)
    table["pretrained_minus_random"] = [_minus_random(table, row) for row in table.itertuples()]
    table["rank"] = table.groupby(["dataset", "method"])["mean_score"].rank(ascending=False, method="min").astype(int)
    return table.sort_values(["dataset", "method", "rank", "model"])[COLUMNS].reset_index(drop=True)


def _minus_random(table: pd.DataFrame, row) -> float:
    if row.weights != "pretrained":
        return np.nan
    random = table[(table["dataset"] == row.dataset) & (table["method"] == row.method)
                   & (table["model"] == row.model) & (table["weights"] == "random")]
    if random.empty:
        return np.nan
    same_seed = random[random["seed"] == row.seed]
    match = same_seed if len(same_seed) else random.sort_values("seed")
    return float(row.mean_score - match["mean_score"].iloc[0])


def write(table: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    return path
