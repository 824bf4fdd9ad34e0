"""Rank agreement between scorings (methods, image sizes) and the stability of a ranking."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_analysis import SITES, synthetic_catalogue, write_unit  # noqa: F401 - the fixture is used by name

from mouse_rsa.analysis import agreement, analyze
from mouse_rsa.resampling import UnitScores

MODELS = {"alexnet": 0.30, "resnet18": 0.25, "vgg11": 0.20, "squeezenet1_0": 0.15, "mobilenet_v2": 0.10}


def test_rank_agreement_is_scipys_spearman_and_kendall_over_the_common_models():
    a = pd.Series({"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0, "F": 9.0})
    b = pd.Series({"A": 1.0, "B": 3.0, "C": 2.0, "D": 5.0, "E": 4.0, "G": 0.0})
    found = agreement.rank_agreement(a, b)
    assert found["n_models"] == 5 and found["spearman"] == pytest.approx(0.8) and found["kendall"] == pytest.approx(0.6)
    assert found["spearman_p"] == pytest.approx(stats.spearmanr([1, 2, 3, 4, 5], [1, 3, 2, 5, 4])[1])
    assert np.isnan(found["spearman_low"])
    same = pd.DataFrame([a, a + 1.0])
    flipped = pd.DataFrame([b, -b])
    found = agreement.rank_agreement(a, b, same, flipped)
    assert (found["spearman_low"], found["spearman_high"]) == pytest.approx((-0.76, 0.76), abs=1e-12)  # of ±0.8
    assert found["kendall_low"] < 0 < found["kendall_high"]


def _two_sizes(root):
    """Five models scored at two image sizes: the same order at both in VISp, the reverse elsewhere at 64 px."""
    for rank, (model, level) in enumerate(MODELS.items()):
        write_unit(root, model, "random", "all", {s: level for s in SITES})
        write_unit(root, model, "random", "all", {s: level if s[0] == "VISp" else 0.1 + 0.05 * rank for s in SITES},
                   image_size="64")


def test_every_pair_of_scorings_is_compared_overall_and_per_area(tmp_path):
    _two_sizes(tmp_path)
    table = agreement.method_agreement(UnitScores.read(tmp_path), n_bootstrap=200)
    assert set(table["scope"]) == {"all", "VISp", "VISl", "VISal"} and (table["n_models"] == 5).all()
    by_scope = table.set_index("scope")
    assert by_scope.loc["VISp", "spearman"] == pytest.approx(1.0) and by_scope.loc["VISl", "kendall"] == pytest.approx(-1)
    first = by_scope.loc["all"]
    assert first["method_a"] == first["method_b"] == "rsa_nnls" and {first["image_size_a"], first["image_size_b"]} == \
        {"native", "64"}
    assert by_scope.loc["all", "spearman_low"] <= by_scope.loc["all", "spearman"] <= by_scope.loc["all", "spearman_high"]
    assert by_scope.loc["VISp", "spearman_high"] - by_scope.loc["VISp", "spearman_low"] > 0   # stimuli matter


def test_leaving_out_an_area_or_a_site_is_compared_with_the_full_ranking(tmp_path):
    _two_sizes(tmp_path)
    stability = agreement.ranking_stability(UnitScores.read(tmp_path))
    rows = stability[stability["image_size"] == "64"].set_index(["left_out_kind", "left_out"])
    assert len(rows) == 3 + len(SITES)
    full = np.array([np.mean([v if a == "VISp" else 0.1 + 0.05 * k for a, _ in SITES])
                     for k, v in enumerate(MODELS.values())])
    without = np.array([0.1 + 0.05 * k for k in range(5)])                       # VISp left out: the reverse order
    assert rows.loc[("area", "VISp"), "spearman"] == pytest.approx(stats.spearmanr(full, without)[0])
    assert rows.loc[("site", "VISl_L4"), "kendall"] == pytest.approx(1.0)


def test_analyze_writes_the_agreement_table_stability_and_figure(tmp_path, synthetic_catalogue):  # noqa: F811
    _two_sizes(tmp_path)
    done = analyze(tmp_path, n_resamples=100)
    names = {p.name for p in done.files}
    assert {"agreement.csv", "ranking_stability.csv", "method_agreement.png", "method_agreement.pdf"} <= names
    assert any("rsa_nnls @ 64 px vs rsa_nnls rank the 5 models with Spearman" in line for line in done.summary)
