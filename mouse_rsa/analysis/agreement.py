"""Does a ranking of models survive a change of scoring? Rank agreement between methods and image sizes, and
how much one ranking moves when an area or a site is left out.

A *scoring* is one method at one image size; the scorings of one *context* (dataset, layer set and every
other setting that changes numbers: the neural target, folds, seeds, ...) scored the same models against
the same sites and stimuli. A ranking orders the models (model × weights, model seeds averaged) by the
leaderboard's ranked score, the chance-corrected score (``score_corrected``), averaged over all sites
(``scope`` all) or over one area's sites.

* ``rank_agreement``: Spearman ρ and Kendall τ-b between two rankings of the same models, with scipy's
  p-values and, given paired resamples of both, the percentile intervals of ρ and τ over them. It takes
  plain scores per model, so any two rankings (methods, image sizes, recording modalities) can share it.
* ``method_agreement``: every pair of scorings of every context, overall and per area; the intervals come
  from the stimulus bootstrap of ``resampling`` (each unit's kept held-out predictions rescored on the
  same stimulus resamples for both scorings, seeds drawn with replacement on each), so they say how sure
  the agreement is given the stimuli sampled.
* ``ranking_stability``: per scoring, ρ and τ between its ranking and the ranking without one area, or
  without one site: how much the order rests on a single area or site.

Reads result files only (no torch).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..resampling import CONFIDENCE, UnitScores, interval, seed_bootstrap, stimulus_counts
from ..results import KEY_COLUMNS
from ..results.files import NOT_SETTINGS
from ..settings import METHOD_SETTINGS

SCORING = ["method", "image_size"]
# what tells one context from another: every setting but those that differ between methods and image sizes
CONTEXT = ["dataset", "layer_set", *(c for c in KEY_COLUMNS if c not in NOT_SETTINGS and c != "dataset"
                                     and c not in ("permutations", "image_size", *METHOD_SETTINGS))]
ENTITY = ["model", "weights"]
MIN_MODELS = 3          # fewer models have no ranking worth a correlation
STATISTICS = ("spearman", "kendall")
AGREEMENT_COLUMNS = ["dataset", "layer_set", "context", "method_a", "image_size_a", "method_b", "image_size_b", "scope",
                     "n_models", "spearman", "spearman_low", "spearman_high", "spearman_p", "kendall", "kendall_low",
                     "kendall_high", "kendall_p", "n_bootstrap", "bootstrap_seed"]
STABILITY_COLUMNS = ["dataset", "layer_set", "context", "method", "image_size", "left_out_kind", "left_out", "n_models",
                     "spearman", "kendall"]


def _correlations(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman ρ and Kendall τ-b of two score vectors (NaN where either is constant)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    return float(stats.spearmanr(a, b)[0]), float(stats.kendalltau(a, b)[0])


def rank_agreement(a: pd.Series, b: pd.Series, draws_a: pd.DataFrame | None = None,
                   draws_b: pd.DataFrame | None = None, confidence: float = CONFIDENCE) -> dict[str, float]:
    """How alike two scorings rank the same models: ``a`` and ``b`` are scores (higher ranks first) indexed by
    model, and only the models both scored count. Returns n_models, Spearman ρ and Kendall τ-b with scipy's
    two-sided p-values, and, with ``draws_a`` and ``draws_b`` (resamples × models, row i of both from the
    same resample), the ``confidence`` percentile interval of each over the resamples (NaN otherwise)."""
    common = a.index.intersection(b.index)
    x, y = a[common].to_numpy(float), b[common].to_numpy(float)
    out: dict[str, float] = {"n_models": len(common)}
    if len(common) < 2:
        return out | {f"{s}{part}": np.nan for s in STATISTICS for part in ("", "_low", "_high", "_p")}
    for name, test in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
        value, p = test(x, y) if np.ptp(x) and np.ptp(y) else (np.nan, np.nan)
        out |= {name: float(value), f"{name}_p": float(p), f"{name}_low": np.nan, f"{name}_high": np.nan}
    if draws_a is not None and draws_b is not None:
        pairs = [_correlations(u, v) for u, v in zip(draws_a[common].to_numpy(float), draws_b[common].to_numpy(float))]
        for k, name in enumerate(STATISTICS):
            out[f"{name}_low"], out[f"{name}_high"] = interval(np.array([p[k] for p in pairs]), confidence)
    return out


class _Scoring:
    """One scoring of one context: per entity (model × weights) and site, the chance-corrected score with its
    model seeds averaged, and the same on stimulus resamples (each unit rescored once, ``site_draws``)."""

    def __init__(self, units: UnitScores, rows: pd.DataFrame):
        self.units, self.rows = units, rows
        scores = units.scores[units.scores["unit_key"].isin(rows["unit_key"])]
        self.sites = scores.groupby([*ENTITY, "site"], sort=False)["score_corrected"].mean().unstack("site")
        self.area_of = scores.drop_duplicates("site").set_index("site")["area"]
        self.chance = scores.set_index(["unit_key", "site"])["chance_mean"]
        self._draws: dict[str, pd.DataFrame | None] = {}

    def ranking(self, sites: list[str] | None = None) -> pd.Series:
        """Mean chance-corrected score per entity over ``sites`` (default all)."""
        return (self.sites if sites is None else self.sites[sites]).mean(axis=1)

    def site_draws(self, key: str, counts: np.ndarray) -> pd.DataFrame | None:
        """Resamples × sites: the unit's chance-corrected site scores on each stimulus resample (read once)."""
        if key not in self._draws:
            resampled = self.units.resampled(key, counts)
            row = self.units.row(key)
            order = [str(s) for s in self.units.target(row["dataset"], row["targets_key"])["sites"]]
            self._draws[key] = None if resampled is None else \
                pd.DataFrame(resampled - self.chance[key].reindex(order).to_numpy(), columns=order)
        return self._draws[key]

    def draws(self, counts: np.ndarray, seed: int, sites: list[str] | None = None) -> pd.DataFrame | None:
        """Resamples × entities of ``ranking(sites)`` on the stimulus resamples ``counts``, the model seeds drawn
        with replacement on each (``resampling.seed_bootstrap``, as the leaderboard does); None when a unit
        kept no held-out predictions."""
        columns = {}
        for entity, group in self.rows.groupby(ENTITY, sort=False):
            per_seed = []
            for key in group["unit_key"]:
                site_draws = self.site_draws(key, counts)
                if site_draws is None:
                    return None
                per_seed.append(site_draws[sites or list(site_draws.columns)].mean(axis=1).to_numpy())
            columns[entity] = seed_bootstrap(np.stack(per_seed), seed)
        return pd.DataFrame(columns)


def _contexts(units: UnitScores) -> list[tuple[dict, dict[tuple, _Scoring]]]:
    """Each context with two or more scorings: its labels and its scorings by (method, image size)."""
    table = units.table.assign(image_size=units.table["image_size"].astype(str),
                               weights=units.table["weights"].astype(str))
    found = []
    for key, rows in table.groupby(CONTEXT, sort=False, dropna=False):
        scorings = {scoring: _Scoring(units, group) for scoring, group in rows.groupby(SCORING, sort=False)}
        if len(scorings) > 1:
            labels = dict(zip(CONTEXT, key))
            found.append(({"dataset": labels["dataset"], "layer_set": labels["layer_set"],
                           "context": rows["settings_key"].iloc[0]}, scorings))
    return found


def method_agreement(units: UnitScores, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Rank agreement (``rank_agreement``) of every pair of scorings of every context, over all sites and per
    area, with intervals over ``n_bootstrap`` stimulus resamples (0: none); ``AGREEMENT_COLUMNS``. ``context``
    is the settings_key of one of its scorings."""
    rows = []
    for labels, scorings in _contexts(units):
        first = next(iter(scorings.values()))
        counts = stimulus_counts(units.n_stimuli(first.rows["unit_key"].iloc[0]), n_bootstrap, seed) \
            if n_bootstrap else None
        scopes = {"all": None, **{area: list(group.index) for area, group in first.area_of.groupby(first.area_of)}}
        for scope, sites in scopes.items():
            draws = {name: s.draws(counts, seed, sites) if counts is not None else None for name, s in scorings.items()}
            for (name_a, a), (name_b, b) in combinations(scorings.items(), 2):
                found = rank_agreement(a.ranking(sites), b.ranking(sites), draws[name_a], draws[name_b])
                if found["n_models"] < MIN_MODELS:
                    continue
                rows.append({**labels, "method_a": name_a[0], "image_size_a": name_a[1], "method_b": name_b[0],
                             "image_size_b": name_b[1], "scope": scope, **found, "n_bootstrap": n_bootstrap,
                             "bootstrap_seed": seed})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def ranking_stability(units: UnitScores) -> pd.DataFrame:
    """Per scoring of every context, Spearman ρ and Kendall τ between its ranking over all sites and its ranking
    without one area (``left_out_kind`` area) or one site; ``STABILITY_COLUMNS``."""
    rows = []
    for labels, scorings in _contexts(units):
        for (method, size), scoring in scorings.items():
            full = scoring.ranking()
            if len(full) < MIN_MODELS:
                continue
            sites = list(scoring.sites.columns)
            left_out = [("area", area, [s for s in sites if scoring.area_of[s] != area])
                        for area in dict.fromkeys(scoring.area_of[sites])]
            left_out += [("site", site, [s for s in sites if s != site]) for site in sites]
            for kind, name, kept in left_out:
                if not kept:
                    continue
                rho, tau = _correlations(full.to_numpy(float), scoring.ranking(kept)[full.index].to_numpy(float))
                rows.append({**labels, "method": method, "image_size": size, "left_out_kind": kind, "left_out": name,
                             "n_models": len(full), "spearman": rho, "kendall": tau})
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)


def _scoring_name(method: str, size: str) -> str:
    return method if size == "native" else f"{method} @ {size} px"


def summary_lines(agreement: pd.DataFrame, stability: pd.DataFrame) -> list[str]:
    """One line per pair of scorings over all sites, and per scoring the least stable left-out area and site."""
    lines = []
    for row in agreement[agreement["scope"] == "all"].itertuples():
        lines.append(f"{row.dataset} {row.layer_set}: {_scoring_name(row.method_a, row.image_size_a)} vs "
                     f"{_scoring_name(row.method_b, row.image_size_b)} rank the {row.n_models} models with Spearman "
                     f"ρ = {row.spearman:.2f} [{row.spearman_low:.2f}, {row.spearman_high:.2f}], Kendall τ = "
                     f"{row.kendall:.2f} [{row.kendall_low:.2f}, {row.kendall_high:.2f}]")
    for (dataset, layer_set, method, size), rows in stability.groupby(["dataset", "layer_set", "method", "image_size"],
                                                                     sort=False):
        worst = {kind: group.loc[group["spearman"].idxmin()] for kind, group in rows.groupby("left_out_kind")
                 if group["spearman"].notna().any()}
        parts = [f"without {row['left_out']} ρ = {row['spearman']:.2f}" for kind, row in sorted(worst.items())]
        if parts:
            lines.append(f"{dataset} {layer_set} {_scoring_name(method, size)}: ranking with one area or site left "
                         f"out, least alike: {'; '.join(parts)}")
    return lines
