"""Rank the models under a results directory (``rank``) and write the table (``write``).

One row per dataset × method × layer set × settings × model × weights (and weights source): the model
seeds of a row are replicates of one network and are aggregated, never ranked apart.

* ``mean_score``: the cross-validated score averaged over sites, then over model seeds; ``seed_sd`` its
  SD over seeds (NaN with one seed), ``n_seeds`` and ``model_seeds`` how many and which;
* ``ci_low``, ``ci_high``: 95 % percentile interval of ``mean_score`` over stimulus bootstrap resamples
  (the fits held fixed; ``resampling``) and, with several seeds, a bootstrap draw of the seeds on each
  resample: it carries both stimulus and seed variance;
* ``chance_mean``: the score a fit to stimulus-permuted data gets (mean over sites, permutations and
  seeds); ``mean_score_corrected`` = mean_score − chance_mean, what ``rank`` orders by (raw scores favour
  models whose chance level is higher); its interval is the CI shifted by the chance level;
  ``p_permutation``: the permutation p of the seed-mean over sites;
* ``rank_low``, ``rank_high``: the 95 % interval of the row's rank over the same resamples;
* ``identical_to``: other models of the comparison whose every layer gives the same RDM (one network
  counted twice, e.g. random vgg16 and vgg16_bn); ``settings``: the settings that tell this comparison
  from the others of its dataset, method and layer set (e.g. ``folds=10``);
* mean signed r², normalised score and ceiling, n_sites, the catalogue's n_params, depth and source, and
  for pretrained rows ``pretrained_minus_random`` (corrected scores; random averaged over its seeds).

Reads CSVs and npz files only: no torch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .cache import atomic_path
from .identical import identical_models
from .resampling import UnitScores, interval, stimulus_counts
from .results import KEY_COLUMNS
from .results.files import NOT_SETTINGS
from .settings import BOOTSTRAP_RESAMPLES as DEFAULT_RESAMPLES

SCOPE = ["dataset", "method", "layer_set", "settings_key"]
TIE_DECIMALS = 6  # scores equal to 1e-6 share a rank (one network run twice differs by float rounding, ~1e-8)
MODEL = ["model", "weights", "weights_source"]
COLUMNS = ["dataset", "method", "layer_set", "settings", "settings_key", "rank", "rank_low", "rank_high", "model",
           "weights", "weights_source", "n_seeds", "model_seeds", "mean_score_corrected", "mean_score", "ci_low",
           "ci_high", "chance_mean", "p_permutation", "seed_sd", "mean_score_r2", "mean_score_normalized",
           "mean_ceiling", "n_sites", "identical_to", "pretrained_minus_random", "n_params", "depth", "source",
           "n_bootstrap", "bootstrap_seed"]


def _metadata() -> pd.DataFrame:
    import model_zoo

    table = model_zoo.catalogue()
    return table.set_index("name")[["n_params", "depth", "source"]]


def model_rows(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` (one row per unit) with ``weights_source`` of random rows made seed-free, so that the
    model seeds of one network group together."""
    return units.assign(weights_source=np.where(units["weights"] == "random", "random init",
                                                units["weights_source"].astype(str)))


def rank(directory: str | Path = "results", n_bootstrap: int = DEFAULT_RESAMPLES, bootstrap_seed: int = 0,
         units: UnitScores | None = None) -> pd.DataFrame:
    """The leaderboard of ``directory`` (see the module docstring for its columns). ``n_bootstrap`` 0
    leaves the intervals out (faster)."""
    units = units or UnitScores.read(directory)
    table = model_rows(units.table)
    rows = []
    for scope, scoped in table.groupby(SCOPE, sort=False):
        counts = stimulus_counts(units.n_stimuli(scoped["unit_key"].iloc[0]), n_bootstrap, bootstrap_seed) \
            if n_bootstrap else None
        summaries = [_summary(units, group, counts, bootstrap_seed) | dict(zip(SCOPE + MODEL, (*scope, *key)))
                     for key, group in scoped.groupby(MODEL, sort=False)]
        rows += _ranked(summaries)
    board = pd.DataFrame(rows)
    board["pretrained_minus_random"] = _minus_random(board)
    identical = identical_models(table, lambda key: (units.arrays(key) or {}).get("layer_signature"))
    board["identical_to"] = [", ".join(identical.get(tuple(r), [])) for r in board[SCOPE + MODEL[:2]].to_numpy()]
    labels = settings_labels(units.scores)
    board["settings"] = [labels[key] for key in board[SCOPE].itertuples(index=False, name=None)]
    board = board.join(_metadata(), on="model")
    board["source"] = board["source"].fillna("unknown")
    board["n_bootstrap"], board["bootstrap_seed"] = n_bootstrap, bootstrap_seed
    return board.sort_values([*SCOPE, "rank", "model"])[COLUMNS].reset_index(drop=True)


def _summary(units: UnitScores, group: pd.DataFrame, counts: np.ndarray | None, seed: int) -> dict:
    """One row's numbers from its units (one per model seed); ``_draws`` holds its corrected resamples."""
    group = group.sort_values("model_seed")
    chance = group["mean_chance"].mean()
    row = {"n_seeds": len(group), "model_seeds": " ".join(map(str, group["model_seed"])),
           "mean_score": group["mean_score"].mean(), "seed_sd": group["mean_score"].std(ddof=1),
           "chance_mean": chance, "mean_score_corrected": group["mean_corrected"].mean(),
           "p_permutation": _seed_mean_p(units, group), "mean_score_r2": group["mean_score_r2"].mean(),
           "mean_score_normalized": group["mean_score_normalized"].mean(),
           "mean_ceiling": group["mean_ceiling"].mean(), "n_sites": int(group["n_sites"].max()),
           "ci_low": np.nan, "ci_high": np.nan, "_draws": None}
    draws = units.draws(list(group["unit_key"]), counts, seed) if counts is not None else None
    if draws is not None:
        row["ci_low"], row["ci_high"] = interval(draws)
        row["_draws"] = draws - chance
    return row


def _seed_mean_p(units: UnitScores, group: pd.DataFrame) -> float:
    """Permutation p of the seed-mean over sites: the seeds share their permutations, so the null of the
    mean is the mean of their nulls."""
    found = [(units.arrays(key) or {}).get("null") for key in group["unit_key"]]
    nulls = [n for n in found if n is not None and len(n)]
    if len(nulls) < len(found) or len({n.shape for n in nulls}) != 1:
        return float("nan")
    null = np.mean([n.mean(axis=1) for n in nulls], axis=0)
    return float((1 + (null >= group["mean_score"].mean() - 1e-12).sum()) / (1 + len(null)))


def _ranked(summaries: list[dict]) -> list[dict]:
    """Rank the rows of one comparison by corrected score (raw score where no chance level), with the
    95 % interval of each rank over the shared resamples."""
    value = np.array([s["mean_score_corrected"] if np.isfinite(s["mean_score_corrected"]) else s["mean_score"]
                      for s in summaries])
    ranks = pd.Series(value.round(TIE_DECIMALS)).rank(ascending=False, method="min").to_numpy()
    draws = [s.pop("_draws") for s in summaries]
    low = high = np.full(len(summaries), np.nan)
    if all(d is not None for d in draws) and draws:
        per_resample = pd.DataFrame(np.stack(draws).round(TIE_DECIMALS)).rank(ascending=False, method="min")
        per_resample = per_resample.to_numpy()
        low, high = np.percentile(per_resample, [2.5, 97.5], axis=1)
    for s, r, lo, hi in zip(summaries, ranks, low, high):
        s.update(rank=int(r), rank_low=lo, rank_high=hi)
    return summaries


def settings_labels(scores: pd.DataFrame) -> dict[tuple, str]:
    """Per (dataset, method, layer set, settings_key): the settings in which it differs from the other
    settings of its dataset, method and layer set, as ``field=value, ...`` ("" where there is one)."""
    fields = [c for c in KEY_COLUMNS if c not in NOT_SETTINGS and c != "dataset" and c in scores.columns]
    labels = {}
    for _, group in scores.drop_duplicates(SCOPE).groupby(SCOPE[:-1]):
        varying = [c for c in fields if group[c].astype(str).nunique() > 1]
        for row in group.to_dict("records"):
            labels[tuple(row[c] for c in SCOPE)] = ", ".join(f"{c}={row[c]}" for c in varying)
    return labels


def _minus_random(board: pd.DataFrame) -> np.ndarray:
    """Pretrained corrected score minus the same architecture's random one (averaged over its seeds)."""
    random = board[board["weights"] == "random"].set_index([*SCOPE, "model"])["mean_score_corrected"]
    out = np.full(len(board), np.nan)
    for i, row in enumerate(board.itertuples(index=False)):
        key = (row.dataset, row.method, row.layer_set, row.settings_key, row.model)
        if row.weights == "pretrained" and key in random.index:
            out[i] = row.mean_score_corrected - random.loc[key]
    return out


def write(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` as CSV atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    return path
