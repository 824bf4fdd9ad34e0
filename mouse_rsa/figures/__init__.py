"""The paper's figures, drawn from a results directory (matplotlib, no display needed; PNG and PDF).

* ``leaderboard``: mean score per model × weights with 95 % bootstrap CIs.
* ``pretrained_vs_random``: each architecture's pretrained against its random mean score.
* ``best_layer_depth``: relative depth of each site's best layer, by area (seed 000's question).
* ``architecture_hierarchy``: the architectures, pretrained and random, with CIs (seed 001, fig. 2).
* ``task_hierarchy``: the Taskonomy tasks coloured by cluster, latent and all layers side by side (fig. 3).
* ``signatures``: per area, score and joint-NNLS weight share by task cluster (figs. 1 and 4).
* ``model_properties``: mean score against n_params, depth, top-1 and GFLOPs, fitted line and r.
* ``layer_profiles``: per area, score of each layer against its relative depth.

Modules: ``style`` (colours, panel grids), ``zoo``, ``taskonomy``, ``layers`` (the figures, each a
function of result tables returning a matplotlib figure, or None without data). Every panel of a
figure holds data; a figure without data is not drawn. Colours are fixed per area
and per task cluster across figures. CIs are percentile bootstraps of the mean over sites.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..analysis.models import model_table
from ..cache import atomic_path, check_folder
from .layers import best_layer_depth_figure, layer_profile_figure
from .style import AREA_COLORS, CLUSTER_COLORS, Figure, cluster_color, pyplot
from .taskonomy import signature_figure, task_figure
from .zoo import architecture_figure, leaderboard_figure, pretrained_vs_random_figure, property_figure

__all__ = [
    "AREA_COLORS",
    "CLUSTER_COLORS",
    "architecture_figure",
    "best_layer_depth_figure",
    "cluster_color",
    "draw_figures",
    "layer_profile_figure",
    "leaderboard_figure",
    "pretrained_vs_random_figure",
    "property_figure",
    "save_figures",
    "signature_figure",
    "skipped_figures",
    "task_figure",
]


# what each figure needs, said when it is skipped
NEEDS = {
    "leaderboard": "whole results",
    "pretrained_vs_random": "architectures scored with both weights (`mouse-rsa benchmark --model study:zoo "
                            "--weights both`)",
    "best_layer_depth": "networks with more than one layer (not only baselines)",
    "architecture_hierarchy": "architectures (`mouse-rsa benchmark --model study:zoo --weights both`)",
    "task_hierarchy": "Taskonomy encoders (`mouse-rsa benchmark --model study:taskonomy --layers latent`)",
    "signatures": "Taskonomy encoders (`mouse-rsa benchmark --model study:taskonomy --layers latent`, then "
                  "`mouse-rsa analyze` for the weight shares)",
    "model_properties": "3 or more pretrained architectures (`mouse-rsa benchmark --model study:zoo --weights "
                        "pretrained`)",
    "layer_profiles": "networks with more than one layer (not only baselines)",
}


def skipped_figures(written: list[Path]) -> list[str]:
    """One line per figure that ``save_figures`` did not draw (``written``: its paths), with what it needs."""
    drawn = {path.stem for path in written}
    return [f"skipped {name}: it needs {needs}" for name, needs in NEEDS.items() if name not in drawn]


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def draw_figures(directory: str | Path = "results", analysis: str | Path | None = None) -> dict[str, Figure]:
    """Every figure that has data under ``directory`` (signature shares from ``analysis``, default
    DIR/analysis, written by ``mouse_rsa.analysis.analyze``), by file stem."""
    import model_zoo

    from .. import leaderboard, results

    scores = results.read_scores(directory)
    models = model_table(model_zoo.catalogue())
    analysis = Path(analysis) if analysis is not None else Path(directory) / "analysis"
    table = leaderboard.rank(directory)
    makers: dict[str, Callable[[], Figure | None]] = {
        "leaderboard": lambda: leaderboard_figure(table),
        "pretrained_vs_random": lambda: pretrained_vs_random_figure(table),
        "best_layer_depth": lambda: best_layer_depth_figure(scores),
        "architecture_hierarchy": lambda: architecture_figure(scores, models),
        "task_hierarchy": lambda: task_figure(scores, models),
        "signatures": lambda: signature_figure(scores, models, _read_csv(analysis / "signature_areas.csv")),
        "model_properties": lambda: property_figure(scores, models),
        "layer_profiles": lambda: layer_profile_figure(results.read_layers(directory)),
    }
    figures = {name: make() for name, make in makers.items()}
    return {name: fig for name, fig in figures.items() if fig is not None}


def save_figures(directory: str | Path = "results", out: str | Path | None = None,
                 analysis: str | Path | None = None) -> list[Path]:
    """Draw every figure with data (``draw_figures``) into ``out`` (default DIR/figures) as PNG and PDF."""
    out = Path(out) if out is not None else Path(directory) / "figures"
    check_folder(out, "output")
    plt = pyplot()
    written = []
    for name, fig in draw_figures(directory, analysis).items():
        for fmt in ("png", "pdf"):
            path = out / f"{name}.{fmt}"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=150, format=fmt, bbox_inches="tight")
            written.append(path)
        plt.close(fig)
    return written
