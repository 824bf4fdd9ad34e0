"""The ``mouse-rsa`` command: parses arguments, calls the library, prints, maps errors to exit 2.

Only argparse and the settings are imported up front, so ``--help`` is instant; each command
imports what it needs. Defaults shown in ``--help`` are the library's (``mouse_rsa.settings``).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from model_zoo.errors import UserError as ZooUserError

from .errors import InvalidInput, UserError, forget_warned
from .methods import DEFAULT, REGISTERED
from .settings import BOOTSTRAP_RESAMPLES, PRECISIONS, RIDGE_CRITERIA, Settings

HELP = {
    "dataset": "allen, allen-neuropixels, demo, demo-neuropixels or the path of a dataset .h5 file",
    "stimuli": "directory of image files (RDM rows follow their sorted names); with --neural-rdms",
    "neural_rdms": "npz with one RDM per site key (VISp_L23, ...) and optional <site>_ceiling (r²) "
                   "or <site>_ceiling_r (r)",
    "model_seed": "model seed(s): random weights and the count-sketch of large layers; several run as replicates",
    "cv_seed": "seed of the cross-validation folds and repeats over stimuli",
    "target_seed": "seed of the reliability split-halves (which cells are reliable, site ceilings)",
    "folds": "cross-validation folds over stimuli",
    "repeats": "repeated k-fold partitions",
    "permutations": "stimulus permutations of each score's chance level (0: none; default: each method's own, "
                    "{method_permutations})",
    "ridge_criterion": "how encoding chooses each cell's ridge penalty: loo (exact leave-one-out) or gcv "
                       "(generalised cross-validation, much cheaper per cell)",
    "bn_calibration": "random weights: set batch-norm statistics from the stimuli instead of their initial values "
                      "(at initialisation batch norm is the identity in eval mode)",
    "layers": "layer set: all, latent (each model's final representation) or a glob such as 'features.*'",
    "max_dim": "random-projection size for layers with more units",
    "image_size": "side (px) the stimuli are resized to (default: each model's own input size); several sizes run "
                  "one unit per size and one that chooses the size with the layer, on training stimuli only",
    "weights_file": "local state dict (.pth/.safetensors) used as the pretrained weights",
    "reliability_threshold": "split-half reliability a cell needs",
    "min_cells": "reliable cells a site needs",
    "reliability_splits": "random split-halves averaged per cell",
    "batch_size": "images per forward pass",
    "precision": "arithmetic of the forward pass: float32 (TF32 off, reproducible), tf32 or bfloat16 (faster on "
                 "a GPU, not bit-reproducible) or float64; part of every result's key",
    "device": "where the network runs: auto, cpu, cuda or cuda:N",
    "use_cache": "",
}


CHOICES = {"precision": list(PRECISIONS), "ridge_criterion": list(RIDGE_CRITERIA)}
SEVERAL = {"model_seed": "--seed", "image_size": "--image-size"}  # Settings fields whose option lists several


def _method_help(text: str) -> str:
    """``text`` with the registered methods' permutations and short names filled in (imports the methods)."""
    from .methods import all_methods

    shorts = [m.short for m in all_methods() if m.short != m.name]
    return text.replace("{method_permutations}", ", ".join(f"{m.short} {m.permutations}" for m in all_methods())) \
        .replace("{method_short_names}", f"short names {', '.join(shorts)}" if shorts else "")


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default (lists as typed, e.g. ``rsa``), except None, flags and --no-X;
    ``{method_...}`` placeholders are filled in from the methods only when help is shown."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "{method_" in text:
            text = _method_help(text)
        default = action.default
        if default is None or default is argparse.SUPPRESS or isinstance(action, (
                argparse._StoreTrueAction, argparse._StoreFalseAction)) or "default:" in text:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})".strip()


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """One option per Settings field (``--no-cache`` for use_cache), defaults taken from Settings."""
    for f in dataclasses.fields(Settings):
        if f.name == "use_cache":
            parser.add_argument("--no-cache", dest="use_cache", action="store_false",
                                help="recompute features and reliable-cell selection instead of reading their caches")
            continue
        if f.name == "bn_calibration":
            parser.add_argument("--bn-calibration", dest="bn_calibration", action="store_true", help=HELP[f.name])
            continue
        if f.name == "model_seed":
            parser.add_argument("--seeds", "--seed", "--model-seed", dest="model_seeds", type=int, nargs="+",
                                default=[f.default], metavar="N", help=HELP[f.name])
            continue
        if f.name == "image_size":
            parser.add_argument("--image-size", "--image-sizes", dest="image_sizes", type=int, nargs="+",
                                default=None, metavar="PX", help=HELP[f.name])
            continue
        kind = int if f.name == "permutations" else {int: int, float: float}.get(type(f.default), str)
        extra: dict[str, Any] = {"choices": CHOICES[f.name]} if f.name in CHOICES else {}
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=f.default,
                            help=HELP[f.name], **extra)


def settings_from(args: argparse.Namespace) -> Settings:
    """The Settings of parsed options (the first model seed and image size; ``args.model_seeds`` and
    ``args.image_sizes`` list them all)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)
              if f.name not in ("model_seed", "image_size")}
    sizes = getattr(args, "image_sizes", None)
    return Settings(**values, model_seed=args.model_seeds[0], image_size=sizes[0] if sizes else None)


def add_unit_options(parser: argparse.ArgumentParser) -> None:
    """What to run: models, weights, methods, where to write."""
    parser.add_argument("--model", required=True, nargs="+", metavar="NAME",
                        help="models, study presets (study:zoo, study:taskonomy, study:all) or globs ('resnet*')")
    parser.add_argument("--weights", default="both", choices=["pretrained", "random", "both"],
                        help="pretrained (standard weights, cached or downloaded once), random (seeded "
                        "initialisation) or both; under both, pretrained weights that cannot be had are "
                        "skipped with a warning")
    parser.add_argument("--method", "--methods", dest="method", nargs="+", default=[DEFAULT], metavar="METHOD",
                        help=f"scoring methods ({', '.join(REGISTERED)}, {{method_short_names}}, or all)")
    parser.add_argument("--out", default="results", help="results directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_settings_options(parser)


# options of `dataset fetch allen-neuropixels` only: destination → flag
NEUROPIXELS_ONLY = {"thalamus": "--thalamus", "amplitude_cutoff_maximum": "--amplitude-cutoff-maximum",
                    "presence_ratio_minimum": "--presence-ratio-minimum", "isi_violations_maximum": "--isi-violations-maximum",
                    "timeout": "--timeout"}
UNIT_FILTERS = ("amplitude_cutoff_maximum", "presence_ratio_minimum", "isi_violations_maximum")


def _cmd_dataset_fetch(args) -> None:
    if args.name == "allen":
        from .data.allen import DEFAULT_WINDOW_S, allen_path, fetch_allen

        flags = [flag for name, flag in NEUROPIXELS_ONLY.items() if getattr(args, name) is not None]
        if flags:
            raise UserError(f"{flags[0]} applies to `dataset fetch allen-neuropixels` only")
        ds = fetch_allen(max_experiments=args.max_experiments, window_s=tuple(args.window or DEFAULT_WINDOW_S))
        print(f"wrote {allen_path()}: {ds.n_cells} cells, {ds.n_stimuli} stimuli, "
              f"{len(ds.metadata['experiments'])} experiments")
        return
    from .data import neuropixels as npx

    given = {name: getattr(args, name) for name in UNIT_FILTERS if getattr(args, name) is not None}
    ds = npx.fetch_neuropixels(max_sessions=args.max_experiments, window_s=tuple(args.window or npx.DEFAULT_WINDOW_S),
                               filters=npx.UnitFilters(**given), thalamus=bool(args.thalamus),
                               timeout_s=npx.TIMEOUT_S if args.timeout is None else args.timeout)
    print(f"wrote {npx.neuropixels_path()}: {ds.n_cells} units, {ds.n_stimuli} stimuli, "
          f"{len(ds.metadata['sessions'])} sessions, window {ds.metadata['window_s']} s, "
          f"unit filters {ds.metadata['unit_filters']}")


def _cmd_dataset_info(args) -> None:
    from .data import load_dataset
    from .data.dataset import LAYER_SITES
    from .neural.sites import select_sites

    s = settings_from(args)
    ds = load_dataset(s.dataset)
    sel = select_sites(ds, threshold=s.reliability_threshold, min_cells=s.min_cells,
                       n_splits=s.reliability_splits, seed=s.target_seed)
    truth = ds.metadata.get("ground_truth", {})  # a demo's planted feature space per site
    info: dict[str, Any] = {
        "name": ds.name, "modality": ds.modality, "site_scheme": ds.metadata.get("site_scheme", LAYER_SITES),
        "n_stimuli": ds.n_stimuli, "n_cells": ds.n_cells, "n_trials": ds.responses.shape[1],
        "n_reliable_cells": int(sel.reliable.sum()), "reliability_threshold": s.reliability_threshold,
        "min_cells": s.min_cells, "target_seed": s.target_seed, "n_sites": len(sel.sites),
        "sites": [{"site": x.key, "area": x.area, "cortical_layer": x.cortical_layer, "n_cells": x.n_cells,
                   "ceiling": round(x.ceiling, 6), **({"ground_truth": truth[x.key]} if x.key in truth else {})}
                  for x in sel.sites],
        "dropped_sites": sel.dropped.to_dict(orient="records"),
        "content_hash": ds.content_hash(),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return
    cells = "units" if ds.modality == "neuropixels" else "cells"
    print(f"{ds.name} ({ds.modality}, sites: {info['site_scheme']}): {ds.n_stimuli} stimuli, {ds.n_cells} {cells}, "
          f"{info['n_reliable_cells']} reliable (split-half ≥ {s.reliability_threshold}), {len(sel.sites)} sites")
    print(f"{'site':<12}{'n_cells':>8}{'ceiling':>9}" + ("  ground truth" if truth else ""))
    for x in info["sites"]:
        planted = x.get("ground_truth")
        print(f"{x['site']:<12}{x['n_cells']:>8}{x['ceiling']:>9.3f}"
              + (f"  {planted['model']} ({planted['weights']}) {planted['layer']}" if planted else ""))
    for d in info["dropped_sites"]:
        print(f"dropped {d['area']} {d['cortical_layer']}: {d['n_reliable']} reliable cells < {s.min_cells}")


def _cmd_models(args) -> None:
    import model_zoo

    table = model_zoo.list_models(args.pattern, include_all=args.all)
    if table.empty:
        if str(args.pattern).startswith("study:"):
            model_zoo.resolve_models(args.pattern)  # an unknown preset: its own error, with the close ones
        wider = "" if args.all else f"; `mouse-rsa models --all '{args.pattern}'` also searches every torchvision and timm name"
        raise InvalidInput(f"no catalogued model matches {args.pattern!r}{wider}")
    if args.json:
        print(table.to_json(orient="records"))
    else:
        print(table.astype(object).where(table.notna(), "").to_string(index=False))


def _cmd_layers(args) -> None:
    import model_zoo
    from model_zoo.globs import can_select

    from .progress import status

    name = model_zoo.info(args.model).name  # an unknown name fails here, before torch is imported
    no_match = InvalidInput(f"pattern {args.pattern!r} matches no layer of {name}; run `mouse-rsa layers {name}` to "
                            "list them all", argument="pattern")
    if args.pattern is not None and not any(can_select(args.pattern, n) for n in model_zoo.layer_candidates(name)):
        raise no_match  # known from the model's structure, before the forward pass
    status(f"listing the layers of {name}: building it and running one image through it")
    import numpy as np

    model = model_zoo.create(name, weights=model_zoo.offline_weights(name), seed=0)
    example = model.preprocess(np.zeros((1, model.input_size, model.input_size), dtype=np.uint8))
    names = model_zoo.layer_names(model.module, example, args.pattern)
    if not names:
        raise no_match
    for layer in names:
        print(layer)


def _print_scores(scores) -> None:
    if scores.empty:
        return
    sizes = ["image_size"] if scores["image_size"].nunique() > 1 else []
    columns = ["model", "method", "layer_set", *sizes, "weights"]
    print(scores.pivot_table(index="site", columns=columns, values="score", sort=False).round(3).to_string())
    summary = scores.groupby([*columns, "model_seed"]).agg(mean_score=("score", "mean"),
                                                           chance=("chance_mean", "mean"),
                                                           corrected=("score_corrected", "mean"),
                                                           mean_score_normalized=("score_normalized", "mean"),
                                                           n_sites=("site", "size"))
    print(summary.round(4).to_string())
    print("chance: the mean score of fits to stimulus-permuted data; corrected = mean_score − chance. "
          "`mouse-rsa leaderboard` adds intervals over stimuli and seeds")


def _cmd_benchmark(args) -> None:
    from .runner import benchmark

    result = benchmark(args.model, settings_from(args), weights=args.weights, methods=args.method, out=args.out,
                       resume=args.resume, progress=not args.quiet, seeds=args.model_seeds,
                       image_sizes=args.image_sizes)
    _print_scores(result.scores)
    if result.reused:
        print(f"{result.reused} finished unit(s) reused from {args.out}")
    print(f"results under {args.out}; rank them with `mouse-rsa leaderboard {args.out}`")
    for line in result.skipped:  # last, where the eye lands: what was asked for and not scored
        print(f"mouse-rsa: warning: not scored: {cli_words(line, args.command_parser)}", file=sys.stderr)
    if result.failed:
        for line in result.failed:
            print(f"mouse-rsa: error: {cli_words(line, args.command_parser)}", file=sys.stderr)
        raise UserError(f"{len(result.failed)} unit group(s) failed; the others are written")


def _cmd_sweep(args) -> None:
    from .sweep import ClusterOptions, dry_run, sweep
    from .units import plan

    units = plan(args.model, settings_from(args), weights=args.weights, methods=args.method, seeds=args.model_seeds,
                 layer_sets=args.layer_sets, image_sizes=args.image_sizes)
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(ClusterOptions)}
    options = ClusterOptions(**{**fields, "job_extra": tuple(args.job_extra or ())})
    if args.dry_run:
        print(dry_run(units, options))
        return
    report = sweep(units, args.out, options, progress=not args.quiet, weights=args.weights)
    print(report.table())
    print(f"results under {args.out} (timings in {args.out}/sweep-log.csv); rank them with "
          f"`mouse-rsa leaderboard {args.out}`")
    if report.failed:
        raise UserError(f"{len(report.failed)} of {len(report.records)} units failed; the others are written")


def _cmd_leaderboard(args) -> None:
    from .cache import check_folder
    from .leaderboard import rank, write

    out = args.output or f"{args.directory}/leaderboard.csv"
    check_folder(os.path.dirname(out) or ".", "output" if args.output else None)
    table = rank(args.directory, n_bootstrap=args.bootstrap, bootstrap_seed=args.bootstrap_seed)
    write(table, out)
    shown = ["dataset", "method", "layer_set", "rank", "model", "weights", "n_seeds", "mean_score_corrected",
             "mean_score", "ci_low", "ci_high", "chance_mean", "p_permutation", "rank_low", "rank_high"]
    if table["settings"].astype(bool).any():  # rows of several settings: say which
        shown.insert(3, "settings")
    print(table[shown].round(4).to_string(index=False, na_rep=""))
    print("ranked by mean_score_corrected (mean score minus its chance level); CI over stimuli and model seeds")
    single = list(table[(table["weights"] == "random") & (table["n_seeds"] == 1)]["model"].drop_duplicates())
    if single:
        names = ", ".join(single[:4]) + (f" and {len(single) - 4} more" if len(single) > 4 else "")
        print(f"random networks with one seed ({names}): their CI carries no seed variance; "
              "run them with --seeds 0 1 2")
    groups = {frozenset([f"{row.model} ({row.weights})", *row.identical_to.split(", ")])
              for row in table[table["identical_to"].astype(bool)].itertuples()}
    for group in sorted(groups, key=sorted):
        shown = sorted(group)
        names = ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")
        print(f"{names} are one network (every layer RDM identical): count them once")
    print(f"wrote {out}")


def _cmd_compare(args) -> None:
    from pathlib import Path

    from .comparison import compare
    from .leaderboard import write
    from .results import read_scores

    positional = list(args.targets)
    directory = positional.pop(0) if positional and Path(positional[0]).is_dir() else "results"
    try:
        found = compare(directory, positional or None, n_bootstrap=args.bootstrap,
                        bootstrap_seed=args.bootstrap_seed)
    except InvalidInput as err:
        if positional or err.argument != "directory":
            raise
        raise UserError(f"no architecture under {directory} has both pretrained and random scores"
                        f"{_pairing_hint(read_scores(directory), directory)}") from err
    for line in found.refused:
        print(f"mouse-rsa: not tested: {line}", file=sys.stderr)
    if found.table.empty:
        raise UserError("no pair could be tested (see above)")
    shown = ["dataset", "method", "layer_set", "model_a", "weights_a", "model_b", "weights_b", "score_a", "score_b",
             "difference", "ci_low", "ci_high", "p_bootstrap", "p_holm", "p_fdr"]
    print(found.table[shown].round(4).to_string(index=False))
    print("scores are chance-corrected mean scores; difference = a − b with its 95% CI and p over the same "
          f"{args.bootstrap} stimulus resamples (seeds resampled too); p_holm, p_fdr: adjusted over the pairs")
    if args.output:
        print(f"wrote {write(found.table, args.output)}")


def _pairing_hint(scores, directory: str) -> str:
    """What a results directory without pretrained/random pairs holds, and the run that would pair it."""
    kinds = scores.groupby("model")["weights"].agg(lambda w: frozenset(w))
    for have, missing in (("random", "pretrained"), ("pretrained", "random")):
        alone = [model for model, held in kinds.items() if held == {have}]
        if alone:
            shown = ", ".join(alone[:3]) + (" ..." if len(alone) > 3 else "")
            need = " (cached, downloaded once, or from --weights-file PATH)" if missing == "pretrained" else ""
            return (f" ({shown}: {have} weights only); run `mouse-rsa benchmark --model {' '.join(alone[:3])} "
                    f"--weights {missing} --out {directory}` with the same settings to score their {missing} "
                    f"weights{need}")
    return (f" (it holds baselines only); run `mouse-rsa benchmark --model NAME --weights both --out {directory}` "
            "with a network's name")


def _cmd_figures(args) -> None:
    from .figures import save_figures

    for path in save_figures(args.directory, args.output, analysis=args.analysis):
        print(f"wrote {path}")


def _cmd_report(args) -> None:
    from .report import build

    index = build(args.directory, args.output)
    print(f"wrote {index}; open it in a browser (it works offline, from disk)")


def _cmd_analyze(args) -> None:
    from .analysis import analyze

    result = analyze(args.directory, args.output, splits=args.splits, folds=args.folds,
                     permutations=args.permutations, seed=args.seed, value=args.value)
    for line in result.summary + result.skipped:
        print(line)
    print(f"wrote {len(result.files)} files under {result.files[0].parent}")


def _directory_command(sub, name: str, help_text: str, output_help: str):
    p = sub.add_parser(name, help=help_text, formatter_class=_Formatter)
    p.add_argument("directory", nargs="?", default="results", metavar="DIR", help="results directory")
    p.add_argument("-o", "--output", default=None, metavar="PATH", help=output_help)
    return p


def _bootstrap_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP_RESAMPLES, metavar="N",
                        help="stimulus bootstrap resamples of the intervals (0: none)")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the resamples")


def _dataset_parsers(sub) -> None:
    d = sub.add_parser("dataset", help="fetch or describe neural datasets")
    dsub = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = dsub.add_parser("fetch", help="download and prepare Allen natural-scenes data (needs the internet)",
                        formatter_class=_Formatter)
    f.add_argument("name", choices=["allen", "allen-neuropixels"],
                   help="allen: 2-photon dF/F; allen-neuropixels: spike rates of sorted units")
    f.add_argument("--max-experiments", "--max-sessions", dest="max_experiments", type=int, default=None,
                   metavar="N", help="only the first N experiments (allen) or sessions (allen-neuropixels), by id")
    f.add_argument("--window", type=float, nargs=2, default=None, metavar=("START", "END"),
                   help="response window in seconds after onset (default: 0 0.5 for allen, 0 0.25 for "
                        "allen-neuropixels)")
    n = f.add_argument_group("allen-neuropixels (defaults: allensdk's unit-quality filters)")
    n.add_argument("--thalamus", action="store_true", default=None, help="add the LGd and LP units and sites")
    # the defaults in these help texts are neuropixels.UnitFilters' (a test checks them; no import here)
    n.add_argument("--amplitude-cutoff-maximum", dest="amplitude_cutoff_maximum", type=float, default=None, metavar="X",
                   help="keep units with amplitude cutoff ≤ X (default 0.1; inf: off)")
    n.add_argument("--presence-ratio-minimum", dest="presence_ratio_minimum", type=float, default=None, metavar="X",
                   help="keep units with presence ratio ≥ X (default 0.95)")
    n.add_argument("--isi-violations-maximum", dest="isi_violations_maximum", type=float, default=None, metavar="X",
                   help="keep units with ISI violations ≤ X (default 0.5; inf: off)")
    n.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="allensdk's time limit per file download (default 3600)")
    f.set_defaults(func=_cmd_dataset_fetch, on_interrupt="downloaded experiments and sessions are kept: run the "
                   "same command again to go on")
    i = dsub.add_parser("info", help="stimuli, cells, reliable cells and sites of a dataset",
                        formatter_class=_Formatter)
    i.add_argument("dataset", metavar="NAME|PATH", help=HELP["dataset"])
    i.add_argument("--json", action="store_true", help="print JSON")
    for name in ("reliability_threshold", "min_cells", "reliability_splits", "target_seed"):
        default = getattr(Settings(), name)
        i.add_argument("--" + name.replace("_", "-"), dest=name, type=type(default), default=default,
                       help=HELP[name])
    i.set_defaults(func=_cmd_dataset_info, model_seeds=[0], **{f.name: f.default for f in dataclasses.fields(Settings)
                                                               if f.name not in ("dataset",)})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mouse-rsa", description="Which deep networks best characterize mouse visual "
                                "cortex? Score models against Allen Brain Observatory natural-scene responses.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _dataset_parsers(sub)

    m = sub.add_parser("models", help="list models with metadata", formatter_class=_Formatter)
    m.add_argument("pattern", nargs="?", default=None, metavar="PATTERN", help="glob, e.g. 'resnet*'")
    m.add_argument("--all", action="store_true", help="include every torchvision and timm name")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.set_defaults(func=_cmd_models)

    lay = sub.add_parser("layers", help="list the layers extracted from a model, in forward order",
                         formatter_class=_Formatter)
    lay.add_argument("model")
    lay.add_argument("--pattern", default=None, help="glob on layer names")
    lay.set_defaults(func=_cmd_layers)

    b = sub.add_parser("benchmark", help="score models against every neural site, one unit after another",
                       formatter_class=_Formatter)
    add_unit_options(b)
    b.add_argument("--resume", action="store_true",
                   help="keep units already whole under --out with the same settings instead of redoing them")
    b.set_defaults(func=_cmd_benchmark, on_interrupt="finished units are kept under {out}: run the same command "
                   "with --resume to do the rest")

    from .sweep.clusters import BATCH_SYSTEMS, ClusterOptions

    c0 = ClusterOptions()
    w = sub.add_parser("sweep", help="run every unit on Dask: this machine's cores, a GPU node or a batch cluster; "
                       "resumable", formatter_class=_Formatter)
    add_unit_options(w)
    w.add_argument("--layer-sets", nargs="+", default=None, help="layer sets to sweep, e.g. all latent "
                   "(default: --layers)")
    g = w.add_argument_group("Dask cluster (default: a local cluster sized to this machine)")
    g.add_argument("--workers", type=int, default=c0.workers, help="local worker processes (default: as many "
                   "as the cores and memory allow for the largest model)")
    g.add_argument("--memory-limit", default=c0.memory_limit, help="memory per local worker, e.g. 8GB")
    g.add_argument("--scheduler", default=c0.scheduler, metavar="ADDRESS", help="a running Dask scheduler")
    g.add_argument("--cluster", default=c0.cluster, choices=BATCH_SYSTEMS, help="start workers as batch jobs")
    g.add_argument("--jobs", type=int, default=c0.jobs, help="batch jobs")
    g.add_argument("--cores", type=int, default=c0.cores, help="cores per batch job (one worker each)")
    g.add_argument("--memory", default=c0.memory, help="memory per batch job, e.g. 32GB (default: what the "
                   "largest model needs, per core)")
    g.add_argument("--walltime", default=c0.walltime, help="per batch job, e.g. 04:00:00")
    g.add_argument("--queue", default=c0.queue, help="queue or partition")
    g.add_argument("--job-extra", action="append", default=None, metavar="DIRECTIVE",
                   help="extra job directive, repeatable: --job-extra=--account=lab")
    g.add_argument("--gpus", type=int, default=c0.gpus, help="one GPU per worker: local GPU workers, or 1 "
                   "to give each batch job a GPU")
    g.add_argument("--retries", type=int, default=c0.retries, help="restarts of a unit whose worker died")
    g.add_argument("--dashboard-address", default=c0.dashboard_address, help="where the dashboard listens")
    g.add_argument("--dry-run", action="store_true", help="print the job script and the unit plan; run nothing")
    w.set_defaults(func=_cmd_sweep, on_interrupt="finished units are kept under {out}: run the same command again "
                   "to do the rest (a sweep skips finished units)")

    lb = _directory_command(sub, "leaderboard", "rank the models under a results directory (seeds aggregated)",
                            "CSV to write (default DIR/leaderboard.csv)")
    _bootstrap_options(lb)
    lb.set_defaults(func=_cmd_leaderboard)
    cp = sub.add_parser("compare", help="is one model better than another? paired bootstrap differences",
                        formatter_class=_Formatter)
    cp.add_argument("targets", nargs="*", metavar="[DIR] MODEL",
                    help="results directory (default results), then models (NAME or NAME:WEIGHTS) to compare pairwise; "
                         "no models: pretrained vs random per architecture")
    cp.add_argument("-o", "--output", default=None, metavar="PATH", help="CSV to write")
    _bootstrap_options(cp)
    cp.set_defaults(func=_cmd_compare)
    a = _directory_command(sub, "analyze", "the study's analyses: pretrained vs random, model properties, "
                           "cluster × area ANOVA, joint NNLS signatures", "directory for the CSVs (default DIR/analysis)")
    a.add_argument("--splits", type=int, default=1000, help="random k-fold splits of the joint NNLS signatures")
    a.add_argument("--folds", type=int, default=6, help="folds of each signature split")
    a.add_argument("--permutations", type=int, default=100, help="stimulus permutations for the signatures' chance")
    a.add_argument("--seed", type=int, default=0, help="seed of splits, permutations and bootstraps")
    a.add_argument("--value", default="score", choices=["score", "score_r2", "score_normalized"],
                   help="score column analysed")
    a.set_defaults(func=_cmd_analyze)
    fg = _directory_command(sub, "figures", "the paper's figures from a results directory (PNG and PDF)",
                            "figure directory (default DIR/figures)")
    fg.add_argument("--analysis", default=None, metavar="DIR", help="output of `analyze` (default DIR/analysis)")
    fg.set_defaults(func=_cmd_figures)
    _directory_command(sub, "report", "a static HTML site of a results directory: leaderboard, model pages, "
                       "comparisons, analyses; works offline", "site directory (default DIR/report)"
                       ).set_defaults(func=_cmd_report)
    for command in _leaf_parsers(p):
        command.set_defaults(command_parser=command, on_interrupt=command.get_default("on_interrupt") or STOPPED)
    return p


STOPPED = "nothing half-written is left: run the same command again"


def _leaf_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser of a command that runs (``benchmark``, ``dataset info``, ...)."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield parser
    for action in actions:
        for sub in dict.fromkeys(action.choices.values()):
            yield from _leaf_parsers(sub)


def _option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Library parameter name → the option a user types for it in this command (positionals have none)."""
    names: dict[str, str] = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest != "help":
            names.setdefault(action.dest, longs[0])
    for field, option in SEVERAL.items():  # a Settings field whose option (dest ``<field>s``) lists several values
        if f"{field}s" in names:
            names[field] = option
    return names


def cli_words(message: str, parser: argparse.ArgumentParser, argument: str | None = None) -> str:
    """The library's ``message`` with its parameter names shown as this command's options (``folds`` →
    ``--folds``, ``weights_file`` → ``--weights-file``); names this command has no option for stay as
    they are (a positional such as ``DIR`` is never shown as an option)."""
    names = _option_names(parser)
    if argument is not None and argument not in names:  # a positional (or no option here): no "model: " prefix
        message = message.removeprefix(f"{argument}: ")
    if argument in names:
        message = re.sub(rf"(?<![-\w.]){re.escape(argument)}\b", names[argument], message, count=1)
    for dest, option in names.items():
        if "_" in dest and dest != argument:
            message = re.sub(rf"(?<![-\w.]){re.escape(dest)}\b", option, message)
    return message


def _is_own_warning(category: type[Warning], filename: str) -> bool:
    """The library's warnings: a MouseRSAWarning, or a UserWarning raised from mouse_rsa or model_zoo code."""
    from pathlib import Path

    import model_zoo

    from .errors import MouseRSAWarning

    if issubclass(category, MouseRSAWarning):
        return True
    ours = (Path(__file__).parent, Path(model_zoo.__file__).parent)
    here = Path(filename).resolve()
    return category is UserWarning and any(here.is_relative_to(p.resolve()) for p in ours)


def _warning_printer(parser: argparse.ArgumentParser, debug: bool):
    """``warnings.showwarning`` for the CLI: the library's own warnings as ``mouse-rsa: warning: ...`` in this
    command's words; third-party warnings only with ``--debug`` (with their category and origin)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if debug:
            print(f"mouse-rsa: warning: {category.__name__} ({filename}:{lineno}): {message}", file=sys.stderr)
        elif _is_own_warning(category, filename):
            print(f"mouse-rsa: warning: {cli_words(str(message), parser)}", file=sys.stderr)

    return show


# Child processes (Dask workers, multiprocessing's resource tracker) start with these -W options: their
# third-party noise (deprecations, "leaked semaphore objects" after an interrupt) stays out of the output.
QUIET_CHILD_WARNINGS = ("ignore::DeprecationWarning", "ignore::FutureWarning",
                        "ignore::UserWarning:multiprocessing.resource_tracker")


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a batch scheduler sends), stopping the run as Ctrl-C does."""


def _terminate(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM unwinds it like Ctrl-C (temporary files removed, Dask closed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do (exit 141)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's final flush does not fail again
    return 141


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: argparse.ArgumentParser = args.command_parser
    forget_warned()
    saved_warnoptions = list(sys.warnoptions)
    if not args.debug:
        sys.warnoptions.extend(w for w in QUIET_CHILD_WARNINGS if w not in sys.warnoptions)
    try:
        with warnings.catch_warnings(), _sigterm_as_interrupt():
            warnings.simplefilter("default")
            warnings.showwarning = _warning_printer(command, args.debug)
            args.func(args)
    except ZooUserError as err:  # the base of mouse_rsa's and model_zoo's errors
        if args.debug:
            raise
        print(f"mouse-rsa: error: {cli_words(str(err), command, getattr(err, 'argument', None))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt as stop:
        how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        print(f"mouse-rsa: {how}; {args.on_interrupt.format(**vars(args))}", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        sys.warnoptions[:] = saved_warnoptions
    return 0


if __name__ == "__main__":
    sys.exit(main())
