import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mouse_rsa import leaderboard
from mouse_rsa.analysis import modalities
from mouse_rsa.cli import main


def test_row_statistics_match_scipy():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (50, 7)).astype(float)        # many ties
    y = x + rng.integers(-2, 3, (50, 7))
    x[0] = 1.0                                            # a constant row
    rho, tau = modalities.spearman_rows(x, y), modalities.kendall_rows(x, y)
    assert np.isnan(rho[0]) and np.isnan(tau[0])
    for row in range(1, 50):
        assert rho[row] == pytest.approx(stats.spearmanr(x[row], y[row]).correlation, abs=1e-12)
        assert tau[row] == pytest.approx(stats.kendalltau(x[row], y[row]).correlation, abs=1e-12)


def _pairs(score_b, area="all areas"):
    n = len(score_b)
    return pd.DataFrame({"dataset_a": "demo", "dataset_b": "demo-neuropixels", "method": "rsa_nnls",
                         "layer_set": "all", "settings_key_a": "a1", "settings_key_b": "b1", "area": area,
                         "model": [f"m{i}" for i in range(n)], "weights": "random",
                         "score_a": np.arange(n, dtype=float), "score_b": np.asarray(score_b, dtype=float)})


def test_agreement_by_hand():
    # five models; the last two swap places: Σd² = 2 → ρ = 1 − 6·2 / (5·24) = 0.9; 9 of 10 pairs agree → τ = 0.8
    table = modalities.rank_agreement(_pairs([0, 1, 2, 4, 3]), n_resamples=2000, seed=1)
    row = table.iloc[0]
    assert row.spearman == pytest.approx(0.9) and row.kendall == pytest.approx(0.8) and row.n_models == 5
    assert -1 <= row.spearman_low <= row.spearman <= row.spearman_high == pytest.approx(1.0)
    assert -1 <= row.kendall_low <= row.kendall <= row.kendall_high == pytest.approx(1.0)
    assert row.p_spearman == pytest.approx(stats.spearmanr(range(5), [0, 1, 2, 4, 3]).pvalue)
    again = modalities.rank_agreement(_pairs([0, 1, 2, 4, 3]), n_resamples=2000, seed=1)
    pd.testing.assert_frame_equal(table, again)                                 # seeded
    reversed_ = modalities.rank_agreement(_pairs([4, 3, 2, 1, 0]), n_resamples=500, seed=1).iloc[0]
    assert reversed_.spearman == pytest.approx(-1) and reversed_.kendall_high == pytest.approx(-1)
    assert modalities.rank_agreement(_pairs([0, 1, 2]), n_resamples=10).empty   # fewer than MIN_MODELS
    no_ci = modalities.rank_agreement(_pairs([0, 1, 2, 4, 3]), n_resamples=0).iloc[0]
    assert no_ci.spearman == pytest.approx(0.9) and np.isnan(no_ci.spearman_low)


def _scores(dataset, settings_key, folds, values, min_cells=10):
    rows = []
    for model, value in values.items():
        for area, offset in (("VISp", 0.0), ("VISl", 0.1)):
            rows.append({"dataset": dataset, "settings_key": settings_key, "method": "rsa_nnls", "layer_set": "all",
                         "model": model, "weights": "random", "weights_source": "seed 0", "model_seed": 0,
                         "area": area, "score": value + offset, "score_corrected": value + offset + 0.05,
                         "cv_seed": 0, "folds": folds, "repeats": 1, "permutations": 100, "ridge_criterion": None,
                         "max_dim": 4096, "bn_calibration": False, "precision": "float32", "code_version": "0",
                         "code_fingerprint": "f", "min_cells": min_cells})
    return pd.DataFrame(rows)


def _table(scores):
    keys = ["dataset", "method", "layer_set", "settings_key", "model", "weights"]
    table = scores.groupby(keys)["score_corrected"].mean().rename("mean_score_corrected").reset_index()
    return table.assign(weights_source="random init")


def test_datasets_pair_under_the_same_model_settings_only():
    values = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    scores = pd.concat([_scores("demo", "s1", 6, values),
                        _scores("demo-neuropixels", "s2", 6, values, min_cells=5),   # target settings may differ
                        _scores("other", "s3", 10, values)])                        # scoring settings may not
    pairs = modalities.paired_rankings(_table(scores), scores)
    assert set(zip(pairs["dataset_a"], pairs["dataset_b"])) == {("demo", "demo-neuropixels")}
    assert sorted(pairs["area"].unique()) == ["VISl", "VISp", "all areas"] and len(pairs) == 12
    overall = pairs[pairs["area"] == "all areas"].set_index("model")
    assert overall.loc["d", "score_a"] == pytest.approx(0.5) and overall.loc["d", "rank_b"] == 1
    assert overall.loc["a", "rank_a"] == 4
    unpaired = scores[scores["dataset"] != "demo-neuropixels"]
    nothing = modalities.paired_rankings(_table(unpaired), unpaired)
    assert nothing.empty and modalities.rank_agreement(nothing).empty


def test_the_ranked_score_is_the_leaderboards(demo_results):
    from mouse_rsa.results import read_scores

    table = leaderboard.rank(demo_results)
    scope = ["dataset", "method", "layer_set", "settings_key"]
    ranks = table.groupby(scope)[modalities.RANKED].rank(ascending=False, method="min")
    np.testing.assert_array_equal(table["rank"], ranks)   # update RANKED when the leaderboard ranks by another score
    scores = read_scores(demo_results)
    means = scores.groupby([*scope, "model", "weights"])[modalities.SITE_SCORE].mean()
    np.testing.assert_allclose(table.set_index([*scope, "model", "weights"])[modalities.RANKED], means.loc[
        table.set_index([*scope, "model", "weights"]).index])


def test_analyze_prints_the_cross_modality_rank_agreement(modality_results, capsys):
    assert main(["analyze", str(modality_results), "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "model ranks, demo vs demo-neuropixels, rsa_nnls all: Spearman" in out
    assert "model ranks, demo vs demo-neuropixels, encoding_ridge all: Spearman" in out
    table = pd.read_csv(modality_results / "analysis" / "modality_agreement.csv")
    assert len(table) == 2 * 7 and (table["n_models"] == 4).all() and (table["bootstrap_seed"] == 2).all()
    assert list(table["area"][:7]) == ["all areas", "VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl"]
    overall = table[table["area"] == "all areas"].set_index("method")
    # both demos read out the same feature spaces: the four models rank (nearly) alike
    assert (overall["spearman"] >= 0.8).all() and (overall["kendall"] >= 0.6).all()
    assert ((table["spearman_low"] <= table["spearman"]) & (table["spearman"] <= table["spearman_high"])).all()


def test_figure_shows_one_ranking_against_the_other(modality_results):
    from mouse_rsa.figures import draw_figures

    figure = draw_figures(modality_results)["modality_ranks"]
    titles = [ax.get_title() for ax in figure.axes]
    assert len(titles) == 14 and titles[0].startswith("cross-validated ridge encoding")
    assert "all areas\nSpearman $\\rho$ = " in titles[0]
    assert {ax.get_xlabel() for ax in figure.axes} == {"rank on demo"}
    assert {ax.get_ylabel() for ax in figure.axes} == {"rank on demo-neuropixels"}
    assert all(len(ax.collections[0].get_offsets()) == 4 for ax in figure.axes)
