"""What a scoring method is (``Method``), what it is given (``Design``) and returns (``MethodResult``),
and the table helpers every method shares.

A method scores one model's layer summaries (``LayerGrams``) against one neural target under one
cross-validation design. It says what it needs from the target (``needs_cells``: single-cell
responses, not only site RDMs), the name its rows carry, human labels for its score and for its
per-layer profile, and the per-layer columns it writes besides ``layer_score``. Its result is plain
tables without key columns (``mouse_rsa.results`` adds them):

* ``sites``: one row per site with ``SITE_COLUMNS`` (the runner's ``site_rows`` adds the chance level and
  NaN where a method has no such number, e.g. RDM ceiling bounds) and any columns of its own;
* ``layers``: one row per site × layer: site and layer columns, ``layer_score`` (the per-layer
  profile that names the best layer) and the method's ``layer_columns``;
* ``tables``: further named tables its unit keeps (``rsa_nnls``: the NNLS weights; methods that choose a
  layer in each training fold: ``choices``, see ``choice_rows``);
* ``arrays``: named arrays its unit keeps in one npz: at least what ``resample_scores`` needs (the
  cross-validated held-out predictions), so that stimulus-bootstrap uncertainty and paired model
  comparisons are computed later from the files alone, without refitting;
* ``null``: (n_permutations, n_sites) scores of the same fit redone with the stimuli permuted
  (``Design.permutation_orders``, the same permutations for every method and unit of a design); the
  runner turns it into each site's chance level (``with_chance``) and keeps it in the unit's arrays,
  so that readers can give the chance level of a mean over sites too.

``score`` is a cross-validated r; ``score_r2`` is the *signed* r², sign(r)·r², so a model that
predicts a site inversely never earns positive explained variance; ``score_normalized`` is
``score_r2 / ceiling`` (ceilings are in r² units). Methods register in ``mouse_rsa.methods``;
nothing else names one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..features.grams import LayerGrams
    from ..neural.targets import Targets

SITE_COLUMNS = ["area", "cortical_layer", "site", "n_cells", "score", "score_r2", "ceiling", "ceiling_lower",
                "ceiling_upper", "score_normalized", "chance_mean", "chance_sd", "p_permutation", "score_corrected",
                "best_layer", "best_layer_index", "best_layer_depth", "best_layer_score", "n_layers"]
LAYER_BASE = ["area", "cortical_layer", "site", "layer", "layer_index", "layer_depth", "layer_score"]


@dataclass(frozen=True)
class Design:
    """How a unit is cross-validated: the held-out stimulus sets of every repeat, the seed they came from
    (the cross-validation seed), how many stimulus permutations give its chance level, the values of
    the method's own settings (``options``: its ``Method.settings_used`` fields, e.g. ``ridge_criterion``),
    and where the fits run (``device``: None, numpy on the host; else a torch device,
    ``mouse_rsa.arrays.scoring_device``)."""

    partitions: list[list[np.ndarray]]
    seed: int
    permutations: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    device: str | None = None

    def permutation_orders(self, n_stimuli: int) -> np.ndarray:
        """(permutations, n_stimuli): the stimulus orders of the null, drawn from the cross-validation seed
        on a stream of their own (so adding permutations never changes the folds)."""
        rng = np.random.default_rng([self.seed, 1])
        return np.stack([rng.permutation(n_stimuli) for _ in range(self.permutations)]) if self.permutations \
            else np.empty((0, n_stimuli), dtype=np.int64)


@dataclass
class MethodResult:
    """One method's tables for one unit (see the module docstring)."""

    sites: pd.DataFrame
    layers: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    null: np.ndarray | None = None


class Method(ABC):
    """A scoring method: its identity, what it needs, and ``score``."""

    name: ClassVar[str]                      # what rows carry, e.g. "rsa_nnls"
    short: ClassVar[str]                     # what the command line takes, e.g. "rsa"
    title: ClassVar[str]                     # what its score is, for tables and figures
    layer_label: ClassVar[str]               # what its layer_score is
    needs_cells: ClassVar[bool] = False      # single-cell responses, not only site RDMs
    permutations: ClassVar[int] = 100        # of its chance level, unless the settings say otherwise
    settings_used: ClassVar[tuple[str, ...]] = ()  # method-specific Settings fields (in its units' keys)
    keeps_layer_rdms: ClassVar[bool] = False  # its latent units keep their layer RDMs (joint analyses)
    layer_columns: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def score(self, grams: LayerGrams, targets: Targets, design: Design) -> MethodResult:
        """Score every site of ``targets`` from ``grams`` under ``design``."""

    @abstractmethod
    def resample_scores(self, arrays: dict[str, np.ndarray], target: dict[str, np.ndarray],
                        counts: np.ndarray) -> np.ndarray:
        """Site scores (n_resamples, n_sites) of a unit's kept held-out predictions (its ``arrays``) against
        its neural target (``target``: the arrays of its targets file) on stimulus resamples: ``counts``
        (n_resamples, n_stimuli) is how often each stimulus is drawn (pairs of a stimulus with its own copy
        are left out, as rsatoolbox's bootstrap does). The fits stay fixed; only the stimuli scored change.
        All-ones counts give the unit's own scores."""


def site_rows(sites: pd.DataFrame, null: np.ndarray | None) -> pd.DataFrame:
    """A method's ``sites`` as written: its chance level added (``with_chance``), ``SITE_COLUMNS`` in order
    (NaN where the method has no such number, e.g. RDM noise-ceiling bounds for a cell-wise score), then
    the method's own site columns."""
    sites = with_chance(sites, null)
    return sites.reindex(columns=[*SITE_COLUMNS, *(c for c in sites.columns if c not in SITE_COLUMNS)])


def with_chance(sites: pd.DataFrame, null: np.ndarray | None) -> pd.DataFrame:
    """``sites`` plus each site's chance level from ``null`` (n_permutations, n_sites): the null's mean and
    SD, ``p_permutation`` = (1 + #null ≥ score) / (1 + n_permutations) (ties count against the model), and
    ``score_corrected`` = score − chance_mean. Without permutations these are NaN."""
    score = sites["score"].to_numpy(np.float64)
    if null is None or not len(null):
        nan = np.full(len(sites), np.nan)
        return sites.assign(chance_mean=nan, chance_sd=nan, p_permutation=nan, score_corrected=nan)
    chance = null.mean(axis=0)
    sd = null.std(axis=0, ddof=1) if len(null) > 1 else np.full(len(sites), np.nan)
    p = (1 + (null >= score[None] - 1e-12).sum(axis=0)) / (1 + len(null))
    return sites.assign(chance_mean=chance, chance_sd=sd, p_permutation=p, score_corrected=score - chance)


def signed_r2(r):
    """sign(r) · r²: explained variance that keeps the sign of the correlation."""
    r = np.asarray(r, dtype=np.float64)
    return np.sign(r) * r * r


def normalize(r2: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """``r2 / ceiling`` where the ceiling is positive, else NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling > 0, r2 / ceiling, np.nan)


def rdm_ceilings(targets: Targets) -> dict[str, np.ndarray]:
    """Each site RDM's split-half noise ceiling and its lower and upper bounds (r² units), for RDM scores."""
    return {name: np.array([getattr(s, name) for s in targets.sites], dtype=np.float64)
            for name in ("ceiling", "ceiling_lower", "ceiling_upper")}


def site_columns(targets: Targets) -> pd.DataFrame:
    """area, cortical_layer and site of every site of ``targets``, in order."""
    return pd.DataFrame({"area": [s.area for s in targets.sites],
                         "cortical_layer": [s.cortical_layer for s in targets.sites],
                         "site": [s.key for s in targets.sites]})


def with_best_layer(sites: pd.DataFrame, grams: LayerGrams, per_layer: np.ndarray) -> pd.DataFrame:
    """``sites`` plus the best single layer of each site by ``per_layer`` (n_layers, n_sites): its name,
    index, relative depth and value, and the number of layers (the in-sample argmax of the profile)."""
    best = np.argmax(np.where(np.isfinite(per_layer), per_layer, -np.inf), axis=0)
    return sites.assign(best_layer=[grams.names[b] for b in best], best_layer_index=best,
                        best_layer_depth=grams.depths()[best],
                        best_layer_score=per_layer[best, np.arange(per_layer.shape[1])], n_layers=grams.n_layers)


def layer_rows(grams: LayerGrams, targets: Targets, **values: np.ndarray) -> pd.DataFrame:
    """Site × layer rows (site-major) with one column per ``values`` entry, each (n_layers, n_sites)."""
    n_layers, n_sites = grams.n_layers, len(targets.sites)
    site = site_columns(targets).loc[np.repeat(np.arange(n_sites), n_layers)].reset_index(drop=True)
    index = np.tile(np.arange(n_layers), n_sites)
    return site.assign(layer=np.array(grams.names, dtype=object)[index], layer_index=index,
                       layer_depth=grams.depths()[index],
                       **{name: np.asarray(v, dtype=np.float64).T.ravel() for name, v in values.items()})


def choice_rows(names: list[str], targets: Targets, chosen: np.ndarray, train: np.ndarray,
                held_out: np.ndarray) -> pd.DataFrame:
    """The layer a method chose in each training fold: one row per site × repeat × fold (site-major) with the
    layer, its score on the training stimuli and on the held-out ones (``chosen``, ``train``, ``held_out``:
    (repeats, folds, sites))."""
    site, repeat, fold = np.indices(chosen.transpose(2, 0, 1).shape).reshape(3, -1)
    keys = np.array([s.key for s in targets.sites], dtype=object)
    return pd.DataFrame({"site": keys[site], "repeat": repeat, "fold": fold,
                         "layer": np.array(names, dtype=object)[chosen[repeat, fold, site]],
                         "layer_index": chosen[repeat, fold, site], "train_score": train[repeat, fold, site],
                         "held_out_score": held_out[repeat, fold, site]})
