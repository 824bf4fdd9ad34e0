"""Neural sites: reliable cells grouped by (area, cortical layer), with their RDMs and noise ceilings.

A site is named ``<area>_<layer>`` with the slash dropped from L2/3, e.g. ``VISp_L23``, ``VISal_L4``;
a site of units without a cortical layer (Neuropixels: ``cortical_layer == "all"``) is named by its
area alone, e.g. ``VISp``, ``LGd``. The same keys name the RDMs in a ``--neural-rdms`` file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.dataset import ALL_DEPTHS, AREAS, CORTICAL_LAYERS, SITE_AREAS, NeuralDataset
from ..errors import InvalidInput
from ..rdm import rdm
from . import reliability as rel

DEFAULT_MIN_CELLS = 10


SITE_LAYERS = (*CORTICAL_LAYERS, ALL_DEPTHS)


def site_key(area: str, cortical_layer: str) -> str:
    return area if cortical_layer == ALL_DEPTHS else f"{area}_{cortical_layer.replace('/', '')}"


def parse_site_key(key: str) -> tuple[str, str]:
    """``'VISp_L23'`` → ``('VISp', 'L2/3')``, ``'LGd'`` → ``('LGd', 'all')``; InvalidInput for anything else."""
    if key in SITE_AREAS:
        return key, ALL_DEPTHS
    layers = {layer.replace("/", ""): layer for layer in CORTICAL_LAYERS}
    area, _, layer = key.partition("_")
    if area not in AREAS or layer not in layers:
        raise InvalidInput(
            f"unknown site key {key!r}; use <area>_<layer> with area in {list(AREAS)} and layer in "
            f"{list(layers)}, e.g. VISp_L23, or an area alone for all its depths: one of {list(SITE_AREAS)}"
        )
    return area, layers[layer]


@dataclass
class SiteRDM:
    """One neural site's target: its RDM over stimuli, the RDM's split-half noise ceiling and that
    ceiling's lower and upper bounds (Nili et al. 2014; ``reliability.RDMCeiling``), all in r² units."""

    area: str
    cortical_layer: str
    n_cells: int
    rdm: np.ndarray
    ceiling: float = float("nan")
    ceiling_lower: float = float("nan")
    ceiling_upper: float = float("nan")

    @property
    def key(self) -> str:
        return site_key(self.area, self.cortical_layer)


@dataclass
class SiteSelection:
    """Result of reliable-cell selection: per-cell reliability, kept sites and dropped sites."""

    reliability: np.ndarray
    reliable: np.ndarray
    sites: list[SiteRDM]
    cell_index: dict[str, np.ndarray]
    dropped: pd.DataFrame
    cell_means: np.ndarray  # cells × stimuli trial means (all-missing entries filled), float64


def select_sites(
    ds: NeuralDataset,
    threshold: float = rel.DEFAULT_THRESHOLD,
    min_cells: int = DEFAULT_MIN_CELLS,
    n_splits: int = rel.DEFAULT_SPLITS,
    seed: int = 0,
) -> SiteSelection:
    """Split-half reliability per cell, reliable cells grouped into sites, RDM and ceiling (with bounds) per site.

    Sites with fewer than ``min_cells`` reliable cells are dropped and listed in ``dropped``.
    Sites are ordered by area (VISp, VISl, VISal, VISpm, VISam, VISrl, LGd, LP) then cortical layer
    (a whole-area site last); cells of other areas belong to no site. A dataset with one trial per
    stimulus has no split halves: InvalidInput.
    """
    if ds.responses.shape[1] < 2:
        raise InvalidInput(f"dataset {ds.name!r} has one trial per stimulus; split-half reliability needs "
                           "at least 2 trials", argument="dataset")
    reliability = rel.split_half_reliability(ds.responses, n_splits=n_splits, seed=seed)
    reliable = rel.select_reliable(reliability, threshold)
    means = rel.fill_missing(ds.trial_means())
    sites, index, dropped = [], {}, []
    for area in SITE_AREAS:
        for layer in SITE_LAYERS:
            in_site = (ds.cells["area"].to_numpy() == area) & (ds.cells["cortical_layer"].to_numpy() == layer)
            cells = np.flatnonzero(in_site & reliable)
            if not in_site.any():
                continue
            if len(cells) < min_cells:
                dropped.append({"area": area, "cortical_layer": layer, "n_cells": int(in_site.sum()),
                                "n_reliable": len(cells)})
                continue
            noise = rel.rdm_noise_ceiling(ds.responses[cells], n_splits=n_splits, seed=seed)
            site = SiteRDM(area, layer, len(cells), rdm(means[cells].T), noise.ceiling, noise.lower, noise.upper)
            sites.append(site)
            index[site.key] = cells
    return SiteSelection(reliability, reliable, sites, index,
                         pd.DataFrame(dropped, columns=["area", "cortical_layer", "n_cells", "n_reliable"]),
                         means)
