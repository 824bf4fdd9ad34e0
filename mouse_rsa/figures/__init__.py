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
* ``layer_profiles``: per area, score of each layer against its relative depth.
* ``resolution_profiles``: per area and model, the layer profile at each image size (Cadena et al., Fig. 3A).
* ``method_agreement``: the rank agreement of every pair of methods and image sizes (from ``analyze``).

Modules: ``style`` (colours, panel grids), ``zoo``, ``taskonomy``, ``layers``, ``agreement`` (the figures, each a
function of result tables returning a matplotlib figure, or None without data). Every panel of a
figure holds data; a figure without data is not drawn. Colours are fixed per area
and per task cluster across figures. The zoo figures' intervals are the leaderboard's (stimuli and
seeds); the others' are percentile bootstraps of the mean over sites.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..analysis.models import model_table
from ..cache import atomic_path
from ..errors import InvalidInput
from ..resampling import UnitScores
from .agreement import agreement_figure
from .layers import best_layer_depth_figure, layer_profile_figure, resolution_figure
from .style import AREA_COLORS, CLUSTER_COLORS, Figure, cluster_color, pyplot
from .taskonomy import signature_figure, task_figure
from .zoo import architecture_figure, leaderboard_figure, pretrained_vs_random_figure, property_figure

__all__ = [
    "AREA_COLORS",
    "CLUSTER_COLORS",
    "agreement_figure",
    "architecture_figure",
    "best_layer_depth_figure",
    "cluster_color",
    "draw_figures",
    "layer_profile_figure",
    "leaderboard_figure",
    "pretrained_vs_random_figure",
    "property_figure",
    "resolution_figure",
    "save_figures",
    "signature_figure",
    "task_figure",
    "write_figure",
]


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
        "layer_profiles": lambda: layer_profile_figure(layers),
        "resolution_profiles": lambda: resolution_figure(layers),
        "method_agreement": lambda: _agreement(analysis / "agreement.csv"),
    }
    figures = {name: make() for name, make in makers.items()}
    return {name: fig for name, fig in figures.items() if fig is not None}


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
    return [path for name, fig in draw_figures(directory, analysis).items() for path in write_figure(fig, out, name)]
