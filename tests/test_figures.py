"""Figures drawn from synthetic results: what each panel shows, and figures without data skipped."""
import matplotlib.colors
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from scipy import stats
from test_analysis import ARCHITECTURES, SITES, TASKS, catalogue, synthetic_results, write_unit

from mouse_rsa import figures, leaderboard, results
from mouse_rsa.analysis import analyze
from mouse_rsa.analysis.models import model_table
from mouse_rsa.cli import main
from mouse_rsa.comparison import compare

FIGURES = ["leaderboard", "pretrained_vs_random", "best_layer_depth", "architecture_hierarchy", "task_hierarchy",
           "signatures", "model_properties", "layer_profiles"]


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    import model_zoo

    monkeypatch.setattr(model_zoo, "catalogue", catalogue)
    synthetic_results(tmp_path)
    return tmp_path


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_existing_figures_show_every_run(synthetic):
    table = leaderboard.rank(synthetic)
    bars = figures.leaderboard_figure(table).axes
    assert len(bars[0].patches) + len(bars[1].patches) == 2 * len(ARCHITECTURES) + 2 * len(TASKS) + 1
    widths = {p.get_width() for p in bars[0].patches + bars[1].patches}
    assert np.isclose(sorted(widths), sorted(set(table["mean_score_corrected"]))).all()  # corrected scores drawn
    fig = figures.pretrained_vs_random_figure(table, compare(synthetic).table)
    tests = compare(synthetic).table
    filled, empty = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert len(filled.get_offsets()) == (tests["p_holm"] < 0.05).sum() > 0        # significance marks
    assert len(filled.get_offsets()) + len(empty.get_offsets()) == len(ARCHITECTURES)
    pre = table[(table["weights"] == "pretrained") & table["model"].isin(ARCHITECTURES)]["mean_score_corrected"]
    points = np.concatenate([filled.get_offsets(), empty.get_offsets()])
    assert np.isclose(sorted(points[:, 1]), sorted(pre)).all()
    assert "Holm" in fig.axes[0].get_legend().get_texts()[0].get_text()
    depth = figures.best_layer_depth_figure(results.read_scores(synthetic))
    assert [t.get_text() for t in depth.axes[0].get_xticklabels()] == ["VISp", "VISl", "VISal"]


def test_architecture_and_task_hierarchies(synthetic):
    scores, models = results.read_scores(synthetic), model_table(catalogue())
    arch = figures.architecture_figure(leaderboard.rank(synthetic), models)
    assert _titles(arch) == ["cross-validated RSA, NNLS over all layers (Pearson r)\nall layers"]
    assert len(arch.axes[0].patches) == 2 * len(ARCHITECTURES)
    assert {t.get_text() for t in arch.axes[0].get_yticklabels()} == set(ARCHITECTURES)
    task = figures.task_figure(scores, models)
    assert _titles(task) == ["rsa_nnls · pretrained · latent", "rsa_nnls · pretrained · all"]  # side by side
    bars = task.axes[0].patches
    assert len(bars) == len(TASKS)
    by_label = dict(zip([t.get_text() for t in task.axes[0].get_yticklabels()], bars))
    assert matplotlib.colors.to_hex(by_label["semantic_1"].get_facecolor()) == figures.cluster_color("semantic")
    mean = scores[(scores["model"] == "taskonomy_semantic_1") & (scores["layer_set"] == "latent")]["score"].mean()
    assert by_label["semantic_1"].get_width() == pytest.approx(mean)


def test_signature_figure_pairs_scores_with_weight_shares(synthetic):
    scores, models = results.read_scores(synthetic), model_table(catalogue())
    assert _titles(figures.signature_figure(scores, models)) == ["rsa_nnls · latent · pretrained · score by cluster",
                                                                 "rsa_nnls · all · pretrained · score by cluster"]
    analyze(synthetic, splits=20, permutations=5, n_resamples=200)
    areas = pd.read_csv(synthetic / "analysis" / "signature_areas.csv")
    fig = figures.signature_figure(scores, models, areas)
    assert _titles(fig)[1] == "rsa_nnls · latent · pretrained · joint NNLS weight share"
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert len(heights) == 3 * 5 and max(heights) == pytest.approx(areas["weight_share"].max())


def test_property_figure_fits_the_plotted_points(synthetic):
    scores, models = results.read_scores(synthetic), model_table(catalogue())
    fig = figures.property_figure(scores, models)
    assert [ax.get_xlabel() for ax in fig.axes] == ["parameters (millions)", "depth (layers with weights)",
                                                    "ImageNet top-1 (%)", "GFLOPs"]
    x, y = fig.axes[0].collections[0].get_offsets().T
    means = scores[(scores["weights"] == "pretrained") & scores["model"].isin(ARCHITECTURES)]
    assert sorted(y) == pytest.approx(sorted(means.groupby("model")["score"].mean()))
    assert f"r = {stats.pearsonr(x, y)[0]:+.2f}" in fig.axes[0].get_title()


def test_layer_profiles_one_line_per_area(synthetic):
    fig = figures.layer_profile_figure(results.read_layers(synthetic))
    assert _titles(fig) == ["rsa_nnls · all · pretrained", "rsa_nnls · all · random"]
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["VISp", "VISl", "VISal"]
    assert [matplotlib.colors.to_hex(line.get_color()) for line in lines] == [figures.AREA_COLORS[a] for a in
                                                                              ("VISp", "VISl", "VISal")]
    assert (lines[0].get_xdata() > 0).all() and (lines[0].get_xdata() < 1).all()


def test_figures_command_writes_png_and_pdf(synthetic, capsys):
    analyze(synthetic, splits=20, permutations=5, n_resamples=200)
    assert main(["figures", str(synthetic)]) == 0
    for name in FIGURES:
        image = matplotlib.image.imread(synthetic / "figures" / f"{name}.png")
        assert image.shape[0] > 100 and image.std() > 0
        assert (synthetic / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")


def test_figures_without_data_are_skipped(tmp_path, monkeypatch):
    import model_zoo

    monkeypatch.setattr(model_zoo, "catalogue", catalogue)
    write_unit(tmp_path, "pixels", "fixed", "all", {s: 0.05 for s in SITES})
    written = figures.save_figures(tmp_path)
    assert sorted(p.name for p in written) == ["leaderboard.pdf", "leaderboard.png"]
    models = model_table(catalogue())
    empty = results.read_scores(tmp_path)
    assert figures.task_figure(empty, models) is None and figures.signature_figure(empty, models) is None
    assert figures.architecture_figure(leaderboard.rank(tmp_path), models) is None
    assert figures.property_figure(empty, models) is None
    assert figures.layer_profile_figure(results.read_layers(tmp_path)) is None


def test_compare_command(synthetic, capsys):
    assert main(["compare", str(synthetic), "-o", str(synthetic / "cmp.csv")]) == 0
    table = pd.read_csv(synthetic / "cmp.csv")
    assert sorted(table["model_a"]) == sorted(ARCHITECTURES) and (table["weights_b"] == "random").all()
    assert ((table["ci_low"] <= table["difference"]) & (table["difference"] <= table["ci_high"])).all()
    assert (table["p_holm"] >= table["p_bootstrap"]).all() and (table["p_fdr"] >= table["p_bootstrap"]).all()
    assert "difference = a − b" in capsys.readouterr().out
