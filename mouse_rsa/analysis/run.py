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
from typing import Any

import numpy as np
import pandas as pd

from .. import comparison, leaderboard, results
from .. import methods as registry
from ..cache import check_folder, file_mode, write_failed
from ..errors import InvalidInput, warn_once
from ..identical import identical_models
from ..leaderboard import model_rows
from ..resampling import UnitScores
from ..settings import BOOTSTRAP_RESAMPLES as DEFAULT_RESAMPLES
from ..stats import paired_comparison
from . import agreement, anova, modalities, properties, signatures
from .models import model_table, site_means

RUN_ZOO = "`mouse-rsa benchmark --model study:zoo --weights both`"
RUN_LATENT = "`mouse-rsa benchmark --model study:taskonomy --layers latent`"


@dataclass(frozen=True)
class Options:
    """Settings of the analyses: the score column, bootstrap resamples (of correlations over models, and of
    stimuli for pretrained vs random) and seed, the joint-NNLS design."""

    value: str = "score"
    n_resamples: int = 10_000
    seed: int = 0
    design: signatures.SplitDesign = field(default_factory=signatures.SplitDesign)
    n_bootstrap: int = DEFAULT_RESAMPLES


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
    figures: dict[str, Any] = field(default_factory=dict)  # matplotlib figures, written as PNG and PDF


class _Skipped(Exception):
    """An analysis that cannot run on these results; the message says which runs are missing."""


@dataclass
class _Inputs:
    directory: Path
    scores: pd.DataFrame
    models: pd.DataFrame
    units: UnitScores
    identical: dict[tuple, list[str]]  # (dataset, method, layer set, settings_key, model, weights) → same networks


def _paired(inputs: _Inputs, options: Options) -> _Step:
    """Pretrained vs random per architecture: the paired stimulus × seed bootstrap of ``comparison`` (the
    chance-corrected score), next to the study's paired t-test and Wilcoxon over sites (seeds averaged)."""
    try:
        found = comparison.compare(inputs.directory, n_bootstrap=options.n_bootstrap, bootstrap_seed=options.seed,
                                   units=inputs.units)
    except InvalidInput as err:
        raise _Skipped(f"pretrained vs random needs models run with both weights (run {RUN_ZOO})") from err
    table = found.table.rename(columns={"model_a": "model"}).drop(columns=["weights_a", "model_b", "weights_b"])
    sites = paired_comparison(site_means(inputs.scores, options.value).assign(model_seed=0))
    table = table.merge(sites[["dataset", "settings_key", "method", "layer_set", "model", "n_sites", "t", "p_ttest",
                               "p_wilcoxon"]], on=["dataset", "settings_key", "method", "layer_set", "model"], how="left")
    kinds = inputs.models["kind"].reindex(table["model"]).fillna("architecture").to_numpy()
    table = table.assign(kind=kinds)[kinds != "baseline"]
    if table.empty:
        raise _Skipped(f"pretrained vs random needs models run with both weights (run {RUN_ZOO})")
    lines = [f"pretrained vs random not tested: {line}" for line in found.refused]
    scope = ["dataset", "method", "layer_set", "kind"]
    for (dataset, method, layer_set, kind), rows in table.groupby(scope, sort=False):
        what = "Taskonomy tasks" if kind == "task" else "architectures"
        lines.append(f"{dataset} {method} {layer_set}: {comparison.summary(rows, what)}")
    return _Step({"pretrained_vs_random": table}, lines)


def _properties(inputs: _Inputs, options: Options) -> _Step:
    table, merged = properties.property_correlations(inputs.scores, inputs.models, options.value, options.n_resamples,
                                                     options.seed, inputs.identical)
    if table.empty:
        raise _Skipped(f"property correlations need ≥ {properties.MIN_MODELS} distinct architectures with catalogue "
                       f"properties (run {RUN_ZOO})")
    return _Step({"property_correlations": table}, merged + properties.summary_lines(table))


def _anova(inputs: _Inputs, options: Options) -> _Step:
    observations, refused = anova.task_observations(inputs.scores, inputs.models, options.value, inputs.identical)
    table = anova.cluster_anova(observations)
    if table.empty:
        raise _Skipped("; ".join(refused) if refused else
                       f"it needs Taskonomy results from ≥ 2 clusters (run {RUN_LATENT} and with --layers all)")
    lines = [f"ANOVA refused: {line}" for line in refused]
    return _Step({"anova": table, "anova_posthoc": anova.posthoc(observations)}, lines + anova.summary_lines(table))


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
    labels = {**{c: first[c] for c in SIGNATURE_KEY}, "method": first["method"], "layer_set": "latent",
              "splits": design.splits, "folds": design.folds, "split_seed": design.seed,
              "permutations": design.permutations}
    label = f"{first['dataset']} {first['weights']} model seed {first['model_seed']} signature"
    return {name: table.assign(**labels) for name, table in tables.items()}, \
        signatures.summary_lines(tables["areas"], label)


def _same_networks(inputs: _Inputs, units: pd.DataFrame) -> list[str]:
    """The models of ``units`` (one signature group) that are the same network as another of them."""
    models = set(units["model"])
    return [row.model for row in units.itertuples()
            if models & {m.rsplit(" (", 1)[0] for m in inputs.identical.get(
                (row.dataset, row.method, row.layer_set, row.settings_key, row.model, row.weights), [])}]


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
        same = _same_networks(inputs, units)
        if same:
            first = units.iloc[0]
            names = ", ".join(same[:4]) + (f" and {len(same) - 4} more" if len(same) > 4 else "")
            lines.append(f"signatures refused for {first['dataset']} {first['weights']} model seed "
                         f"{first['model_seed']}: {names} are one network (every layer RDM identical, "
                         "e.g. random weights of one architecture), so a weight split among them is arbitrary")
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
        raise _Skipped("; ".join(lines) if lines else
                       f"signatures need latent RSA results of ≥ 2 Taskonomy tasks (run {RUN_LATENT})")
    return _Step({f"signature_{name}": pd.concat(f, ignore_index=True) for name, f in frames.items()}, lines)


def _modalities(inputs: _Inputs, options: Options) -> _Step:
    if inputs.scores["dataset"].nunique() < 2:
        return _Step({}, [])  # one dataset: nothing to compare, nothing missing
    pairs = modalities.paired_rankings(leaderboard.rank(inputs.directory, units=inputs.units), inputs.scores)
    table = modalities.rank_agreement(pairs, options.n_resamples, options.seed)
    if table.empty:
        raise _Skipped(modalities.SKIPPED)
    return _Step({"modality_agreement": table}, modalities.summary_lines(table))
def _agreement(inputs: _Inputs, options: Options) -> _Step:
    """Rank agreement between methods and image sizes, and the rankings' stability (``agreement``)."""
    from ..figures import agreement_figure

    table = agreement.method_agreement(inputs.units, options.n_bootstrap, options.seed)
    if table.empty:
        raise _Skipped(f"rank agreement needs ≥ {agreement.MIN_MODELS} models scored by ≥ 2 methods or image sizes "
                       "(run `mouse-rsa benchmark --model NAME ... --method all` or with --image-size 64 224)")
    stability = agreement.ranking_stability(inputs.units)
    return _Step({"agreement": table, "ranking_stability": stability}, agreement.summary_lines(table, stability),
                 {"method_agreement": agreement_figure(table)})


STEPS: dict[str, Callable[[_Inputs, Options], _Step]] = {
    "pretrained vs random": _paired, "property correlations": _properties,
    "cluster × area ANOVA": _anova, "taskonomic signatures": _signatures, "method agreement": _agreement,
    "rank agreement across datasets": _modalities}


# every table an analysis can write (a stale one from an earlier run is removed)
ANALYSIS_FILES = {f"{name}.csv" for name in ("pretrained_vs_random", "property_correlations", "anova", "anova_posthoc",
                                             "signature_models", "signature_clusters", "signature_areas",
                                             "modality_agreement", "agreement", "ranking_stability")} | {
    f"method_agreement.{fmt}" for fmt in ("png", "pdf")}


def _write(out: Path, tables: dict[str, pd.DataFrame], figures: dict[str, Any], summary: list[str]) -> list[Path]:
    """Write every table, figure (PNG and PDF) and the summary into a fresh folder beside ``out``, then move
    them into ``out`` at once and remove the files an earlier analysis left there that this one did not
    write: ``out`` never mixes two analyses, and a failure leaves it as it was."""
    from ..figures import write_figure

    out.parent.mkdir(parents=True, exist_ok=True)
    files = {f"{name}.csv": table for name, table in tables.items()}
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, table in files.items():
            table.to_csv(stage / name, index=False, float_format="%.10g")
        drawn = [path.name for name, fig in figures.items() for path in write_figure(fig, stage, name)]
        (stage / "summary.txt").write_text("\n".join(summary) + "\n")
        out.mkdir(exist_ok=True)
        for path in stage.iterdir():
            os.chmod(path, file_mode())
            os.replace(path, out / path.name)
        for stale in ANALYSIS_FILES - set(files) - set(drawn):
            (out / stale).unlink(missing_ok=True)
    except OSError as err:
        raise write_failed(out, err) from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out / name for name in [*files, *drawn]] + [out / "summary.txt"]


def run_analyses(inputs: _Inputs, out: Path, options: Options) -> Analysis:
    """Every step on ``inputs``, then their tables written into ``out`` as a whole. InvalidInput if none can run."""
    result = Analysis([], [], [])
    tables: dict[str, pd.DataFrame] = {}
    figures: dict[str, Any] = {}
    for name, step in STEPS.items():
        try:
            done = step(inputs, options)
        except _Skipped as skipped:
            result.skipped.append(f"skipped {name}: {skipped}")
            continue
        tables.update(done.tables)
        result.summary += done.summary
        figures.update(done.figures)
    if not tables and not figures:
        raise InvalidInput(f"nothing to analyze in {inputs.directory}: " + "; ".join(result.skipped),
                           argument="directory")
    result.files = _write(out, tables, figures, result.summary + result.skipped)
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
    units = UnitScores.read(directory)
    options = Options(value, n_resamples, seed, signatures.SplitDesign(splits, folds, seed, permutations))
    check_folder(out, "output")
    _check_design(directory, units.scores, options.design)
    identical = identical_models(model_rows(units.table),
                                 lambda key: (units.arrays(key) or {}).get("layer_signature"))
    inputs = _Inputs(directory, units.scores, model_table(catalogue()), units, identical)
    return run_analyses(inputs, out, options)
