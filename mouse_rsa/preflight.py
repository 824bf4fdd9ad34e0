"""Checks of a planned run before any work: each problem is one line at once, and nothing is written first.

``benchmark`` and ``sweep`` call them in this order:

* ``check_before_work``: ``--out`` and the cache can be written (a killed writer's leftovers are
  removed from both); each layer glob can match a layer of its model, judged from the model's
  structure (built on the meta device: no forward pass, no memory); each weights file is read and
  fitted to its model.
* ``without_unavailable_weights`` (once the targets are loaded): a pretrained unit that needs a
  download that cannot happen (not cached, host unreachable), and is neither finished under ``--out``
  nor in the feature cache, stops the run under ``weights='pretrained'``; under ``weights='both'`` it is
  dropped with one warning per model and reported as skipped.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import model_zoo
from model_zoo.globs import can_select

from . import results
from .cache import cache_root, check_cache, check_folder, remove_stale_temporaries_under
from .data import DATASETS
from .errors import InvalidInput, MouseRSAWarning, WeightsUnavailable, zoo_errors
from .neural.targets import Targets
from .units import Unit, target_id


class PretrainedSkippedWarning(MouseRSAWarning):
    """Pretrained weights cannot be had (offline, not cached): only the random weights are scored."""


def check_before_work(units: Sequence[Unit], out: str | Path | None) -> None:
    """Raise the first problem of the outputs, layer globs and weights files of ``units`` (see the module)."""
    if out is not None:
        check_folder(out, "out")
        remove_stale_temporaries_under(out)
    if any(u.settings.use_cache or (u.settings.stimuli is None and str(u.settings.dataset) in DATASETS)
           for u in units) and check_cache():
        remove_stale_temporaries_under(cache_root())
    for model, layers in dict.fromkeys((u.model, u.settings.layers) for u in units):
        if layers not in ("all", "latent"):
            check_layer_glob(model, layers)
    for model, path in dict.fromkeys((u.model, u.settings.weights_file) for u in units
                                     if u.weights == "pretrained" and u.settings.weights_file):
        with zoo_errors():
            model_zoo.check_weights_file(model, str(path))


def check_layer_glob(model: str, pattern: str) -> None:
    """InvalidInput (argument ``layers``) when no layer name of ``model`` can match the glob ``pattern``."""
    try:
        candidates = model_zoo.layer_candidates(model)
    except Exception:  # noqa: BLE001 - a builder that cannot run on the meta device: the extraction checks instead
        return
    if not any(can_select(pattern, name) for name in candidates):
        raise InvalidInput(f"layers {pattern!r} match no layer of {model}; list them with `mouse-rsa layers {model}`",
                           argument="layers")


def _needs_download(unit: Unit, targets: Targets, out: str | Path | None) -> bool:
    """Whether running ``unit`` would fetch standard pretrained weights: not finished under ``out`` (when
    resuming) and its features not in the cache."""
    from .features import cache as feature_cache

    if unit.weights != "pretrained" or unit.settings.weights_file:
        return False
    if out is not None and results.finished(out, unit.key(targets)):
        return False
    return not (unit.settings.use_cache and feature_cache.path_for(unit, targets.stimuli).is_file())


def without_unavailable_weights(units: Sequence[Unit], targets: dict[str, Targets], weights: str,
                                resume_from: str | Path | None = None) -> tuple[list[Unit], dict[Unit, str]]:
    """``units`` less the pretrained ones whose weights cannot be had now, and those dropped with why (and
    what to do). ``targets`` by ``units.target_id``; ``resume_from``: the ``--out`` whose finished units will
    be reused. Under ``weights`` other than ``both`` an unavailable download raises WeightsUnavailable."""
    asked = {u: u.model for u in units if _needs_download(u, targets[target_id(u)], resume_from)}
    with zoo_errors():
        problems = {model: model_zoo.pretrained_problem(model) for model in dict.fromkeys(asked.values())}
    dropped = {u: problem for u, model in asked.items() if (problem := problems[model])}
    if not dropped:
        return list(units), {}
    if weights != "both":
        raise WeightsUnavailable(next(iter(dropped.values())))
    for problem in dict.fromkeys(dropped.values()):
        warnings.warn(f"{problem}; only its random weights are scored", PretrainedSkippedWarning, stacklevel=3)
    return [u for u in units if u not in dropped], dropped


def dropped_lines(dropped: dict[Unit, str]) -> list[str]:
    """One line per feature group of ``dropped`` units: ``<model> (pretrained, model seed 0, layers all): why``."""
    return list(dict.fromkeys(f"{u.model} ({u.weights}, model seed {u.settings.model_seed}, layers "
                              f"{u.settings.layers}): {why.removeprefix(f'{u.model}: ')}" for u, why in dropped.items()))
