"""``benchmark``: plan units, prepare the neural targets once, run every unit in this process, write it.

The main job of the tool (``mouse-rsa benchmark``). Units run one feature group at a time (features
are extracted once for both methods) and each unit's files are written as soon as it is scored, so an
interrupted run keeps what it finished; with ``resume`` a unit whose key and files are already whole
under ``out`` is read back instead of recomputed. ``mouse_rsa.sweep`` runs the same units on Dask.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from . import results
from .cache import cache_dir
from .errors import UserError, WeightsUnavailable
from .settings import Settings
from .targets import Targets
from .units import Unit, feature_groups, plan, prepare_targets, run_units


@dataclass
class BenchmarkResult:
    """Tables of every unit run or reused (with key columns), the files written, and what did not run."""

    scores: pd.DataFrame
    layers: pd.DataFrame
    nnls: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    reused: int = 0
    skipped: list[str] = field(default_factory=list)  # pretrained weights unavailable under weights='both'
    failed: list[str] = field(default_factory=list)   # one line per feature group that raised
    errors: list[UserError] = field(default_factory=list)


def _group_label(group: list[Unit]) -> str:
    unit = group[0]
    return f"{unit.model} ({unit.weights}, seed {unit.settings.seed}, layers {unit.settings.layers})"


def _prepare(units: list[Unit], settings: Settings, out: str | Path | None) -> Targets:
    """Check every output before any work, then load the targets once for all units."""
    if out is not None:
        results.check_writable(out)
    if settings.use_cache:
        results.check_writable(cache_dir("features"), argument="cache directory ($MOUSE_RSA_CACHE)")
    (targets,) = prepare_targets(units).values()  # one settings object: one neural target
    if out is not None:
        results.write_targets(out, targets)
    return targets


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
    for result in done:
        tables.append(result.tables())
        if out is not None:
            report.files += results.write_unit(out, result)
    return tables


def benchmark(models: str | Sequence[str], settings: Settings | None = None, weights: str = "both",
              methods: str | Sequence[str] = "rsa", out: str | Path | None = "results", resume: bool = False,
              progress: bool = True, **options) -> BenchmarkResult:
    """Score ``models`` against every neural site and write one set of files per unit under ``out``.

    ``settings`` (or keyword ``options`` for its fields, e.g. ``dataset='demo', seed=1``) say what to
    compute; ``weights`` is pretrained, random or both; ``methods`` rsa, encoding, all or a list.
    ``out=None`` writes nothing. A group of units that raises is reported in ``failed`` (one line) and
    the others go on; pretrained weights that are unavailable under ``weights='both'`` are reported in
    ``skipped``. If nothing could run, the first error is raised.
    """
    settings = (settings or Settings()).replace(**options)
    units = plan(models, settings, weights, methods)
    targets = _prepare(units, settings, out)
    report = BenchmarkResult(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    tables: list[dict[str, pd.DataFrame]] = []
    for group in tqdm(feature_groups(units), desc="units", unit="model", disable=not progress or len(units) < 2):
        tables += _run_group(group, targets, out, resume, progress, report, weights)
    if not tables:
        raise report.errors[0]
    for part in ("scores", "layers", "nnls"):
        setattr(report, part, pd.concat([t[part] for t in tables], ignore_index=True))
    return report
