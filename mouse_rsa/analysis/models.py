"""What the analyses know about each model: its kind, taskonomic cluster and properties, and its mean score.

The catalogue (``model_zoo.catalogue()``) is read by the caller and passed in, so these functions stay
pure and testable on synthetic tables. A model absent from the catalogue is an architecture with
unknown properties; a column the catalogue lacks reads as unknown (NaN, or no cluster).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# every table that compares models keeps these apart: one dataset, one set of settings (the neural target
# among them), one method, one layer set
GROUP = ["dataset", "settings_key", "method", "layer_set"]
PROPERTIES = ("n_params", "depth", "top1", "gflops")
KINDS = ("architecture", "task", "baseline")


def model_table(catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per catalogued model, indexed by name: ``kind``, ``cluster`` and the ``PROPERTIES``.

    ``kind`` is ``task`` for a Taskonomy encoder (one architecture trained on many tasks: it carries a
    taskonomic ``cluster``), ``baseline`` for the fixed baselines and ``architecture`` otherwise.
    """
    table = catalogue.set_index("name")
    source = table["source"] if "source" in table else pd.Series("", index=table.index)
    cluster = table["cluster"].fillna("").astype(str) if "cluster" in table else pd.Series("", index=table.index)
    kind = np.where((source == "taskonomy") | (cluster != ""), "task",
                    np.where(source == "baseline", "baseline", "architecture"))
    out = pd.DataFrame({"kind": kind, "cluster": cluster}, index=table.index)
    for column in PROPERTIES:
        out[column] = pd.to_numeric(table[column], errors="coerce") if column in table else np.nan
    return out


def annotate(frame: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a ``model`` column) joined with ``model_table`` columns; unknown models are
    architectures with NaN properties and no cluster."""
    joined = frame.join(models, on="model")
    joined["kind"] = joined["kind"].fillna("architecture")
    joined["cluster"] = joined["cluster"].fillna("")
    return joined


def model_means(scores: pd.DataFrame, value: str = "score") -> pd.DataFrame:
    """Mean of ``value`` per ``GROUP`` × weights × model: over sites within a seed, then over seeds.

    Columns: GROUP, weights, model, mean_score, n_sites, n_seeds.
    """
    keys = [*GROUP, "weights", "model"]
    per_seed = scores.groupby([*keys, "model_seed"], sort=False).agg(mean_score=(value, "mean"),
                                                               n_sites=("site", "nunique"))
    means = per_seed.groupby(keys, sort=False).agg(mean_score=("mean_score", "mean"), n_sites=("n_sites", "max"),
                                                   n_seeds=("mean_score", "size"))
    return means.reset_index()


def site_means(scores: pd.DataFrame, value: str = "score") -> pd.DataFrame:
    """``value`` per GROUP × weights × model × site, averaged over seeds (one observation per model × site).

    Columns: GROUP, weights, model, area, cortical_layer, site, score.
    """
    keys = [*GROUP, "weights", "model", "area", "cortical_layer", "site"]
    return scores.groupby(keys, sort=False)[value].mean().rename("score").reset_index()
