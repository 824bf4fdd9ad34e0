"""``analyze``: every analysis of the study on one results directory, written as tidy CSVs.

An analysis whose inputs are missing is skipped with a note that says which runs would provide
them; only when none can run is it an error.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import methods as registry
from .. import results
from ..cache import check_folder, file_mode, write_failed
from ..errors import InvalidInput, warn_once
from ..stats import paired_comparison, paired_summary
from . import anova, properties, signatures
from .models import model_table

RUN_ZOO = "`mouse-rsa benchmark --model study:zoo --weights both`"
RUN_LATENT = "`mouse-rsa benchmark --model study:taskonomy --layers latent`"


@dataclass(frozen=True)
class Options:
    """Settings of the analyses: the score column, bootstrap resamples and seed, the joint-NNLS design."""

    value: str = "score"
    n_resamples: int = 10_000
    seed: int = 0
    design: signatures.SplitDesign = field(default_factory=signatures.SplitDesign)


@dataclass
class Analysis:
    """What ``analyze`` wrote, its one-line findings, and the analyses it skipped (with why)."""

    files: list[Path]
    summary: list[str]
    skipped: list[str]


@dataclass
class _Step:
    tables: dict[str, pd.DataFrame]
    summary: list[str]


class _Skipped(Exception):
    """An analysis that cannot run on these results; the message says which runs are missing."""


@dataclass
class _Inputs:
    directory: Path
    scores: pd.DataFrame
    models: pd.DataFrame


def _paired(inputs: _Inputs, options: Options) -> _Step:
    table = paired_comparison(inputs.scores.assign(score=inputs.scores[options.value]))
    kinds = inputs.models["kind"].reindex(table["model"]).fillna("architecture").to_numpy()
    table = table.assign(kind=kinds)[kinds != "baseline"]
    if table.empty:
        raise _Skipped(f"pretrained vs random needs models run with both weights (run {RUN_ZOO})")
    lines = []
    scope = ["dataset", "method", "layer_set", "kind"]
    for (dataset, method, layer_set, kind), rows in table.groupby(scope, sort=False):
        what = "Taskonomy tasks" if kind == "task" else "architectures"
        lines.append(f"{dataset} {method} {layer_set}: {paired_summary(rows, what)}")
    return _Step({"pretrained_vs_random": table}, lines)


def _properties(inputs: _Inputs, options: Options) -> _Step:
    table = properties.property_correlations(inputs.scores, inputs.models, options.value, options.n_resamples,
                                             options.seed)
    if table.empty:
        raise _Skipped(f"property correlations need ≥ {properties.MIN_MODELS} architectures with catalogue "
                       f"properties (run {RUN_ZOO})")
    return _Step({"property_correlations": table}, properties.summary_lines(table))


def _anova(inputs: _Inputs, options: Options) -> _Step:
    observations = anova.task_observations(inputs.scores, inputs.models, options.value)
    table = anova.cluster_anova(observations)
    if table.empty:
        raise _Skipped(f"the cluster × area ANOVA needs Taskonomy results from ≥ 2 clusters (run {RUN_LATENT} "
                       "and with --layers all)")
    return _Step({"anova": table, "anova_posthoc": anova.posthoc(observations)}, anova.summary_lines(table))


SIGNATURE_KEY = ["dataset", "settings_key", "weights", "model_seed"]


def _signature_group(directory: Path, units: pd.DataFrame, sites: pd.DataFrame,
                     design: signatures.SplitDesign) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Joint fit of one target × weights × seed on the latent RDMs of ``units`` (one row per model):
    the signature tables and their summary lines."""
    first = units.iloc[0]
    site_keys, site_vectors, _ = results.read_site_rdms(directory, first["dataset"], first["targets_key"])
    blocks = [results.read_model_rdms(directory, key) for key in units["unit_key"]]
    regressors = np.concatenate([vectors for _, vectors in blocks], axis=1)
    owner = np.repeat(np.arange(len(blocks)), [len(names) for names, _ in blocks])
    membership = (owner[:, None] == np.arange(len(blocks))[None]).astype(np.float64)
    fit = signatures.joint_fit(regressors, membership, site_vectors, design)
    site_rows = sites.drop_duplicates("site").set_index("site").reindex(site_keys).reset_index()
    tables = signatures.signature_tables(fit, site_rows[["site", "area", "cortical_layer"]],
                                         units[["model", "cluster"]])
    labels = {**{c: first[c] for c in SIGNATURE_KEY}, "layer_set": "latent", "splits": design.splits,
              "folds": design.folds, "split_seed": design.seed, "permutations": design.permutations}
    label = f"{first['dataset']} {first['weights']} model seed {first['model_seed']} signature"
    lines = signatures.summary_lines(tables["areas"], label)
    identical = signatures.identical_regressors(regressors)
    if identical:
        lines.append(f"{label}: {identical} of {regressors.shape[1]} model RDMs are identical to another's "
                     "(e.g. random weights of one architecture), so the weight split among them is arbitrary")
    return {name: table.assign(**labels) for name, table in tables.items()}, lines


def _signatures(inputs: _Inputs, options: Options) -> _Step:
    scores = inputs.scores.join(inputs.models[["cluster"]], on="model")
    keeping = [m.name for m in registry.all_methods() if m.keeps_layer_rdms]  # their latent units saved RDMs
    latent = scores[scores["method"].isin(keeping) & (scores["layer_set"] == "latent")
                    & (scores["cluster"].fillna("") != "")]
    frames: dict[str, list[pd.DataFrame]] = {"models": [], "clusters": [], "areas": []}
    lines = []
    for _, rows in latent.groupby(SIGNATURE_KEY, sort=False):
        units = rows.drop_duplicates("model")
        if len(units) < 2:
            continue
        try:
            tables, group_lines = _signature_group(inputs.directory, units, rows, options.design)
        except InvalidInput as err:  # an unreadable RDM file: this group is left out, the others go on
            if err.argument != "directory":
                raise
            warn_once(f"signatures of {rows['dataset'].iloc[0]} {rows['weights'].iloc[0]} model seed "
                      f"{rows['model_seed'].iloc[0]} left out: {err}", results.MalformedResultWarning)
            continue
        for name, table in tables.items():
            frames[name].append(table)
        lines += group_lines
    if not frames["models"]:
        raise _Skipped(f"signatures need latent RSA results of ≥ 2 Taskonomy tasks (run {RUN_LATENT})")
    return _Step({f"signature_{name}": pd.concat(f, ignore_index=True) for name, f in frames.items()}, lines)


STEPS: dict[str, Callable[[_Inputs, Options], _Step]] = {
    "pretrained vs random": _paired, "property correlations": _properties,
    "cluster × area ANOVA": _anova, "taskonomic signatures": _signatures}


# every table an analysis can write (a stale one from an earlier run is removed)
ANALYSIS_FILES = {f"{name}.csv" for name in ("pretrained_vs_random", "property_correlations", "anova", "anova_posthoc",
                                             "signature_models", "signature_clusters", "signature_areas")}


def _write(out: Path, tables: dict[str, pd.DataFrame], summary: list[str]) -> list[Path]:
    """Write every table and the summary into a fresh folder beside ``out``, then move them into ``out`` at
    once and remove the tables an earlier analysis left there that this one did not write: ``out`` never
    mixes two analyses, and a failure leaves it as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    files = {f"{name}.csv": table for name, table in tables.items()}
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, table in files.items():
            table.to_csv(stage / name, index=False, float_format="%.10g")
        (stage / "summary.txt").write_text("\n".join(summary) + "\n")
        out.mkdir(exist_ok=True)
        for path in stage.iterdir():
            os.chmod(path, file_mode())
            os.replace(path, out / path.name)
        for stale in ANALYSIS_FILES - set(files):
            (out / stale).unlink(missing_ok=True)
    except OSError as err:
        raise write_failed(out, err) from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out / name for name in files] + [out / "summary.txt"]


def run_analyses(inputs: _Inputs, out: Path, options: Options) -> Analysis:
    """Every step on ``inputs``, then their tables written into ``out`` as a whole. InvalidInput if none can run."""
    result = Analysis([], [], [])
    tables: dict[str, pd.DataFrame] = {}
    for name, step in STEPS.items():
        try:
            done = step(inputs, options)
        except _Skipped as skipped:
            result.skipped.append(f"skipped {name}: {skipped}")
            continue
        tables.update(done.tables)
        result.summary += done.summary
    if not tables:
        raise InvalidInput(f"nothing to analyze in {inputs.directory}: " + "; ".join(result.skipped),
                           argument="directory")
    result.files = _write(out, tables, result.summary + result.skipped)
    return result


def _check_design(directory: Path, scores: pd.DataFrame, design: signatures.SplitDesign) -> None:
    """The signatures' folds against the stimuli of every neural target they would use, before any work."""
    latent = scores[scores["layer_set"] == "latent"].drop_duplicates(["dataset", "targets_key"])
    for row in latent.itertuples():
        try:
            _, vectors, _ = results.read_site_rdms(directory, row.dataset, row.targets_key)
        except InvalidInput:
            continue  # reported, and its group left out, when the signatures run
        design.check_stimuli(signatures.n_stimuli_of(len(vectors)))


def analyze(directory: str | Path = "results", out: str | Path | None = None, splits: int = 1000, folds: int = 6,
            permutations: int = 100, n_resamples: int = 10_000, seed: int = 0, value: str = "score") -> Analysis:
    """Run every analysis on the results under ``directory``; write tidy CSVs to ``out`` (default DIR/analysis).

    splits, folds, permutations: the joint-NNLS design of the signatures; n_resamples, seed: the
    bootstraps and splits; value: the score column analysed (score, score_r2 or score_normalized).
    """
    from model_zoo import catalogue

    directory = Path(directory)
    out = Path(out) if out is not None else directory / "analysis"
    if value not in ("score", "score_r2", "score_normalized"):
        raise InvalidInput(f"value must be score, score_r2 or score_normalized, not {value!r}", argument="value")
    options = Options(value, n_resamples, seed, signatures.SplitDesign(splits, folds, seed, permutations))
    check_folder(out, "output")
    scores = results.read_scores(directory)
    _check_design(directory, scores, options.design)
    inputs = _Inputs(directory, scores, model_table(catalogue()))
    return run_analyses(inputs, out, options)
