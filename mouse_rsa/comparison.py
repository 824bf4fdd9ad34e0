"""Is one model better than another? Paired bootstrap differences, with seeds as replicates.

For two rows of one comparison (dataset, method, layer set, settings; a row is model × weights with its
model seeds, as in the leaderboard) the difference of their chance-corrected mean scores is computed
on the same stimulus bootstrap resamples (``resampling``): the stimuli a resample draws are the same
for both models, so what the stimuli share cancels, and each model's seeds are drawn with replacement
on every resample, so seed variance is carried. The 95 % interval is the percentile interval of the
resampled differences and ``p_bootstrap`` = 2·min(#d ≤ 0, #d ≥ 0 (each + 1)) / (n + 1), capped at 1;
``p_holm`` (family-wise) and ``p_fdr`` (Benjamini–Hochberg) adjust it over the pairs of each
comparison (statsmodels ``multipletests``). A pair of identical networks (``identical``) has no
difference to test: it is refused with a line that names it, never printed as p = 1.

``compare(directory)`` pairs each architecture's pretrained and random rows; ``compare(directory,
["alexnet", "vgg16"])`` every pair of the rows of the named models (``name`` or ``name:weights``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from .errors import InvalidInput
from .identical import identical_models
from .leaderboard import SCOPE, model_rows
from .resampling import UnitScores, interval, stimulus_counts
from .settings import BOOTSTRAP_RESAMPLES as DEFAULT_RESAMPLES

ALPHA = 0.05
COLUMNS = [*SCOPE, "model_a", "weights_a", "model_b", "weights_b", "n_seeds_a", "n_seeds_b", "score_a", "score_b",
           "difference", "ci_low", "ci_high", "p_bootstrap", "p_holm", "p_fdr", "n_bootstrap", "bootstrap_seed"]


@dataclass
class Comparison:
    """The tested pairs (``table``, ``COLUMNS``) and one line per pair that could not be tested."""

    table: pd.DataFrame
    refused: list[str] = field(default_factory=list)


def _spec(text: str) -> tuple[str, str | None]:
    name, _, weights = text.partition(":")
    return name, weights or None


def _pairs(rows: pd.DataFrame, models: list[str] | None) -> list[tuple[tuple, tuple]]:
    """(model, weights) pairs of one comparison: pretrained vs random per architecture, or every pair of
    the rows matching ``models``."""
    present = list(dict.fromkeys(zip(rows["model"], rows["weights"])))
    if models is None:
        return [((m, "pretrained"), (m, "random")) for m, w in present if w == "pretrained" and (m, "random") in present]
    chosen = [(m, w) for spec in models for m, w in present
              if m == _spec(spec)[0] and _spec(spec)[1] in (None, w)]
    return list(combinations(dict.fromkeys(chosen), 2))


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p of a zero difference (see the module docstring)."""
    d = differences[np.isfinite(differences)]
    tail = min((d <= 0).sum(), (d >= 0).sum()) + 1
    return float(min(1.0, 2 * tail / (len(d) + 1)))


def compare(directory: str | Path = "results", models: list[str] | None = None,
            n_bootstrap: int = DEFAULT_RESAMPLES, bootstrap_seed: int = 0, units: UnitScores | None = None) -> Comparison:
    """Paired differences (see the module docstring); InvalidInput when no pair can be formed."""
    if n_bootstrap < 100:
        raise InvalidInput(f"n_bootstrap must be at least 100 for a p-value, not {n_bootstrap}", argument="bootstrap")
    units = units or UnitScores.read(directory)
    table = model_rows(units.table)
    identical = identical_models(table, lambda key: (units.arrays(key) or {}).get("layer_signature"))
    found, refused = [], []
    for scope, scoped in table.groupby(SCOPE, sort=False):
        counts = stimulus_counts(units.n_stimuli(scoped["unit_key"].iloc[0]), n_bootstrap, bootstrap_seed)
        groups = {key: g.sort_values("model_seed") for key, g in scoped.groupby(["model", "weights"], sort=False)}
        label = f"{scope[0]} {scope[1]} {scope[2]}"
        rows = []
        for a, b in _pairs(scoped, models):
            if f"{b[0]} ({b[1]})" in identical.get((*scope, *a), []):
                refused.append(f"{label}: {a[0]} ({a[1]}) and {b[0]} ({b[1]}) are the same network (every layer RDM "
                               "identical), so their difference is 0 by construction; not tested")
                continue
            draws = [units.draws(list(groups[k]["unit_key"]), counts, bootstrap_seed) for k in (a, b)]
            if draws[0] is None or draws[1] is None:
                refused.append(f"{label}: {a[0]} ({a[1]}) vs {b[0]} ({b[1]}): a unit kept no held-out predictions "
                               "(made by an older mouse-rsa); run it again")
                continue
            chance = [groups[k]["mean_chance"].mean() for k in (a, b)]
            diff = (draws[0] - chance[0]) - (draws[1] - chance[1])
            score = [groups[k]["mean_corrected"].mean() for k in (a, b)]
            low, high = interval(diff)
            rows.append({**dict(zip(SCOPE, scope)), "model_a": a[0], "weights_a": a[1], "model_b": b[0],
                         "weights_b": b[1], "n_seeds_a": len(groups[a]), "n_seeds_b": len(groups[b]),
                         "score_a": score[0], "score_b": score[1], "difference": score[0] - score[1],
                         "ci_low": low, "ci_high": high, "p_bootstrap": bootstrap_p(diff)})
        if rows:
            family = pd.DataFrame(rows)
            family["p_holm"] = multipletests(family["p_bootstrap"], method="holm")[1]
            family["p_fdr"] = multipletests(family["p_bootstrap"], method="fdr_bh")[1]
            found.append(family)
    if not found and not refused:
        wanted = "architectures run with --weights both" if models is None else f"the models {', '.join(models)}"
        raise InvalidInput(f"nothing to compare under {directory}: no comparison holds two rows of {wanted}; "
                           "run `mouse-rsa benchmark` for them with the same settings", argument="directory")
    out = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=COLUMNS[:-2])
    return Comparison(out.assign(n_bootstrap=n_bootstrap, bootstrap_seed=bootstrap_seed)[COLUMNS], refused)


def summary(table: pd.DataFrame, what: str = "architectures", alpha: float = ALPHA) -> str:
    """"k of N <what> beat their random twin, m significantly; j were significantly worse" (Holm-adjusted
    bootstrap p at ``alpha``), for the pretrained-vs-random rows of one comparison."""
    better, significant = table["difference"] > 0, table["p_holm"] < alpha
    return (f"{int(better.sum())} of {len(table)} {what} beat their random twin, "
            f"{int((better & significant).sum())} significantly; "
            f"{int((~better & significant).sum())} were significantly worse (paired bootstrap over stimuli and "
            f"seeds, Holm-adjusted p < {alpha})")
