"""Units of work: plan them from models and settings, key them, and read back those a directory holds.

A unit is model × weights × model seed × method × layer set × image size under one ``Settings``; scored
against one neural target it has a key (``Unit.key``) holding every setting that changes its numbers:
the weights and their source (a weights file by the sha256 of its content), the three seeds (model,
cross-validation, target), the layer set, the image size, the projection size, precision, batch-norm
calibration and device kind, folds, repeats, permutations, the settings its method reads, the neural
target's content and selection settings, the package version and the code fingerprint
(``mouse_rsa.version``). ``mouse_rsa.runner`` runs units; ``benchmark`` (one process)
and ``sweep`` (Dask) both go through it.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import model_zoo

from . import methods as registry
from .errors import InvalidInput, MouseRSAWarning, zoo_errors
from .neural.targets import Targets
from .results import with_digests
from .settings import Settings

WEIGHTS = ("pretrained", "random", "both")


MOVED_TO_RUNNER = ("ConstantLayerWarning", "run_units", "unit_features", "usable_layers")  # lived here before


def __getattr__(name: str) -> Any:
    """Names that moved to ``mouse_rsa.runner`` still import from here."""
    if name in MOVED_TO_RUNNER:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BaselineWeightsWarning(MouseRSAWarning):
    """A baseline was asked for weights it does not have; it runs with its only kind."""


@dataclass(frozen=True)
class Unit:
    """One model × weights × method (a registered method's name) under ``settings`` (whose model seed and
    layer set it uses)."""

    model: str
    weights: str
    method: str
    settings: Settings

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", registry.get(self.method).name)  # a short name becomes the full one

    @property
    def features_id(self) -> tuple:
        """Units with the same features_id share one feature extraction."""
        return tuple(sorted(self.feature_fields(hashed=False).items()))

    @zoo_errors()
    def weights_source(self, hashed: bool = True) -> str:
        """Where the weights come from, known before building: seed, file hash, or the source's tag."""
        if self.weights == "random":
            return f"seed {self.settings.model_seed}"
        if self.weights == "fixed":
            return "fixed"
        if self.settings.weights_file:
            from model_zoo.weights import file_source

            return file_source(self.settings.weights_file) if hashed else f"file {self.settings.weights_file}"
        meta = model_zoo.info(self.model)
        return f"{meta.source}:{meta.weights_tag or 'default'}"

    def feature_fields(self, hashed: bool = True) -> dict[str, Any]:
        """Every field that decides this unit's features (the feature cache's key, less the stimuli)."""
        from .features.device import device_kind
        from .version import __version__, code_fingerprint

        s = self.settings
        return {"model": self.model, "weights": self.weights, "weights_source": self.weights_source(hashed),
                "model_seed": s.model_seed, "layers": s.layers, "max_dim": s.max_dim, "image_size": s.image_size_label,
                "precision": s.precision, "bn_calibration": self.bn_calibration, "device": device_kind(s.device),
                "code_version": __version__, "code_fingerprint": code_fingerprint()}

    @property
    def permutations(self) -> int:
        """Stimulus permutations of the chance level: the settings' number, else the method's own default."""
        return self.settings.permutations if self.settings.permutations is not None else \
            registry.get(self.method).permutations

    def method_settings(self) -> dict[str, Any]:
        """Every method-specific Settings field, with its value where this unit's method reads it, else None."""
        used = registry.get(self.method).settings_used
        return {name: getattr(self.settings, name) if name in used else None for name in registry.settings_used()}

    @property
    def bn_calibration(self) -> bool:
        """Whether batch-norm statistics are set from the stimuli: asked for, and only for random weights."""
        return self.settings.bn_calibration and self.weights == "random"

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
        """Every setting that changes this unit's numbers, plus ``unit_key`` and ``settings_key``, their digests."""
        s = self.settings
        features = self.feature_fields()
        from_cells = targets.cell_means is not None  # reliability settings matter only for cell data
        return with_digests({
            "dataset": targets.name, "dataset_hash": targets.content_hash, "targets_key": targets.key,
            "model": self.model, "weights": self.weights, "weights_source": features["weights_source"],
            "model_seed": s.model_seed, "method": self.method, "layer_set": s.layers, "cv_seed": s.cv_seed,
            "target_seed": s.target_seed if from_cells else None, "folds": s.folds, "repeats": s.repeats,
            "permutations": self.permutations, **self.method_settings(), "max_dim": s.max_dim,
            "image_size": features["image_size"], "bn_calibration": features["bn_calibration"],
            "reliability_threshold": float(s.reliability_threshold) if from_cells else None,
            "min_cells": s.min_cells if from_cells else None,
            "reliability_splits": s.reliability_splits if from_cells else None, "precision": s.precision,
            "device": features["device"], "code_version": features["code_version"],
            "code_fingerprint": features["code_fingerprint"],
        })


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


@zoo_errors()
def plan(models: str | Sequence[str], settings: Settings, weights: str = "both",
         methods: str | Sequence[str] = registry.DEFAULT, seeds: Sequence[int] | None = None,
         layer_sets: Sequence[str] | None = None, image_sizes: Sequence[int] | None = None) -> list[Unit]:
    """Every unit of ``models`` (names, ``study:`` presets or globs) × weights × model seeds × layer sets ×
    image sizes × methods (``all``, names or short names).

    ``seeds`` (model seeds), ``layer_sets`` and ``image_sizes`` default to the settings' own. Several
    image sizes give one unit per size and one that scores all sizes' layers together (the method then
    chooses the size with the layer, on training stimuli only). Unknown names or options raise
    InvalidInput before anything runs.
    """
    names = model_zoo.resolve_models(_as_list(models, []))
    if weights not in WEIGHTS + ("fixed",):
        raise InvalidInput(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}", argument="weights")
    if settings.weights_file and (weights == "random" or len(names) != 1
                                  or "pretrained" not in model_zoo.info(names[0]).weights_kinds):
        raise InvalidInput("weights_file holds one model's pretrained weights: use it with one model that has "
                           "pretrained weights (not a baseline) and weights 'pretrained' or 'both'",
                           argument="weights_file")
    chosen = registry.resolve(methods)
    sizes = list(dict.fromkeys(_as_list(image_sizes, [settings.image_size])))
    variants = [settings.replace(model_seed=seed, layers=layers, image_size=size)
                for seed in dict.fromkeys(_as_list(seeds, [settings.model_seed]))
                for layers in dict.fromkeys(_as_list(layer_sets, [settings.layers]))
                for size in sizes + ([tuple(sizes)] if len(sizes) > 1 else [])]
    return [Unit(name, kind, method, variant) for name in names for kind in _weights_kinds(name, weights)
            for variant in variants for method in chosen]


def check_units(units: Iterable[Unit], targets: Targets) -> None:
    """Problems only visible once the targets are known, raised before any model runs."""
    for unit in units:
        method = registry.get(unit.method)
        if method.needs_cells and targets.cell_means is None:
            raise InvalidInput(f"{method.name} needs single-cell responses; neural_rdms give RDMs only "
                               "(use a method that scores RDMs, e.g. rsa)", argument="method")
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
    from .neural.targets import load_targets

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


def read_units(directory: str | Path) -> list[Unit]:
    """The units whose whole results are under ``directory``, rebuilt from their sidecars."""
    from .results import whole_units

    return [Unit.from_description(record["unit"]) for _, record in whole_units(directory)]
