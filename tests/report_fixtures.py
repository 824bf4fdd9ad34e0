"""A small results directory for the report tests: the synthetic study of test_analysis (architectures with
both weights, Taskonomy tasks with latent RDMs, a baseline), its analyses, figures and a comparison CSV."""
from __future__ import annotations

import warnings
from pathlib import Path

from test_analysis import synthetic_results


def make_results(root: Path) -> Path:
    """Write the synthetic results, ``analyze``, ``figures`` and a comparison CSV under ``root``."""
    from mouse_rsa import figures
    from mouse_rsa.analysis import analyze
    from mouse_rsa.comparison import compare

    synthetic_results(root)
    analyze(root, splits=20, permutations=5, n_resamples=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", figures.FigureSkipped)
        figures.save_figures(root)
    (root / "comparisons").mkdir()
    compare(root, n_bootstrap=200).table.to_csv(root / "comparisons" / "pretrained_vs_random.csv", index=False)
    return root
