"""Units of work: plan them from models and settings, key them, run them.

A unit is model × weights × seed × method × layer set under one ``Settings``; scored against one
neural target it has a key (``Unit.key``) holding every setting that changes its numbers: the
weights and their source (a weights file by the sha256 of its content), the layer set, the
projection size, folds, repeats, seed, the neural target's content and selection settings, and the
code version. ``run_units`` extracts features once per model × weights × seed × layer set and
scores every method on them. ``benchmark`` (one process) and ``sweep`` (Dask) both call it.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import resource
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import model_zoo

from .errors import InvalidInput
from .results import METHOD_NAMES, UnitResult, unit_key
from .settings import Settings
from .targets import Targets

if TYPE_CHECKING:
    import numpy as np

    from .grams import LayerGrams

WEIGHTS = ("pretrained", "random", "both")
METHODS = tuple(METHOD_NAMES)


class BaselineWeightsWarning(UserWarning):
    """A baseline was asked for weights it does not have; it runs with its only kind."""


class ConstantLayerWarning(UserWarning):
    """A layer whose RDM is undefined or flat was left out of the scoring."""


@dataclass(frozen=True)
class Unit:
    """One model × weights × method under ``settings`` (whose seed and layer set it uses)."""

    model: str
    weights: str
    method: str
    settings: Settings

    @property
    def features_id(self) -> tuple:
        """Units with the same features_id share one feature extraction."""
        s = self.settings
        return (self.model, self.weights, s.seed, s.layers, s.max_dim, s.weights_file if self.weights == "pretrained"
                else None)

    def weights_source(self) -> str:
        """Where the weights come from, known before building: seed, file hash, or the source's tag."""
        if self.weights == "random":
            return f"seed {self.settings.seed}"
        if self.weights == "fixed":
            return "fixed"
        if self.settings.weights_file:
            return file_id(self.settings.weights_file)
        meta = model_zoo.info(self.model)
        return f"{meta.source}:{meta.weights_tag or 'default'}"

    def describe(self) -> dict[str, Any]:
        """Model, weights, method and every settings field, as plain values (see ``from_description``)."""
        return {"model": self.model, "weights": self.weights, "method": self.method,
                "settings": dataclasses.asdict(self.settings)}

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> Unit:
        """The unit that ``describe`` described (its settings validated again)."""
        return cls(description["model"], description["weights"], description["method"],
                   Settings(**description["settings"]))

    def key(self, targets: Targets) -> dict[str, Any]:
        """Every setting that changes this unit's numbers, plus ``unit_key``, their digest."""
        from . import __version__

        s = self.settings
        from_cells = targets.cell_means is not None  # reliability settings matter only for cell data
        key: dict[str, Any] = {
            "dataset": targets.name, "dataset_hash": targets.content_hash, "targets_key": targets.key,
            "model": self.model, "weights": self.weights, "weights_source": self.weights_source(), "seed": s.seed,
            "method": METHOD_NAMES[self.method], "layer_set": s.layers, "folds": s.folds, "repeats": s.repeats,
            "max_dim": s.max_dim, "reliability_threshold": float(s.reliability_threshold) if from_cells else None,
            "min_cells": s.min_cells if from_cells else None,
            "reliability_splits": s.reliability_splits if from_cells else None, "code_version": __version__,
        }
        return {"unit_key": unit_key(key), **key}


@functools.lru_cache(maxsize=64)
def _file_source(path: str, size: int, mtime_ns: int) -> str:
    from model_zoo.weights import file_source

    return file_source(path)


def file_id(path: str | Path) -> str:
    """``file:<name>:sha256:<12 hex>`` (the zoo's name for a weights file), hashed once per file version."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return _file_source(str(resolved), stat.st_size, stat.st_mtime_ns)


def _weights_kinds(model: str, weights: str) -> list[str]:
    kinds = model_zoo.info(model).weights_kinds
    if weights == "both":
        return list(kinds)
    if weights in kinds:
        return [weights]
    if "pretrained" not in kinds:  # a baseline: it has one kind of weights, which is what it runs
        warnings.warn(f"{model} has only {'/'.join(kinds)} weights; running those", BaselineWeightsWarning,
                      stacklevel=3)
        return list(kinds)
    raise InvalidInput(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}", argument="weights")


def _as_list(value: Any, default: Sequence) -> list:
    if value is None:
        return list(default)
    return [value] if isinstance(value, (str, int)) else list(value)


def _methods(methods: str | Sequence[str]) -> list[str]:
    chosen = list(METHODS) if methods == "all" else _as_list(methods, METHODS)
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise InvalidInput(f"methods must be rsa, encoding or all, not {unknown or methods!r}", argument="method")
    return chosen


def plan(models: str | Sequence[str], settings: Settings, weights: str = "both",
         methods: str | Sequence[str] = "rsa", seeds: Sequence[int] | None = None,
         layer_sets: Sequence[str] | None = None) -> list[Unit]:
    """Every unit of ``models`` (names, ``study:`` presets or globs) × weights × seeds × layer sets × methods.

    ``seeds`` and ``layer_sets`` default to the settings' own. Unknown names or options raise
    InvalidInput before anything runs.
    """
    names = model_zoo.resolve_models(_as_list(models, []))
    if weights not in WEIGHTS + ("fixed",):
        raise InvalidInput(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}", argument="weights")
    if settings.weights_file and (weights == "random" or len(names) != 1):
        raise InvalidInput("weights_file holds one model's pretrained weights: use it with one model and "
                           "weights 'pretrained' or 'both'", argument="weights_file")
    chosen_methods = _methods(methods)
    variants = [settings.replace(seed=seed, layers=layers) for seed in _as_list(seeds, [settings.seed])
                for layers in _as_list(layer_sets, [settings.layers])]
    return [Unit(name, kind, method, variant) for name in names for kind in _weights_kinds(name, weights)
            for variant in variants for method in chosen_methods]


def check_units(units: Iterable[Unit], targets: Targets) -> None:
    """Problems only visible once the targets are known, raised before any model runs."""
    if targets.cell_means is None and any(u.method == "encoding" for u in units):
        raise InvalidInput("encoding models need single-cell responses; neural_rdms give RDMs only "
                           "(use method rsa)", argument="method")
    for unit in units:
        if unit.settings.folds > targets.n_stimuli:
            raise InvalidInput(f"folds={unit.settings.folds} is more than the {targets.n_stimuli} stimuli",
                               argument="folds")


def target_id(unit: Unit) -> str:
    """The identity of a unit's neural target: its settings' target fields."""
    return json.dumps(unit.settings.target_fields(), sort_keys=True, default=str)


def prepare_targets(units: Sequence[Unit]) -> dict[str, Targets]:
    """Each distinct neural target of ``units`` loaded once (each dataset read once) and checked against
    its units (``check_units``), by ``target_id``. ``benchmark`` and ``sweep`` both start here."""
    from .data import load_dataset
    from .targets import load_targets

    datasets: dict[str, Any] = {}
    prepared: dict[str, Targets] = {}
    for unit in units:
        tid = target_id(unit)
        if tid in prepared:
            continue
        settings = unit.settings
        if settings.stimuli is None and str(settings.dataset) not in datasets:
            datasets[str(settings.dataset)] = load_dataset(settings.dataset)
        prepared[tid] = load_targets(settings, datasets.get(str(settings.dataset)))
    for tid, targets in prepared.items():
        check_units([u for u in units if target_id(u) == tid], targets)
    return prepared


def feature_groups(units: Iterable[Unit]) -> list[list[Unit]]:
    """Units grouped by shared features, in plan order."""
    groups: dict[tuple, list[Unit]] = {}
    for unit in units:
        groups.setdefault(unit.features_id, []).append(unit)
    return list(groups.values())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def unit_features(unit: Unit, stimuli: np.ndarray, progress: bool = True) -> tuple[LayerGrams, dict[str, float]]:
    """The layer summaries of ``unit`` on ``stimuli`` and the seconds they took (build_s, extract_s).

    With the cache on (``settings.use_cache``) a cached file is read and no model is built (nor torch
    imported); otherwise the model is built, its layers extracted and, with the cache on, saved.
    """
    from . import feature_cache

    s = unit.settings
    path = feature_cache.path_for(unit, stimuli) if s.use_cache else None
    start = time.perf_counter()
    cached = feature_cache.load(path) if path is not None and path.exists() else None
    if cached is not None:
        return cached, {"build_s": 0.0, "extract_s": time.perf_counter() - start}
    from .features import extract

    zoo = model_zoo.create(unit.model, weights=unit.weights, seed=s.seed,
                           weights_file=s.weights_file if unit.weights == "pretrained" else None)
    built = time.perf_counter()
    pattern = model_zoo.latent_layers(zoo) if s.layers == "latent" else s.layer_pattern
    grams = extract(zoo, stimuli, pattern, s.batch_size, s.device, s.max_dim, s.seed, progress)
    if path is not None:
        feature_cache.save(grams, path)
    return grams, {"build_s": built - start, "extract_s": time.perf_counter() - built}


def run_units(units: Sequence[Unit], targets: Targets, progress: bool = True) -> list[UnitResult]:
    """Run units that share features (see ``feature_groups``): build once, extract once, score each."""
    from . import scoring
    from .rsa import stimulus_folds

    if len({u.features_id for u in units}) != 1:
        raise ValueError("run_units takes units that share features; group them with feature_groups")
    first = units[0]
    s = first.settings
    grams, feature_timings = unit_features(first, targets.stimuli, progress)
    grams = usable_layers(grams, first.model)
    results = []
    for unit in units:
        t0 = time.perf_counter()
        partitions = stimulus_folds(targets.n_stimuli, unit.settings.folds, unit.settings.repeats, unit.settings.seed)
        sites, layers, nnls = scoring.SCORERS[unit.method](grams, targets, partitions)
        rdms = {}
        if unit.method == "rsa" and s.layers == "latent":
            from .rsa import upper_triangles

            rdms = dict(zip(grams.names, upper_triangles(grams.rdms()).T))
        timings = {**feature_timings, "score_s": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}
        results.append(UnitResult(unit.key(targets), unit.describe(), sites, layers, nnls, rdms, timings))
    return results


def usable_layers(grams: LayerGrams, model: str) -> LayerGrams:
    """Drop layers with constant features (undefined or flat RDM) with one warning naming them."""
    bad = set(grams.degenerate_layers())
    if not bad:
        return grams
    if len(bad) == grams.n_layers:
        raise InvalidInput(f"every layer of {model} has constant features on these stimuli; nothing to score",
                           argument="model")
    shown = ", ".join(sorted(bad)[:5]) + (" ..." if len(bad) > 5 else "")
    warnings.warn(f"{model}: {len(bad)} layer(s) with constant features left out: {shown}", ConstantLayerWarning,
                  stacklevel=3)
    return grams.select([i for i, n in enumerate(grams.names) if n not in bad])


def read_units(directory: str | Path) -> list[Unit]:
    """The units whose whole results are under ``directory``, rebuilt from their sidecars."""
    from .results import whole_units

    return [Unit.from_description(record["unit"]) for _, record in whole_units(directory)]


def run_unit(unit: Unit, targets: Targets, progress: bool = True) -> UnitResult:
    """One unit on its own (features come from the cache when another method already made them)."""
    return run_units([unit], targets, progress)[0]
