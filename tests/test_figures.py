import matplotlib.image
import numpy as np
import pandas as pd

from mouse_rsa.benchmark import SCORE_COLUMNS
from mouse_rsa.cli import main
from mouse_rsa.figures import best_layer_depth_figure, leaderboard_figure, pretrained_vs_random_figure
from mouse_rsa.leaderboard import leaderboard, read_scores


def _write_runs(root):
    rng = np.random.default_rng(0)
    sites = [("VISp", "L2/3"), ("VISl", "L4"), ("VISam", "L5")]
    for model, n_layers in (("alexnet", 19), ("resnet18", 40), ("gabor", 1)):
        for weights in (("fixed",) if model == "gabor" else ("pretrained", "random")):
            rows = [{"dataset": "demo", "model": model, "weights": weights, "seed": 0, "method": "rsa_nnls",
                     "area": a, "cortical_layer": layer, "site": f"{a}_{layer.replace('/', '')}", "n_cells": 20,
                     "score": rng.uniform(0, 0.5), "score_r2": 0.1, "ceiling": 0.7, "score_normalized": 0.14,
                     "best_layer": "x", "best_layer_index": 3, "best_layer_depth": rng.uniform(),
                     "best_layer_score": 0.2, "n_layers": n_layers, "folds": 6, "repeats": 1, "dataset_hash": "h"}
                    for a, layer in sites]
            path = root / "demo" / model / f"{weights}-seed0-rsa.scores.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows)[SCORE_COLUMNS].to_csv(path, index=False)


def test_figures_show_every_run(tmp_path):
    _write_runs(tmp_path)
    table = leaderboard(tmp_path)
    bars = leaderboard_figure(table).axes[0].patches
    assert len(bars) == 5  # alexnet ×2, resnet18 ×2, gabor
    points = pretrained_vs_random_figure(table).axes[0].collections[0].get_offsets()
    assert len(points) == 2  # the two architectures with both weights
    pre = table[(table["model"] == "alexnet") & (table["weights"] == "pretrained")]["mean_score"].iloc[0]
    assert np.isclose(points[:, 1], pre).any()
    depth_ax = best_layer_depth_figure(read_scores(tmp_path)).axes[0]
    assert [t.get_text() for t in depth_ax.get_xticklabels()] == ["VISp", "VISl", "VISam"]


def test_figures_command_writes_pngs(tmp_path, capsys):
    _write_runs(tmp_path)
    assert main(["figures", str(tmp_path)]) == 0
    for name in ("leaderboard.png", "pretrained_vs_random.png", "best_layer_depth.png"):
        image = matplotlib.image.imread(tmp_path / "figures" / name)
        assert image.shape[0] > 100 and image.std() > 0


def test_compare_command(tmp_path, capsys):
    _write_runs(tmp_path)
    assert main(["compare", str(tmp_path), "-o", str(tmp_path / "cmp.csv")]) == 0
    table = pd.read_csv(tmp_path / "cmp.csv")
    assert sorted(table["model"]) == ["alexnet", "resnet18"] and (table["n_sites"] == 3).all()
