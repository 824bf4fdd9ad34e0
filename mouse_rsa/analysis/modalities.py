"""Does a model's rank hold across recording methods? Rank agreement between the datasets of one results
directory (e.g. ``demo`` and ``demo-neuropixels``, or ``allen`` and ``allen-neuropixels``).

The models are the leaderboard's entries (model × weights × weights source, their seeds averaged). Two
datasets are compared where they were scored under the same model-side settings (``MODEL_SETTINGS``:
method, layer set, folds, repeats, cv seed, permutations, max_dim, precision, code, ...); their target
settings (reliability threshold, minimum cells, ...) may differ.
For each such pair, on the models ranked on both: Spearman's ρ and Kendall's τ-b between their scores
on the one dataset and on the other (scipy, with p-values), overall (the leaderboard's ranked score,
``RANKED``) and per area present in both (the mean of the per-site score ``SITE_SCORE`` over the
area's sites), each with a percentile bootstrap CI over models: the models are resampled with
replacement (seeded), so the CI says how much the agreement depends on which models were run. The
neural measurement noise is in the leaderboard's per-model CIs, not here. Reads CSVs only: no torch.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from ..data.dataset import SITE_AREAS
from ..leaderboard import model_rows

RANKED = "mean_score_corrected"  # the leaderboard column its `rank` orders (tests/test_modalities.py checks it)
SITE_SCORE = "score_corrected"   # the per-site score that RANKED averages over sites (and seeds)
MODEL_SETTINGS = ["method", "layer_set", "cv_seed", "folds", "repeats", "permutations", "ridge_criterion", "max_dim",
                  "bn_calibration", "precision", "code_version", "code_fingerprint"]
ENTRY = ("model", "weights", "weights_source")
ALL_AREAS = "all areas"
_GROUP = ["dataset_a", "dataset_b", "method", "layer_set", "settings_key_a", "settings_key_b", "area"]
MIN_MODELS = 4
CONFIDENCE = 0.95
_CHUNK = 500  # bootstrap resamples per block (bounds the τ-b pair arrays at CHUNK × models² bytes)
COLUMNS = ["dataset_a", "dataset_b", "method", "layer_set", "settings_key_a", "settings_key_b", "area", "n_models",
           "spearman", "spearman_low", "spearman_high", "p_spearman", "kendall", "kendall_low", "kendall_high",
           "p_kendall", "score", "n_resamples", "bootstrap_seed"]
SKIPPED = ("rank agreement across datasets needs the same models scored on ≥ 2 datasets under the same "
           "settings (e.g. run `mouse-rsa benchmark ... --dataset demo` and `... --dataset demo-neuropixels` into "
           "one --out)")


def _entry(table: pd.DataFrame) -> list[str]:
    return [c for c in ENTRY if c in table.columns]


def rankings(table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Each entry's score per dataset × settings × area: ``RANKED`` from the leaderboard ``table``
    (area ``ALL_AREAS``) and the mean ``SITE_SCORE`` over each area's sites from ``scores``."""
    entry = _entry(table)
    scope = ["dataset", "method", "layer_set", "settings_key"]
    scores = model_rows(scores)             # a random network's seeds are one entry, as on the leaderboard
    overall = table[[*scope, *entry, RANKED]].rename(columns={RANKED: "score"}).assign(area=ALL_AREAS)
    areas = scores.groupby([*scope, *entry, "area"], dropna=False)[SITE_SCORE].mean().rename("score").reset_index()
    model_side = scores.drop_duplicates("settings_key").set_index("settings_key")[MODEL_SETTINGS[2:]]
    return pd.concat([overall, areas], ignore_index=True).join(model_side, on="settings_key")


def paired_rankings(table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """For every two datasets: the entries scored on both under the same model-side settings, one row per
    entry × area × settings pair with ``score_a``, ``score_b`` and their ranks among the paired entries
    (1 = best)."""
    ranked = rankings(table, scores)
    keys = [*MODEL_SETTINGS, "area", *_entry(table)]
    frames = []
    for a, b in itertools.combinations(sorted(ranked["dataset"].unique()), 2):
        pair = ranked[ranked["dataset"] == a].merge(ranked[ranked["dataset"] == b], on=keys, suffixes=("_a", "_b"))
        frames.append(pair)
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["dataset_a", "settings_key_a", "score_a", "dataset_b", "settings_key_b", "score_b", *keys])
    group = pairs.groupby(_GROUP, sort=False)
    for side in ("a", "b"):
        pairs[f"rank_{side}"] = group[f"score_{side}"].rank(ascending=False, method="min")
    return pairs


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's ρ between the rows of ``x`` and ``y`` (resamples × models; average ranks for ties); NaN
    where a row is constant."""
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b between the rows of ``x`` and ``y`` (resamples × models): (concordant − discordant)
    pairs over the geometric mean of the pairs untied in x and in y; NaN where a row is constant."""
    i, j = np.triu_indices(x.shape[1], k=1)
    sx = np.sign(x[:, i] - x[:, j]).astype(np.int8)
    sy = np.sign(y[:, i] - y[:, j]).astype(np.int8)
    s = (sx.astype(np.int64) * sy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / np.sqrt(np.abs(sx).sum(axis=1) * np.abs(sy).sum(axis=1))


def bootstrap_agreement(x: np.ndarray, y: np.ndarray, n_resamples: int, seed: int,
                        confidence: float = CONFIDENCE) -> dict[str, float]:
    """Percentile CIs of Spearman's ρ and Kendall's τ-b over models resampled with replacement (resamples
    in which one side is constant are left out)."""
    rng = np.random.default_rng(seed)
    rho, tau = [], []
    for start in range(0, n_resamples, _CHUNK):
        index = rng.integers(0, len(x), (min(_CHUNK, n_resamples - start), len(x)))
        rho.append(spearman_rows(x[index], y[index]))
        tau.append(kendall_rows(x[index], y[index]))
    out = {}
    tail = (1 - confidence) / 2
    for name, blocks in (("spearman", rho), ("kendall", tau)):
        values = np.concatenate(blocks) if blocks else np.array([np.nan])
        values = values[np.isfinite(values)]
        low, high = np.quantile(values, [tail, 1 - tail]) if len(values) else (np.nan, np.nan)
        out[f"{name}_low"], out[f"{name}_high"] = float(low), float(high)
    return out


def rank_agreement(pairs: pd.DataFrame, n_resamples: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """One row per dataset pair × method × layer set × settings pair × area with ≥ ``MIN_MODELS`` paired
    models: Spearman and Kendall with p-values and bootstrap CIs (``COLUMNS``)."""
    rows = []
    for key, group in pairs.groupby(_GROUP, sort=False) if len(pairs) else []:
        if len(group) < MIN_MODELS:
            continue
        x, y = group["score_a"].to_numpy(dtype=np.float64), group["score_b"].to_numpy(dtype=np.float64)
        rho, tau = stats.spearmanr(x, y), stats.kendalltau(x, y)
        rows.append({**dict(zip(_GROUP, key)), "n_models": len(group),
                     "spearman": float(rho.correlation), "p_spearman": float(rho.pvalue),
                     "kendall": float(tau.correlation), "p_kendall": float(tau.pvalue),
                     **bootstrap_agreement(x, y, n_resamples, seed), "score": RANKED,
                     "n_resamples": n_resamples, "bootstrap_seed": seed})
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {area: i for i, area in enumerate([ALL_AREAS, *SITE_AREAS])}
    table["_order"] = table["area"].map(order).fillna(len(order))
    return table.sort_values([*_GROUP[:-1], "_order", "area"], kind="stable").drop(columns="_order").reset_index(drop=True)


def summary_lines(table: pd.DataFrame) -> list[str]:
    """One line per dataset pair × method × layer set × settings pair: overall ρ and τ with CIs, ρ per area."""
    lines = []
    settings_pairs = table.drop_duplicates(_GROUP[:-1]).groupby(_GROUP[:4]).size()
    for key, rows in table.groupby(_GROUP[:-1], sort=False):
        a, b, method, layer_set = key[:4]
        overall = rows[rows["area"] == ALL_AREAS]
        head = f"model ranks, {a} vs {b}, {method} {layer_set}"
        if settings_pairs[key[:4]] > 1:
            head += f" (settings {key[4]} vs {key[5]})"
        if len(overall):
            r = overall.iloc[0]
            head += (f": Spearman {r.spearman:.2f} [{r.spearman_low:.2f}, {r.spearman_high:.2f}], Kendall "
                     f"{r.kendall:.2f} [{r.kendall_low:.2f}, {r.kendall_high:.2f}] over {r.n_models} models")
        per_area = rows[rows["area"] != ALL_AREAS]
        if len(per_area):
            head += "; per area Spearman " + ", ".join(f"{r.area} {r.spearman:.2f}" for r in per_area.itertuples())
        lines.append(head)
    return lines
