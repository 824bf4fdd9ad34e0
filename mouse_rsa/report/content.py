"""What each page of the report shows, read from a results directory alone: the leaderboard
(``leaderboard.rank``), the site and layer tables and unit sidecars (``mouse_rsa.results``), what
``analyze`` and ``compare`` wrote, and the catalogue's metadata. No scoring code runs here.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import leaderboard, results
from ..cache import path_part
from . import charts, labels
from .tables import Table, make_table

SCOPE = ["dataset", "method", "layer_set", "settings_key"]
HIDDEN_IN_SECTIONS = ["dataset", "method", "layer_set", "settings_key", "bootstrap_seed"]
ANALYSES = {  # analysis CSV stem → (title, what it is)
    "pretrained_vs_random": ("Pretrained vs random weights", "paired tests over sites per architecture"),
    "property_correlations": ("Score and model properties", ("correlation of mean score with parameters, depth, "
                                                             "ImageNet top-1 and GFLOPs, with bootstrap CIs")),
    "anova": ("Task cluster × area ANOVA", "two-way ANOVA (type II) of score on taskonomic cluster and area"),
    "anova_posthoc": ("ANOVA post-hoc tests", "Bonferroni-corrected Welch tests between clusters"),
    "signature_models": ("Joint NNLS signatures: models", ("each model's weight share in one NNLS over all "
                                                           "models' latent RDMs, per site")),
    "signature_clusters": ("Joint NNLS signatures: clusters", "weight share per taskonomic cluster and site"),
    "signature_areas": ("Joint NNLS signatures: areas", ("weight share per taskonomic cluster and area, with the "
                                                         "permutation null")),
}


@dataclass
class Results:
    """Everything the report reads from one results directory."""

    directory: Path
    board: pd.DataFrame
    scores: pd.DataFrame
    layers: pd.DataFrame
    units: list[dict[str, Any]]
    catalogue: pd.DataFrame
    analysis: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    comparisons: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    @property
    def demo(self) -> bool:
        return any(labels.is_demo(d) for d in self.board["dataset"].unique())


def _csvs(paths) -> dict[str, pd.DataFrame]:
    tables = {}
    for path in sorted(paths):
        try:
            tables[path.stem] = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as err:
            warnings.warn(f"skipped {path}: {err}", results.MalformedResultWarning, stacklevel=3)
    return tables


def _is_comparison(table: pd.DataFrame, name: str) -> bool:
    return name.startswith("compar") or any("difference" in c or c in ("model_a", "model_b") for c in table.columns)


def read(directory: str | Path) -> Results:
    """The results under ``directory``, and what ``analyze``, ``compare`` and ``figures`` wrote there."""
    import model_zoo

    directory = Path(directory)
    board = leaderboard.rank(directory)
    analysis_dir = directory / "analysis"
    tops = _csvs(p for p in directory.glob("*.csv") if p.name != "leaderboard.csv")
    for folder in ("comparisons", "compare"):
        tops.update(_csvs((directory / folder).glob("*.csv")))
    summary = (analysis_dir / "summary.txt").read_text().splitlines() if (analysis_dir / "summary.txt").is_file() \
        else []
    return Results(directory, board, results.read_scores(directory), results.read_layers(directory),
                   [record for _, record in results.whole_units(directory)],
                   model_zoo.catalogue().set_index("name"), _csvs(analysis_dir.glob("*.csv")), summary,
                   {name: t for name, t in tops.items() if _is_comparison(t, name)},
                   sorted((directory / "figures").glob("*.png")))


def model_slug(model: str) -> str:
    return path_part(model)


def _catalogue_value(res: Results, model: str, column: str) -> Any:
    if model in res.catalogue.index and column in res.catalogue.columns:
        value = res.catalogue.at[model, column]
        return None if labels.is_missing(value) else value
    return None


def training(res: Results, model: str, weights: str) -> str:
    """What a row's weights were trained on: the catalogue's training for pretrained weights, none otherwise."""
    if weights == "random":
        return "none (random weights)"
    if weights == "fixed":
        return "none (baseline)"
    return str(_catalogue_value(res, model, "training") or "unknown")


def row_filters(res: Results, row: dict[str, Any]) -> dict[str, str]:
    """A leaderboard row's values of the page's filters."""
    return {"family": str(_catalogue_value(res, row["model"], "family") or "unknown"),
            "training": training(res, row["model"], row["weights"]), "weights": str(row["weights"]),
            "modality": labels.modality(row["dataset"])}


def _with_missing_rows(res: Results, scope: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` plus one row per model × weights run on the same dataset elsewhere but not in this scope,
    its results left missing (they were not run, which is not a score of zero)."""
    elsewhere = res.board[res.board["dataset"] == scope["dataset"]].drop_duplicates(["model", "weights"])
    have = set(zip(rows["model"], rows["weights"]))
    absent = elsewhere[[(m, w) not in have for m, w in zip(elsewhere["model"], elsewhere["weights"])]]
    if absent.empty:
        return rows
    filler = pd.DataFrame({c: [scope.get(c, np.nan)] * len(absent) for c in rows.columns})
    for column in ("model", "weights", "n_params", "depth", "source", "settings"):
        if column in absent:
            filler[column] = absent[column].to_numpy()
    filler["settings"] = rows["settings"].iloc[0] if "settings" in rows and len(rows) else ""
    return pd.concat([rows, filler.astype(object)], ignore_index=True)


def _not_run(present: set[tuple[str, str]]) -> Callable[[dict[str, Any]], str]:
    """A row's note: "not run" for a model × weights absent from ``present``."""
    return lambda row: "" if (row["model"], row["weights"]) in present else "not run"


@dataclass
class Section:
    title: str
    subtitle: str
    table: Table


def leaderboard_sections(res: Results, root: str = "") -> list[Section]:
    """One sortable, filterable table per dataset × method × layer set (× settings, when several)."""
    sections = []
    for i, (values, rows) in enumerate(res.board.groupby(SCOPE, sort=False)):
        scope = dict(zip(SCOPE, values))
        present = set(zip(rows["model"], rows["weights"]))
        rows = _with_missing_rows(res, scope, rows.reset_index(drop=True))
        hidden = HIDDEN_IN_SECTIONS + ([] if rows["settings"].astype(str).str.strip().any() else ["settings"])
        table = make_table(
            rows, f"board-{i}", f"leaderboard-{scope['dataset']}-{scope['method']}-{scope['layer_set']}", hidden,
            links={"model": lambda r: f"{root}models/{model_slug(r['model'])}.html"},
            attrs=lambda r: row_filters(res, r), filterable=True,
            notes=_not_run(present))
        settings = f" · {rows['settings'].iloc[0]}" if "settings" not in hidden else ""
        title = f"{labels.method_title(scope['method'])} · {labels.layer_set_label(scope['layer_set'])}"
        sections.append(Section(title, f"dataset {scope['dataset']}{settings}", table))
    return sections


def filter_choices(res: Results) -> dict[str, list[str]]:
    """The values each leaderboard filter offers."""
    rows = [row_filters(res, r) for r in res.board.to_dict("records")]
    return {key: sorted({r[key] for r in rows}) for key in ("family", "training", "weights", "modality")}


def model_index(res: Results) -> list[tuple[str, str, str]]:
    """(name, page slug, "family · source" where the catalogue knows them) of every model with results."""
    entries = []
    for model in sorted(res.board["model"].unique()):
        known = [str(v) for v in (_catalogue_value(res, model, "family"), _catalogue_value(res, model, "source")) if v]
        entries.append((model, model_slug(model), " · ".join(known)))
    return entries


@dataclass
class ModelPage:
    model: str
    slug: str
    facts: list[tuple[str, str]]
    table: Table
    site_charts: list[dict[str, Any]]
    profile_charts: list[dict[str, Any]]
    best_layers: Table
    weights_note: str
    units: Table


def _facts(res: Results, model: str, rows: pd.DataFrame) -> list[tuple[str, str]]:
    """The catalogue's facts about ``model`` and what its site score ``rows`` hold."""
    facts = [(labels.label(c), labels.fmt(_catalogue_value(res, model, c), c))
             for c in ("source", "family", "training", "n_params", "depth", "n_layers", "cluster", "top1")
             if c in res.catalogue.columns]
    facts.append(("weights run", ", ".join(labels.weights_label(w) for w in sorted(rows["weights"].unique()))))
    facts.append(("model seeds", " ".join(str(s) for s in sorted(rows["model_seed"].unique()))))
    facts.append(("datasets", ", ".join(sorted(rows["dataset"].unique()))))
    return [(k.replace("top1", "ImageNet top-1 (%)"), v) for k, v in facts]


def _best_layers(scores: pd.DataFrame, slug: str) -> Table:
    """Per site × method × layer set × weights: the best layer of most seeds, with its depth and score."""
    keys = ["dataset", "method", "layer_set", "weights", "area", "site"]
    multi = scores[scores["n_layers"] > 1]
    rows = []
    for values, group in multi.groupby(keys, sort=False):
        best = group["best_layer"].mode().iloc[0]
        agree = group[group["best_layer"] == best]
        rows.append({**dict(zip(keys, values)), "best_layer": best,
                     "best_layer_depth": agree["best_layer_depth"].mean(),
                     "best_layer_score": agree["best_layer_score"].mean(),
                     "seeds_agreeing": f"{len(agree)} of {len(group)}"})
    frame = pd.DataFrame(rows, columns=[*keys, "best_layer", "best_layer_depth", "best_layer_score", "seeds_agreeing"])
    return make_table(frame, "best-layers", f"best-layers-{slug}", hidden=["dataset"])


def _units_table(res: Results, model: str, slug: str) -> Table:
    """Provenance: one row per unit of the model (its key, settings and timings)."""
    rows = []
    for record in res.units:
        if record["key"]["model"] != model:
            continue
        key = dict(record["key"])
        settings = record.get("unit", {}).get("settings", {})
        rows.append({**{c: key.get(c) for c in ("unit_key", "dataset", "method", "layer_set", "weights",
                                                "weights_source", "model_seed", "cv_seed", "target_seed", "folds",
                                                "repeats", "permutations", "ridge_criterion", "max_dim",
                                                "bn_calibration", "precision", "device", "code_version",
                                                "code_fingerprint", "dataset_hash", "targets_key", "settings_key")},
                     "weights_file": settings.get("weights_file"),
                     **{f"{k}": v for k, v in record.get("timings", {}).items()}})
    frame = pd.DataFrame(rows).sort_values(["dataset", "method", "layer_set", "weights", "model_seed"])
    frame["dataset_hash"] = frame["dataset_hash"].astype(str).str[:12]
    return make_table(frame, "units", f"units-{slug}")


def model_page(res: Results, model: str) -> ModelPage:
    """The page of one model: its rows, per-site scores, layer profiles, best layers and provenance."""
    slug = model_slug(model)
    rows = res.board[res.board["model"] == model]
    scores = res.scores[res.scores["model"] == model]
    layers = res.layers[res.layers["model"] == model]
    table = make_table(rows, "model-board", f"leaderboard-{slug}", ["settings_key", "bootstrap_seed", "model"])
    site_charts = [charts.site_scores(g, m, ls) for (m, ls), g in scores.groupby(["method", "layer_set"], sort=True)]
    multi = layers[layers.groupby("unit_key")["layer"].transform("nunique") > 1]
    profile_charts = [charts.layer_profile(g, m, ls, w)
                      for (m, ls, w), g in multi.groupby(["method", "layer_set", "weights"], sort=True)]
    kinds = set(rows["weights"])
    if {"pretrained", "random"} <= kinds:
        note = ("Pretrained and random weights side by side in the per-site charts; the leaderboard rows give "
                "pretrained − random.")
    elif "fixed" in kinds:
        note = "A baseline: it has fixed weights only."
    else:
        missing = "pretrained" if "random" in kinds else "random"
        note = (f"Only {' and '.join(sorted(kinds))} weights were run: no {missing} result to compare with "
                f"(run `mouse-rsa benchmark --model {model} --weights both`).")
    return ModelPage(model, slug, _facts(res, model, scores), table, site_charts, profile_charts,
                     _best_layers(scores, slug), note, _units_table(res, model, slug))


def site_means(res: Results) -> pd.DataFrame:
    """Per scope × model × weights × site: the score averaged over model seeds (the comparison view's data)."""
    keys = ["dataset", "method", "layer_set", "settings_key", "model", "weights", "area", "site"]
    means = res.scores.groupby(keys, sort=False).agg(score=("score", "mean"), n_seeds=("model_seed", "nunique"))
    means = means.reset_index()
    means["scope"] = [f"{d} · {labels.method_title(m)} · {labels.layer_set_label(ls)}" + (f" · {k}" if
                      res.board["settings_key"].nunique() > 1 else "")
                      for d, m, ls, k in zip(means["dataset"], means["method"], means["layer_set"],
                                             means["settings_key"])]
    means["entry"] = means["model"] + " · " + means["weights"].map(labels.weights_label)
    return means[["scope", "entry", "model", "weights", "area", "site", "score", "n_seeds"]]


def comparison_tables(res: Results) -> list[tuple[str, Table]]:
    return [(name, make_table(table, f"compare-{i}", name))
            for i, (name, table) in enumerate(res.comparisons.items())]


def analysis_sections(res: Results) -> list[tuple[str, str, Table]]:
    """(title, what it is, table) of every CSV ``analyze`` wrote, in the order of ``ANALYSES``."""
    order = list(ANALYSES) + sorted(set(res.analysis) - set(ANALYSES))
    sections = []
    for i, name in enumerate(n for n in order if n in res.analysis):
        title, about = ANALYSES.get(name, (name.replace("_", " ").capitalize(), ""))
        sections.append((title, about, make_table(res.analysis[name], f"analysis-{i}", name)))
    return sections
