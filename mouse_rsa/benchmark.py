"""Wire one model × weights × targets × method into tidy score tables (the tool's main job).

Outputs per unit (model, weights, seed, method) under ``out/<dataset>/<model>/``:

* ``<weights>-seed<seed>-<method>.scores.csv``: one row per site (columns in ``SCORE_COLUMNS``)
* ``<weights>-seed<seed>-<method>.layers.csv``: one row per site × layer (``LAYER_COLUMNS``)
* ``<weights>-seed<seed>-rsa.nnls.csv``: NNLS weights of every fold (RSA only)

A unit run again replaces its files, so the leaderboard never holds duplicates.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import model_zoo

from . import encoding as enc
from . import rsa
from .cache import atomic_path
from .errors import InvalidInput, WeightsUnavailable
from .features import DEFAULT_BATCH, DEFAULT_MAX_DIM, LayerGrams, cached_extract
from .reliability import DEFAULT_SPLITS, DEFAULT_THRESHOLD
from .sites import DEFAULT_MIN_CELLS
from .targets import Targets, load_targets

METHODS = {"rsa": "rsa_nnls", "encoding": "encoding_ridge"}
SCORE_COLUMNS = ["dataset", "model", "weights", "seed", "method", "area", "cortical_layer", "site", "n_cells",
                 "score", "score_r2", "ceiling", "score_normalized", "best_layer", "best_layer_index",
                 "best_layer_depth", "best_layer_score", "n_layers", "folds", "repeats", "dataset_hash"]
LAYER_COLUMNS = ["dataset", "model", "weights", "seed", "method", "area", "cortical_layer", "site", "layer",
                 "layer_index", "layer_depth", "rsa_pearson", "rsa_spearman", "encoding_median_r",
                 "encoding_alpha_at_edge"]


class ConstantLayerWarning(UserWarning):
    """A layer whose RDM is undefined or flat was left out of the scoring."""


@dataclass
class BenchmarkResult:
    scores: pd.DataFrame
    layers: pd.DataFrame
    nnls_weights: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # one line per unit that could not run


def resolve_weights(info: model_zoo.ModelInfo, weights: str) -> list[str]:
    kinds = info.weights_kinds
    if weights == "both":
        return list(kinds)
    if weights not in kinds:
        raise InvalidInput(f"{info.name} has no {weights!r} weights; it has {', '.join(kinds)}")
    return [weights]


def resolve_methods(method: str) -> list[str]:
    if method == "all":
        return list(METHODS)
    if method not in METHODS:
        raise InvalidInput(f"unknown method {method!r}; use rsa, encoding or all")
    return [method]


def benchmark(
    model: str,
    weights: str = "both",
    dataset="allen",
    seed: int = 0,
    folds: int = rsa.DEFAULT_FOLDS,
    repeats: int = 1,
    method: str = "rsa",
    out: str | Path | None = "results",
    layers: str | None = None,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_dim: int = DEFAULT_MAX_DIM,
    weights_file: str | None = None,
    stimuli: str | Path | None = None,
    neural_rdms: str | Path | None = None,
    reliability_threshold: float = DEFAULT_THRESHOLD,
    min_cells: int = DEFAULT_MIN_CELLS,
    reliability_splits: int = DEFAULT_SPLITS,
    use_cache: bool = True,
    progress: bool = True,
    targets: Targets | None = None,
    resume: bool = False,
) -> BenchmarkResult:
    """Score ``model`` (pretrained, random or both) against every neural site.

    ``dataset`` is a name (allen, demo), a dataset file, or replaced by ``stimuli`` + ``neural_rdms``.
    Every random choice (random weights, projections, folds, reliability splits) uses ``seed``.
    ``out=None`` writes nothing. A pretrained request whose weights are unavailable raises
    WeightsUnavailable, except with ``weights='both'``, where it is reported in ``unavailable``.
    ``resume`` reads units already written under ``out`` for the same dataset content, folds and
    repeats instead of recomputing them; ``targets`` (from ``load_targets``) lets a sweep over models
    select cells and build site RDMs once.
    """
    info = model_zoo.info(model)
    kinds = resolve_weights(info, weights)
    methods = resolve_methods(method)
    if folds < 2:
        raise InvalidInput("--folds must be at least 2")
    if targets is None:
        targets = load_targets(dataset, stimuli, neural_rdms, reliability_threshold, min_cells,
                               reliability_splits, seed)
    if "encoding" in methods and targets.cell_means is None:
        raise InvalidInput("encoding models need single-cell responses; --neural-rdms gives RDMs only "
                           "(use --method rsa)")
    partitions = rsa.stimulus_folds(len(targets.stimuli), folds, repeats, seed)
    scores, layer_rows, weight_rows, files, unavailable = [], [], [], [], []
    for kind in kinds:
        finished = [_read_unit(Path(out), targets, info.name, kind, seed, m, folds, repeats)
                    for m in methods] if resume and out is not None else [None]
        if all(unit is not None for unit in finished):
            for unit in finished:
                scores.append(unit[0])
                layer_rows.append(unit[1])
                weight_rows.append(unit[2])
            continue
        try:
            zoo = model_zoo.create(info.name, weights=kind, seed=seed,
                                   weights_file=weights_file if kind == "pretrained" else None)
        except WeightsUnavailable as err:
            if len(kinds) == 1:
                raise
            unavailable.append(str(err))
            continue
        grams = usable_layers(cached_extract(zoo, targets.stimuli, layers, batch_size, device, max_dim, seed,
                                             progress, use_cache), info.name)
        for m in methods:
            unit = _score_unit(zoo, grams, targets, m, partitions, seed, folds, repeats, progress)
            scores.append(unit[0])
            layer_rows.append(unit[1])
            weight_rows.append(unit[2])
            if out is not None:
                files += _write_unit(Path(out), targets.name, info.name, kind, seed, m, *unit)
    if not scores:
        raise WeightsUnavailable(" / ".join(unavailable))
    return BenchmarkResult(pd.concat(scores, ignore_index=True), pd.concat(layer_rows, ignore_index=True),
                           pd.concat(weight_rows, ignore_index=True), files, unavailable)


def usable_layers(grams: LayerGrams, model: str) -> LayerGrams:
    """Drop layers with constant features (undefined or flat RDM) with one warning naming them."""
    bad = set(grams.degenerate_layers())
    if not bad:
        return grams
    if len(bad) == grams.n_layers:
        raise InvalidInput(f"every layer of {model} has constant features on these stimuli; nothing to score")
    shown = ", ".join(sorted(bad)[:5]) + (" ..." if len(bad) > 5 else "")
    warnings.warn(f"{model}: {len(bad)} layer(s) with constant features left out: {shown}", ConstantLayerWarning,
                  stacklevel=3)
    return grams.select([i for i, n in enumerate(grams.names) if n not in bad])


def _relative_depth(index: int, n_layers: int) -> float:
    return index / (n_layers - 1) if n_layers > 1 else 0.0


def _score_unit(zoo, grams: LayerGrams, targets: Targets, method: str, partitions, seed, folds, repeats, progress):
    base = {"dataset": targets.name, "model": zoo.name, "weights": zoo.weights, "seed": seed,
            "method": METHODS[method]}
    n_layers = grams.n_layers
    layer_table = pd.DataFrame({"layer": grams.names, "layer_index": np.arange(n_layers),
                                "layer_depth": [_relative_depth(i, n_layers) for i in range(n_layers)]})
    rows, layer_frames, weight_frames = [], [], []
    if method == "rsa":
        layer_vectors = rsa.upper_triangles(grams.rdms())
        for site in tqdm(targets.sites, desc=f"{zoo.name} ({zoo.weights}) rsa", unit="site",
                         disable=not progress, leave=False):
            site_vector = rsa.upper_triangles(site.rdm[None])[:, 0]
            pearson, spearman = rsa.layer_profile(layer_vectors, site_vector)
            fit = rsa.cross_validated_nnls(layer_vectors, site_vector, len(targets.stimuli), partitions, grams.names)
            best = int(np.nanargmax(pearson))
            site_info = {"area": site.area, "cortical_layer": site.cortical_layer, "site": site.key}
            rows.append({**base, **site_info, "n_cells": site.n_cells if targets.cell_means is not None else np.nan,
                         "score": fit.score, "score_r2": fit.score ** 2, "ceiling": site.ceiling,
                         "score_normalized": fit.score ** 2 / site.ceiling if site.ceiling > 0 else np.nan,
                         "best_layer": grams.names[best], "best_layer_index": best,
                         "best_layer_depth": _relative_depth(best, n_layers), "best_layer_score": pearson[best]})
            layer_frames.append(layer_table.assign(**base, **site_info, rsa_pearson=pearson, rsa_spearman=spearman,
                                                   encoding_median_r=np.nan, encoding_alpha_at_edge=np.nan))
            weight_frames.append(fit.weights.assign(**base, site=site.key))
    else:
        result = enc.encode(grams, targets.cell_means, partitions)
        for site in targets.sites:
            cells = targets.cell_site == site.key
            per_layer = np.median(result.layer_r[:, cells], axis=1)
            best = int(np.argmax(per_layer))
            r = result.nested_r[cells]
            reliability = targets.cell_reliability[cells]
            site_info = {"area": site.area, "cortical_layer": site.cortical_layer, "site": site.key}
            rows.append({**base, **site_info, "n_cells": int(cells.sum()), "score": float(np.median(r)),
                         "score_r2": float(np.median(r ** 2)), "ceiling": float(np.median(reliability)),
                         "score_normalized": float(np.median(r ** 2 / reliability)),
                         "best_layer": grams.names[best], "best_layer_index": best,
                         "best_layer_depth": _relative_depth(best, n_layers), "best_layer_score": per_layer[best]})
            layer_frames.append(layer_table.assign(**base, **site_info, rsa_pearson=np.nan, rsa_spearman=np.nan,
                                                   encoding_median_r=per_layer,
                                                   encoding_alpha_at_edge=result.alpha_at_edge[:, cells].mean(axis=1)))
    scores = pd.DataFrame(rows)
    scores["n_layers"], scores["folds"], scores["repeats"] = n_layers, folds, repeats
    scores["dataset_hash"] = targets.content_hash
    layers = pd.concat(layer_frames, ignore_index=True)[LAYER_COLUMNS]
    weights = pd.concat(weight_frames, ignore_index=True) if weight_frames else pd.DataFrame()
    return scores[SCORE_COLUMNS], layers, weights


def _unit_files(out: Path, dataset: str, model: str, weights: str, seed: int, method: str) -> dict[str, Path]:
    stem = f"{weights}-seed{seed}-{method}"
    return {part: out / dataset / model / f"{stem}.{part}.csv" for part in ("scores", "layers", "nnls")}


def _read_unit(out: Path, targets: Targets, model: str, weights: str, seed: int, method: str, folds: int,
               repeats: int):
    """A finished unit's tables, or None when missing or computed for other data or folds."""
    files = _unit_files(out, targets.name, model, weights, seed, method)
    if not (files["scores"].exists() and files["layers"].exists()):
        return None
    try:
        scores = pd.read_csv(files["scores"])
        same = (set(scores["dataset_hash"]) == {targets.content_hash} and set(scores["folds"]) == {folds}
                and set(scores["repeats"]) == {repeats})
        if not same:
            return None
        nnls = pd.read_csv(files["nnls"]) if files["nnls"].exists() else pd.DataFrame()
        return scores[SCORE_COLUMNS], pd.read_csv(files["layers"])[LAYER_COLUMNS], nnls
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, UnicodeDecodeError):
        return None


def _write_unit(out: Path, dataset: str, model: str, weights: str, seed: int, method: str,
                scores: pd.DataFrame, layers: pd.DataFrame, nnls: pd.DataFrame) -> list[Path]:
    files = _unit_files(out, dataset, model, weights, seed, method)
    written = []
    for part, table in (("layers", layers), ("nnls", nnls), ("scores", scores)):  # scores last: marks done
        if len(table):
            with atomic_path(files[part]) as tmp:
                table.to_csv(tmp, index=False, float_format="%.10g")
            written.append(files[part])
    return written
