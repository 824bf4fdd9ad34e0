"""Run units: features once per feature group, every method on them (``run_units``); and ``benchmark``,
the serial loop that plans units, prepares the neural targets once and writes each unit as it is scored.

``run_units`` is the one code path of a unit: ``benchmark`` (one process) and ``mouse_rsa.sweep``
(Dask workers) both call it. ``benchmark`` runs units one feature group at a time and writes each
unit's files as soon as it is scored, so an interrupted run keeps what it finished; with ``resume``
a unit whose key and files are already whole under ``out`` is read back instead of recomputed.
"""
from __future__ import annotations

import dataclasses
import resource
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import model_zoo

from . import methods as registry
from . import results
from .errors import InvalidInput, MouseRSAWarning, UserError, WeightsUnavailable, zoo_errors
from .preflight import check_before_work, dropped_lines, without_unavailable_weights
from .progress import progress_bar
from .rdm import upper
from .settings import Settings
from .units import Unit, feature_groups, plan, prepare_targets

if TYPE_CHECKING:
    from .features.grams import LayerGrams
    from .neural.targets import Targets


class ConstantLayerWarning(MouseRSAWarning):
    """A layer whose RDM is undefined or flat was left out of the scoring."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@zoo_errors()
def unit_features(unit: Unit, stimuli: np.ndarray, progress: bool = True) -> tuple[LayerGrams, dict[str, float]]:
    """The layer summaries of ``unit`` on ``stimuli`` and the seconds they took (build_s, extract_s).

    With the cache on (``settings.use_cache``) a cached file is read and no model is built (nor torch
    imported); otherwise the model is built, its layers extracted and, with the cache on, saved. A unit of
    several image sizes joins the layers of each size's features (``LayerGrams.joined``: ``64/features.3``).
    """
    from .features import cache as feature_cache
    from .features.grams import LayerGrams

    s = unit.settings
    if isinstance(s.image_size, tuple):
        parts = {size: unit_features(dataclasses.replace(unit, settings=s.replace(image_size=size)), stimuli, progress)
                 for size in s.image_size}
        timings = {name: sum(t[name] for _, t in parts.values()) for name in ("build_s", "extract_s")}
        return LayerGrams.joined({str(size): grams for size, (grams, _) in parts.items()}), timings
    path = feature_cache.path_for(unit, stimuli) if s.use_cache else None
    start = time.perf_counter()
    cached = feature_cache.load(path) if path is not None and path.exists() else None
    if cached is not None:
        return cached, {"build_s": 0.0, "extract_s": time.perf_counter() - start}
    from .features.extraction import Run, extract

    zoo = model_zoo.create(unit.model, weights=unit.weights, seed=s.model_seed,
                           weights_file=s.weights_file if unit.weights == "pretrained" else None)
    built = time.perf_counter()
    pattern = model_zoo.latent_layers(zoo) if s.layers == "latent" else s.layer_pattern
    grams = extract(zoo, stimuli, pattern, s.max_dim, s.model_seed,
                    Run(s.batch_size, s.device, s.precision, progress, unit.bn_calibration, s.image_size))
    if path is not None:
        feature_cache.save(grams, path)
    return grams, {"build_s": built - start, "extract_s": time.perf_counter() - built}


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


def run_units(units: Sequence[Unit], targets: Targets, progress: bool = True) -> list[results.UnitResult]:
    """Run units that share features (see ``feature_groups``): build once, extract once, score each."""
    from .arrays import scoring_device
    from .methods.folds import stimulus_folds

    if len({u.features_id for u in units}) != 1:
        raise ValueError("run_units takes units that share features; group them with feature_groups")
    first = units[0]
    grams, feature_timings = unit_features(first, targets.stimuli, progress)
    grams = usable_layers(grams, first.model)
    signature = grams.rdm_signature()
    done = []
    for unit in units:
        t0 = time.perf_counter()
        s = unit.settings
        method = registry.get(unit.method)
        design = registry.Design(stimulus_folds(targets.n_stimuli, s.folds, s.repeats, s.cv_seed), s.cv_seed,
                                 unit.permutations, {name: getattr(s, name) for name in method.settings_used},
                                 scoring_device(s.device))
        scored = method.score(grams, targets, design)
        null = scored.null if scored.null is not None else np.empty((0, len(targets.sites)))
        keep_rdms = method.keeps_layer_rdms and s.layers == "latent"
        rdms = dict(zip(grams.names, upper(grams.rdms()))) if keep_rdms else {}
        arrays = {**scored.arrays, "null": null, "layer_signature": signature}
        timings = {**feature_timings, "score_s": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}
        done.append(results.UnitResult(unit.key(targets), unit.describe(), registry.site_rows(scored.sites, null),
                                       scored.layers, scored.tables, rdms, arrays, timings))
    return done


@dataclass
class BenchmarkResult:
    """Tables of every unit run or reused (with key columns), the files written, and what did not run.

    ``tables`` holds the methods' own tables by name (e.g. ``nnls``), concatenated over units.
    """

    scores: pd.DataFrame
    layers: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    reused: int = 0
    skipped: list[str] = field(default_factory=list)  # pretrained weights unavailable under weights='both'
    failed: list[str] = field(default_factory=list)   # one line per feature group that raised
    errors: list[UserError] = field(default_factory=list)


def _group_label(group: list[Unit]) -> str:
    unit = group[0]
    size = "" if unit.settings.image_size is None else f", {unit.settings.image_size_label} px"
    return f"{unit.model} ({unit.weights}, model seed {unit.settings.model_seed}, layers {unit.settings.layers}{size})"


def _prepare(units: list[Unit], out: str | Path | None, weights: str,
             resume: bool) -> tuple[Targets, list[Unit], list[str]]:
    """Check every option before any work (``mouse_rsa.preflight``), load the targets once for all units and
    drop the pretrained units whose weights cannot be had (under ``weights='both'``; the lines say which)."""
    from .features.device import check_device

    for device in dict.fromkeys(u.settings.device for u in units):
        check_device(device)  # a GPU that is not here: one line before any work
    check_before_work(units, out)
    prepared = prepare_targets(units)
    (targets,) = prepared.values()  # one settings object: one neural target
    units, dropped = without_unavailable_weights(units, prepared, weights, out if resume else None)
    return targets, units, dropped_lines(dropped)


def _run_group(group: list[Unit], targets: Targets, out: str | Path | None, resume: bool, progress: bool,
               report: BenchmarkResult, weights: str) -> list[dict[str, pd.DataFrame]]:
    """Tables of one feature group: reused when whole under ``out`` (with ``resume``), else run and written."""
    tables, todo = [], []
    for unit in group:
        key = unit.key(targets)
        if resume and out is not None and results.finished(out, key):
            tables.append(results.read_unit(out, key))
            report.reused += 1
        else:
            todo.append(unit)
    if not todo:
        return tables
    try:
        done = run_units(todo, targets, progress)
    except UserError as err:
        optional = weights == "both" and todo[0].weights == "pretrained" and isinstance(err, WeightsUnavailable)
        (report.skipped if optional else report.failed).append(f"{_group_label(todo)}: {err}")
        report.errors.append(err)
        return tables
    if out is not None:  # with the first unit, never before: a run that scores nothing leaves nothing
        results.write_targets(out, targets)
    for result in done:
        tables.append(result.tables())
        if out is not None:
            report.files += results.write_unit(out, result)
    return tables


def benchmark(models: str | Sequence[str], settings: Settings | None = None, weights: str = "both",  # noqa: PLR0913
              methods: str | Sequence[str] = registry.DEFAULT, out: str | Path | None = "results", resume: bool = False,
              progress: bool = True, seeds: Sequence[int] | None = None, image_sizes: Sequence[int] | None = None,
              **options) -> BenchmarkResult:
    """Score ``models`` against every neural site and write one set of files per unit under ``out``.

    ``settings`` (or keyword ``options`` for its fields, e.g. ``dataset='demo', cv_seed=1``) say what
    to compute; ``weights`` is pretrained, random or both; ``methods`` a registered method (name or short
    name), a list of them or all;
    ``seeds`` the model seeds (default: the settings' ``model_seed``), ``image_sizes`` the image sizes
    (default: the settings' ``image_size``; several add a unit that chooses among them, see ``plan``).
    ``out=None`` writes nothing. A
    group of units that raises is reported in ``failed`` (one line) and the others go on; pretrained
    weights that are unavailable under ``weights='both'`` are reported in ``skipped``. If nothing could
    run, the first error is raised.
    """
    settings = (settings or Settings()).replace(**options)
    units = plan(models, settings, weights, methods, seeds=seeds, image_sizes=image_sizes)
    targets, units, skipped = _prepare(units, out, weights, resume)
    report = BenchmarkResult(pd.DataFrame(), pd.DataFrame(), skipped=skipped)
    tables: list[dict[str, pd.DataFrame]] = []
    groups = feature_groups(units)
    for group in progress_bar(groups, desc="units", unit="model", disable=not progress or len(groups) < 2):
        tables += _run_group(group, targets, out, resume, progress, report, weights)
    if not tables:
        raise report.errors[0]
    parts = dict.fromkeys(part for t in tables for part in t)
    merged = {part: pd.concat([t[part] for t in tables if part in t], ignore_index=True) for part in parts}
    report.scores, report.layers = merged.pop("scores"), merged.pop("layers")
    report.tables = merged
    return report
