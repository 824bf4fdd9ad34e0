"""The paper's figures, drawn from a results directory (matplotlib, no display needed; PNG and PDF).

* ``leaderboard``: chance-corrected mean score per model × weights (seeds aggregated) with its interval
  over stimuli and seeds, and the noise ceiling.
* ``pretrained_vs_random``: each architecture's pretrained against its random score, both with their
  intervals, significant differences marked (paired bootstrap, Holm).
* ``best_layer_depth``: relative depth of each site's best layer, by area (seed 000's question).
* ``architecture_hierarchy``: the architectures, pretrained and random, with intervals (seed 001, fig. 2).
* ``task_hierarchy``: the Taskonomy tasks coloured by cluster, latent and all layers side by side (fig. 3).
* ``signatures``: per area, score and joint-NNLS weight share by task cluster (figs. 1 and 4).
* ``model_properties``: mean score against n_params, depth, top-1 and GFLOPs, fitted line and r.
* ``layer_profiles``: per area, score of each layer against its relative depth, with the noise ceiling.
* ``resolution_profiles``: per area and model, the layer profile at each image size (Cadena et al., Fig. 3A).
* ``method_agreement``: the rank agreement of every pair of methods and image sizes (from ``analyze``).
* ``site_rdms``: the best latent model's RDM beside one site RDM per area.
* ``modality_ranks``: each model's rank on one dataset against another's (2-photon vs Neuropixels), per area.
* ``model_map``: the models' latent RDMs and the areas' mean site RDMs, by MDS and hierarchical clustering.

Modules: ``style`` (colours, font, titles, panel grids), ``zoo``, ``taskonomy``, ``layers``, ``agreement``, ``rdms``,
``modalities`` (the figures, each a function of result tables, or of the results directory for the RDM files,
returning a matplotlib figure, or None without data). Every panel of a figure holds data; a figure without data
is not drawn, and a ``FigureSkipped`` warning says why and what to run. Figures of simulated (demo) data say
so above their top-left corner. Colours are fixed per area and per task cluster across figures. The zoo
figures' intervals are the leaderboard's (over stimuli and seeds); the others' are percentile bootstraps
of the mean over sites.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..analysis.models import model_table
from ..cache import atomic_path, check_folder
from ..errors import InvalidInput, MouseRSAWarning
from ..resampling import UnitScores
from .agreement import agreement_figure
from .layers import best_layer_depth_figure, layer_profile_figure, resolution_figure
from .modalities import modality_figure
from .rdms import model_map_figure, site_rdm_figure
from .style import AREA_COLORS, CLUSTER_COLORS, Figure, cluster_color, mark_demo, pyplot
from .taskonomy import signature_figure, task_figure
from .zoo import architecture_figure, leaderboard_figure, pretrained_vs_random_figure, property_figure

__all__ = [
    "AREA_COLORS",
    "CAPTIONS",
    "CLUSTER_COLORS",
    "FigureSkipped",
    "agreement_figure",
    "architecture_figure",
    "best_layer_depth_figure",
    "cluster_color",
    "draw_figures",
    "layer_profile_figure",
    "leaderboard_figure",
    "modality_figure",
    "model_map_figure",
    "pretrained_vs_random_figure",
    "property_figure",
    "resolution_figure",
    "save_figures",
    "signature_figure",
    "site_rdm_figure",
    "task_figure",
    "write_figure",
]


CAPTIONS = {
    "leaderboard": "chance-corrected mean score per model and weights (model seeds aggregated), with 95% intervals "
                   "over stimuli and seeds, and the noise ceiling",
    "pretrained_vs_random": "each architecture's pretrained against its random chance-corrected score, with "
                            "intervals; filled: different by the paired bootstrap (Holm p < 0.05)",
    "best_layer_depth": "relative depth of each site's best layer, by visual area",
    "architecture_hierarchy": "the architectures, pretrained and random, chance-corrected, with intervals over "
                              "stimuli and seeds",
    "task_hierarchy": "the Taskonomy tasks coloured by taskonomic cluster, latent and all layers side by side",
    "signatures": "per area, score and joint-NNLS weight share by task cluster",
    "model_properties": "mean score against parameters, depth, ImageNet top-1 and GFLOPs",
    "layer_profiles": "per area, each layer's own score against its relative depth, with the noise ceiling",
    "resolution_profiles": "per area and model, the layer profile at each image size (Cadena et al., Fig. 3A)",
    "method_agreement": "Spearman rank agreement of the model rankings of every pair of scoring methods and "
                        "image sizes, with stimulus-bootstrap intervals",
    "site_rdms": "the best latent model's RDM beside one site RDM per area, stimuli in the model RDM's "
                 "clustering order",
    "modality_ranks": "each model's rank on one dataset against its rank on another (2-photon vs Neuropixels)",
    "model_map": "the models' latent RDMs (saved .rdms.npz) and the areas' mean site RDMs, placed by MDS of "
                 "1 − Pearson r between RDMs, and their hierarchical clustering",
}
RUN_LATENT = "run `mouse-rsa benchmark --model NAME ... --method rsa --layers latent`"
NEEDS = {  # why a figure was not drawn, and what would draw it
    "modality_ranks": "needs the same models scored on two datasets (e.g. --dataset demo and demo-neuropixels)",
    "pretrained_vs_random": "needs architectures run with both weights (run `mouse-rsa benchmark --model NAME ... --weights both`)",
    "best_layer_depth": "needs a model with more than one layer (run `mouse-rsa benchmark --model NAME ... --layers all`)",
    "architecture_hierarchy": "needs torchvision or timm architectures (run `mouse-rsa benchmark --model study:zoo`)",
    "task_hierarchy": "needs Taskonomy results (run `mouse-rsa benchmark --model study:taskonomy`)",
    "signatures": "needs Taskonomy results (run `mouse-rsa benchmark --model study:taskonomy`)",
    "model_properties": "needs ≥ 5 pretrained architectures whose catalogue properties differ "
                        "(run `mouse-rsa benchmark --model study:zoo --weights both`)",
    "layer_profiles": "needs a model with more than one layer (run `mouse-rsa benchmark --model NAME ... --layers all`)",
    "resolution_profiles": "needs a multi-layer model run at two or more image sizes "
                           "(run `mouse-rsa benchmark --model NAME ... --image-size 64 224`)",
    "method_agreement": "needs `mouse-rsa analyze` on ≥ 2 methods or image sizes "
                        "(run `mouse-rsa benchmark --model NAME ... --method all`, then `mouse-rsa analyze`)",
    "site_rdms": f"needs a latent RSA unit, which saves its RDM ({RUN_LATENT})",
    "model_map": f"needs a latent RSA unit, which saves its RDM ({RUN_LATENT})",
}


class FigureSkipped(MouseRSAWarning):
    """A figure without the data it needs; the message says which runs would draw it."""


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def _agreement(path: Path) -> Figure | None:
    table = _read_csv(path)
    return agreement_figure(table) if table is not None else None


def _tests(directory: str | Path, units: UnitScores) -> pd.DataFrame | None:
    """Pretrained vs random paired bootstrap tests, or None when there is no pair."""
    from ..comparison import compare

    try:
        return compare(directory, units=units).table
    except InvalidInput:
        return None


def draw_figures(directory: str | Path = "results", analysis: str | Path | None = None) -> dict[str, Figure]:
    """Every figure that has data under ``directory`` (signature shares from ``analysis``, default
    DIR/analysis, written by ``mouse_rsa.analysis.analyze``), by file stem."""
    import model_zoo

    from .. import leaderboard, results
    from ..analysis.modalities import paired_rankings

    units = UnitScores.read(directory)
    scores = units.scores
    models = model_table(model_zoo.catalogue())
    analysis = Path(analysis) if analysis is not None else Path(directory) / "analysis"
    table = leaderboard.rank(directory, units=units)
    layers = results.read_layers(directory)
    makers: dict[str, Callable[[], Figure | None]] = {
        "leaderboard": lambda: leaderboard_figure(table),
        "pretrained_vs_random": lambda: pretrained_vs_random_figure(table, _tests(directory, units)),
        "best_layer_depth": lambda: best_layer_depth_figure(scores),
        "architecture_hierarchy": lambda: architecture_figure(table, models),
        "task_hierarchy": lambda: task_figure(scores, models),
        "signatures": lambda: signature_figure(scores, models, _read_csv(analysis / "signature_areas.csv")),
        "model_properties": lambda: property_figure(scores, models),
        "layer_profiles": lambda: layer_profile_figure(layers, scores),
        "resolution_profiles": lambda: resolution_figure(layers),
        "method_agreement": lambda: _agreement(analysis / "agreement.csv"),
        "site_rdms": lambda: site_rdm_figure(directory, scores),
        "model_map": lambda: model_map_figure(directory, scores),
        "modality_ranks": lambda: modality_figure(paired_rankings(table, scores)),
    }
    drawn = {}
    for name, make in makers.items():
        fig = make()
        if fig is None:
            warnings.warn(f"skipped figure {name}: {NEEDS.get(name, 'no data')}", FigureSkipped, stacklevel=2)
            continue
        mark_demo(fig, scores["dataset"].unique())
        drawn[name] = fig
    return drawn


def write_figure(fig: Figure, out: Path, name: str) -> list[Path]:
    """``fig`` as ``out/name.png`` and ``out/name.pdf`` (atomically), then closed."""
    written = []
    for fmt in ("png", "pdf"):
        path = out / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format=fmt, bbox_inches="tight")
        written.append(path)
    pyplot().close(fig)
    return written


def save_figures(directory: str | Path = "results", out: str | Path | None = None,
                 analysis: str | Path | None = None) -> list[Path]:
    """Draw every figure with data (``draw_figures``) into ``out`` (default DIR/figures) as PNG and PDF."""
    out = Path(out) if out is not None else Path(directory) / "figures"
    check_folder(out, "output")
    return [path for name, fig in draw_figures(directory, analysis).items() for path in write_figure(fig, out, name)]
