"""Figures drawn from synthetic results: what each panel shows, and figures without data skipped."""
import matplotlib.colors
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from test_analysis import ARCHITECTURES, SITES, TASKS, catalogue, synthetic_results, write_unit

from mouse_rsa import figures, leaderboard, results
from mouse_rsa.analysis import analyze
from mouse_rsa.analysis.models import model_table
from mouse_rsa.cli import main
from mouse_rsa.comparison import compare

FIGURES = ["leaderboard", "pretrained_vs_random", "best_layer_depth", "architecture_hierarchy", "task_hierarchy",
           "signatures", "model_properties", "layer_profiles", "site_rdms", "model_map"]
RSA = "cross-validated RSA, NNLS over all layers\n(Pearson r)"  # the method's title names its metric


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
    assert _titles(arch) == [f"{RSA}\nall layers"] and len(arch.axes[0].patches) == 2 * len(ARCHITECTURES)
    assert {t.get_text() for t in arch.axes[0].get_yticklabels()} == set(ARCHITECTURES)
    task = figures.task_figure(scores, models)
    assert _titles(task) == [f"{RSA}\npretrained weights · latent layer",
                             f"{RSA}\npretrained weights · all layers"]  # side by side
    assert task.axes[0].get_xlabel() == f"{RSA}\nmean over sites (95% CI)"
    ceiling = [line.get_xdata()[0] for line in task.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert ceiling == pytest.approx([np.sqrt(0.8)])  # every synthetic site's r² ceiling is 0.8
    bars = task.axes[0].patches
    assert len(bars) == len(TASKS)
    by_label = dict(zip([t.get_text() for t in task.axes[0].get_yticklabels()], bars))
    assert matplotlib.colors.to_hex(by_label["semantic_1"].get_facecolor()) == figures.cluster_color("semantic")
    mean = scores[(scores["model"] == "taskonomy_semantic_1") & (scores["layer_set"] == "latent")]["score"].mean()
    assert by_label["semantic_1"].get_width() == pytest.approx(mean)


def test_signature_figure_pairs_scores_with_weight_shares(synthetic):
    scores, models = results.read_scores(synthetic), model_table(catalogue())
    assert _titles(figures.signature_figure(scores, models)) == [
        f"{RSA}\nlatent layer · pretrained weights\nscore by cluster",
        f"{RSA}\nall layers · pretrained weights\nscore by cluster"]
    analyze(synthetic, splits=20, permutations=5, n_resamples=200)
    areas = pd.read_csv(synthetic / "analysis" / "signature_areas.csv")
    fig = figures.signature_figure(scores, models, areas)
    assert _titles(fig)[1] == f"{RSA}\nlatent layer · pretrained weights\njoint NNLS weight share"
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
    fig = figures.layer_profile_figure(results.read_layers(synthetic), results.read_scores(synthetic))
    assert _titles(fig) == [f"{RSA}\nall layers · pretrained weights", f"{RSA}\nall layers · random weights"]
    assert fig.axes[0].get_ylabel() == "per-layer RSA (Pearson r)\nmean over sites and models"
    lines = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"]
    assert [line.get_label() for line in lines] == ["VISp", "VISl", "VISal"]
    assert [matplotlib.colors.to_hex(line.get_color()) for line in lines] == [figures.AREA_COLORS[a] for a in
                                                                              ("VISp", "VISl", "VISal")]
    assert (lines[0].get_xdata() > 0).all() and (lines[0].get_xdata() < 1).all()
    ceilings = [line.get_ydata()[0] for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert ceilings == pytest.approx([np.sqrt(0.8)] * 3)  # one dashed ceiling per area
    legend = fig.legends[0]  # one legend, outside the panels (none over data)
    assert [t.get_text() for t in legend.get_texts()] == ["VISp", "VISl", "VISal", figures.style.CEILING_LABEL]
    assert all(ax.get_legend() is None for ax in fig.axes)


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
    with pytest.warns(figures.FigureSkipped) as skipped:
        written = figures.save_figures(tmp_path)
    assert sorted(p.name for p in written) == ["leaderboard.pdf", "leaderboard.png"]
    said = {str(w.message).split(":")[0] for w in skipped}
    not_drawn = [*FIGURES, "modality_ranks", "resolution_profiles", "method_agreement"]
    assert said == {f"skipped figure {name}" for name in not_drawn if name != "leaderboard"}
    assert "run `mouse-rsa benchmark --model NAME ... --weights both`" in " ".join(str(w.message) for w in skipped)
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


def test_site_rdms_and_model_map(synthetic):
    scores = results.read_scores(synthetic)
    fig = figures.site_rdm_figure(synthetic, scores)
    best = scores[scores["layer_set"] == "latent"].groupby("model")["score"].mean().idxmax()
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]  # not the colour bar
    assert titles[0].startswith(f"{best} (pretrained)") and len(titles) == 1 + 3  # the model, one site per area
    assert [t.split("\n")[0] for t in titles[1:]] == ["VISp_L2/3", "VISl_L2/3", "VISal_L2/3"]
    unit = scores[(scores["model"] == best) & (scores["layer_set"] == "latent")].set_index("site")["score"]
    assert f"model r = {unit['VISp_L2/3']:.2f}" in titles[1]
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (30, 30) and image.min() == 0 and image.max() == 100  # within-RDM percentiles
    sites, vectors, _ = results.read_site_rdms(synthetic, "synth", "t" * 16)
    key = scores[(scores["model"] == best) & (scores["layer_set"] == "latent")]["unit_key"].iloc[0]
    model = results.read_model_rdms(synthetic, key)[1][:, 0]
    order = hierarchy.leaves_list(hierarchy.optimal_leaf_ordering(hierarchy.linkage(model, "average"), model))
    shown = fig.axes[1].get_images()[0].get_array()
    ranks = stats.rankdata(vectors[:, sites.index("VISp_L2/3")])
    expected = squareform(100 * (ranks - 1) / (len(ranks) - 1))[np.ix_(order, order)]
    assert np.allclose(shown, expected)  # the site RDM in the model RDM's order

    fig = figures.model_map_figure(synthetic, scores)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert set(labels) == {f"{t} (pretrained)" for t in TASKS} | {"mouse VISp", "mouse VISl", "mouse VISal"}
    xy = np.array([t.xy for t in fig.axes[0].texts])
    # the 2D tasks built VISp's RDMs, the semantic ones the others': each area lies nearest its own tasks
    distance = lambda a, b: np.linalg.norm(xy[labels.index(a)] - xy[labels.index(b)])
    assert distance("mouse VISp", "taskonomy_2d_1 (pretrained)") < distance("mouse VISp", "taskonomy_semantic_1 (pretrained)")
    assert distance("mouse VISl", "taskonomy_semantic_1 (pretrained)") < distance("mouse VISl", "taskonomy_2d_1 (pretrained)")
    leaves = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert sorted(leaves) == sorted(labels)


def test_demo_figures_say_so_and_use_a_font_where_l_and_i_differ(synthetic):
    from matplotlib import font_manager
    from matplotlib.textpath import TextPath

    from mouse_rsa.figures.style import DEMO_MARK, FONT, mark_demo

    scores = results.read_scores(synthetic)
    fig = figures.best_layer_depth_figure(scores)
    assert DEMO_MARK not in [t.get_text() for t in fig.texts]
    mark_demo(fig, ["synth"])
    assert DEMO_MARK not in [t.get_text() for t in fig.texts]
    mark_demo(fig, ["synth", "demo"])
    mark_demo(fig, ["demo"])
    assert [t.get_text() for t in fig.texts].count(DEMO_MARK) == 1
    label = fig.axes[0].get_xticklabels()[1]
    assert label.get_text() == "VISl" and FONT in matplotlib.rcParams["font.sans-serif"]
    assert font_manager.findfont(label.get_fontproperties()).endswith("AtkinsonHyperlegible-Regular.ttf")

    def outline_points(glyph: str, family: str) -> int:
        return len(TextPath((0, 0), glyph, prop=font_manager.FontProperties(family=family)).vertices)

    # DejaVu Sans draws I and l as bare bars ("VISl" reads "VISI"); the figures' font gives I serifs, l a tail
    assert outline_points("I", "DejaVu Sans") == outline_points("l", "DejaVu Sans") == 6  # a rectangle, closed
    assert outline_points("I", FONT) > 8 and outline_points("l", FONT) > 8
