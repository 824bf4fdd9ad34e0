"""What the report calls things: human labels for result columns, methods, layer sets and weights, and how
a value is written (a missing value is written as missing, never as zero).

Any column a table gains later (``leaderboard.rank`` grows with the statistics) is shown under a label
made from its name until it gets one here.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

from ..figures.style import LAYER_SETS, layer_label, method_title

__all__ = ["COLUMNS", "INTERVALS", "MISSING", "describe", "fmt", "is_demo", "is_missing", "label", "layer_label",
           "layer_set_label", "method_title", "modality", "raw", "weights_label"]

MISSING = "—"

# column → (label, what it means); paired columns (low, high) are shown as one interval
COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("rank", "rank by mean score within this table (1 = best); ties share a rank"),
    "rank_low": ("rank low", "best rank within the 95% interval"),
    "rank_high": ("rank high", "worst rank within the 95% interval"),
    "model": ("model", "network or baseline"),
    "weights": ("weights", "pretrained, random (untrained) or fixed (a baseline)"),
    "weights_source": ("weights source", "where the weights came from: random seed, torchvision/timm tag or file"),
    "model_seed": ("model seed", "seed of the random weights and of the count-sketch of large layers"),
    "model_seeds": ("model seeds", "the model seeds averaged in this row"),
    "n_seeds": ("seeds", "number of model seeds averaged"),
    "seed_sd": ("SD over seeds", "standard deviation of the mean score across model seeds"),
    "mean_score": ("mean score", "cross-validated score averaged over neural sites"),
    "ci_low": ("CI low", "lower end of the 95% bootstrap interval of the mean score"),
    "ci_high": ("CI high", "upper end of the 95% bootstrap interval of the mean score"),
    "chance_mean": ("chance level", "mean score of the stimulus-permutation null"),
    "mean_score_corrected": ("score above chance", "mean score minus its chance level"),
    "p_permutation": ("p (permutation)", "share of stimulus permutations scoring at least as high"),
    "mean_score_r2": ("mean signed r²", "sign(r)·r² averaged over sites"),
    "mean_score_normalized": ("mean r² / ceiling", "signed r² over the site's noise ceiling, averaged over sites"),
    "mean_ceiling": ("mean ceiling (r²)", "noise ceiling in r² units, averaged over sites"),
    "ceiling": ("ceiling (r²)", "split-half noise ceiling of the site, in r² units"),
    "n_sites": ("sites", "neural sites (area × cortical layer) scored"),
    "n_params": ("parameters", "number of parameters"),
    "depth": ("depth", "layers with weights"),
    "n_layers": ("layers", "layers extracted"),
    "source": ("source", "where the model comes from"),
    "family": ("family", "architecture family"),
    "training": ("training", "what the weights were trained on"),
    "pretrained_minus_random": ("pretrained − random", "mean score of the pretrained weights minus the random ones"),
    "identical_to": ("identical to", "another row whose network gives identical features"),
    "settings": ("settings", "settings in which this row's comparison differs from the others"),
    "settings_key": ("settings key", "digest of the settings that make rows comparable"),
    "bootstrap_seed": ("bootstrap seed", "seed of the bootstrap over sites"),
    "dataset": ("dataset", "neural dataset"),
    "method": ("method", "scoring method"),
    "layer_set": ("layer set", "all layers, or each model's final (latent) representation"),
    "site": ("site", "visual area × cortical layer"),
    "area": ("area", "visual area"),
    "cortical_layer": ("cortical layer", "cortical layer"),
    "score": ("score", "cross-validated score of the site"),
    "score_r2": ("signed r²", "sign(r)·r²"),
    "score_normalized": ("r² / ceiling", "signed r² over the noise ceiling"),
    "best_layer": ("best layer", "the layer whose own score is highest (in-sample)"),
    "best_layer_depth": ("best layer depth", "relative depth of the best layer (0 = first, 1 = last)"),
    "best_layer_score": ("best layer score", "the best layer's own score"),
    "n_cells": ("cells", "reliable cells of the site"),
    "mean_difference": ("mean difference", "mean over sites of the paired difference"),
    "p_ttest": ("p (paired t)", "paired t-test over sites"),
    "p_wilcoxon": ("p (Wilcoxon)", "Wilcoxon signed-rank test over sites"),
    "p_bonferroni": ("p (Bonferroni)", "t-test p corrected for the number of comparisons"),
    "p_holm": ("p (Holm)", "t-test p, Holm-corrected"),
    "p_fdr": ("p (FDR)", "Benjamini–Hochberg corrected p"),
}
# pairs shown as one "[low, high]" column
INTERVALS = {"ci_low": ("ci_high", "95% CI"), "rank_low": ("rank_high", "rank interval")}
WEIGHTS = {"pretrained": "pretrained", "random": "random (untrained)", "fixed": "fixed (baseline)"}


def label(column: str) -> str:
    """The human label of ``column`` (its name with spaces for one not listed)."""
    return COLUMNS.get(column, (column.replace("_", " "), ""))[0]


def describe(column: str) -> str:
    """What ``column`` means (empty when unknown)."""
    return COLUMNS.get(column, ("", ""))[1]


def layer_set_label(layer_set: str) -> str:
    return LAYER_SETS.get(str(layer_set), f"layers {layer_set}")


def weights_label(weights: str) -> str:
    return WEIGHTS.get(str(weights), str(weights))


def is_demo(dataset: str) -> bool:
    """Whether ``dataset`` is simulated (the offline demo datasets)."""
    return str(dataset).startswith("demo")


def modality(dataset: str) -> str:
    """How the dataset recorded cortex: Neuropixels (spikes) or 2-photon imaging; unspecified for a
    dataset of the user's whose recording method the results do not say."""
    name = str(dataset)
    if "neuropixels" in name:
        return "Neuropixels"
    if name in ("allen", "demo"):
        return "2-photon"
    return "unspecified"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and value.strip() == "")


def fmt(value: Any, column: str = "") -> str:
    """``value`` written for a table cell: 3 decimals for scores, 2 significant digits for p-values,
    millions for parameter counts, MISSING for a missing value."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value) / 1e6:.1f} M" if column == "n_params" and value else str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if column == "n_params":
            return f"{value / 1e6:.1f} M" if value else "0"
        if column.startswith("p_"):
            return f"{value:.2g}"
        if value.is_integer() and (column.startswith(("n_", "rank")) or column in ("model_seed", "depth")):
            return str(int(value))
        return f"{value:.3f}"
    return str(value)


def raw(value: Any) -> Any:
    """``value`` as JSON for the CSV download: None when missing, plain Python numbers."""
    if is_missing(value):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)
