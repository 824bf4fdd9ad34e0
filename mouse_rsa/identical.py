"""Identical networks: units whose layers give the same RDMs are one network, and count once.

Random vgg16_bn computes what random vgg16 computes (batch norm at its initial statistics is a constant
scale in eval mode, see ``features.extraction.calibrate_batchnorm``), and every random Taskonomy encoder
is the same ResNet-50 whatever its task. Their scores agree to float rounding, and a statistic that
counts them as several architectures (a correlation over architectures, an ANOVA over task clusters,
a weight share among them) measures nothing. Each unit keeps a signature of its layer RDMs
(``LayerGrams.rdm_signature``: z-scored RDM cells at fixed stimulus pairs); two units of one comparison
(dataset, method, layer set, settings) and model seed are identical when they have as many layers and
every signature cell agrees within ``TOLERANCE`` (float32 rounding moves a cell by ~1e-6; two different
layers differ by O(1) somewhere). Two models are identical when all their units of shared seeds are.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

TOLERANCE = 1e-4
SCOPE = ["dataset", "method", "layer_set", "settings_key"]


def same_network(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two layer-RDM signatures (n_layers, cells) are one network's."""
    return a is not None and b is not None and a.shape == b.shape and bool(np.abs(a - b).max() < TOLERANCE)


def identical_models(units: pd.DataFrame, signature) -> dict[tuple, list[str]]:
    """For every (scope..., model, weights) of ``units`` (one row per unit: SCOPE, model, weights,
    model_seed, unit_key) the other "model (weights)" of its scope that are the same network;
    ``signature(unit_key)`` gives a unit's signature (or None)."""
    found: dict[tuple, set[str]] = {}
    for scope, rows in units.groupby(SCOPE, sort=False):
        models = {(m, w): dict(zip(g["model_seed"], g["unit_key"]))
                  for (m, w), g in rows.groupby(["model", "weights"], sort=False)}
        for (a, seeds_a), (b, seeds_b) in combinations(models.items(), 2):
            shared = sorted(set(seeds_a) & set(seeds_b))
            if shared and all(same_network(signature(seeds_a[s]), signature(seeds_b[s])) for s in shared):
                found.setdefault((*scope, *a), set()).add(f"{b[0]} ({b[1]})")
                found.setdefault((*scope, *b), set()).add(f"{a[0]} ({a[1]})")
    return {key: sorted(others) for key, others in found.items()}


def distinct(models: list[str], identical: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
    """``models`` with each group of identical ones (``identical``: model → the others) reduced to its first
    member, and the groups that were reduced (each with more than one member), in order."""
    kept, groups, seen = [], [], set()
    for model in models:
        if model in seen:
            continue
        group = [model] + [m for m in models if m != model and m in identical.get(model, [])]
        seen.update(group)
        kept.append(model)
        if len(group) > 1:
            groups.append(group)
    return kept, groups
