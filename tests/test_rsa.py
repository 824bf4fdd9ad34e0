import warnings

import numpy as np
import pytest
from scipy import stats

from mouse_rsa import rsa
from mouse_rsa.benchmark import ConstantLayerWarning, usable_layers
from mouse_rsa.features import LayerGrams
from mouse_rsa.rdm import compare, rdm, upper


def test_rdm_by_hand():
    x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 2.0, 4.0]])
    d = rdm(x)
    assert d[0, 1] == pytest.approx(2.0)                                       # r = -1
    assert d[0, 2] == pytest.approx(1 - np.corrcoef(x[0], x[2])[0, 1])
    assert np.allclose(np.diag(d), 0) and np.allclose(d, d.T) and d.dtype == np.float64
    assert upper(d).tolist() == [d[0, 1], d[0, 2], d[1, 2]]


def test_compare_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rdm(rng.normal(size=(10, 5))), rdm(rng.normal(size=(10, 5)))
    assert compare(a, b) == pytest.approx(stats.pearsonr(upper(a), upper(b))[0])
    assert compare(a, b, "spearman") == pytest.approx(stats.spearmanr(upper(a), upper(b))[0])


def test_layer_profile_matches_scipy():
    rng = np.random.default_rng(1)
    layers = rng.normal(size=(45, 3))
    site = rng.normal(size=45)
    pearson, spearman = rsa.layer_profile(layers, site)
    for k in range(3):
        assert pearson[k] == pytest.approx(stats.pearsonr(layers[:, k], site)[0])
        assert spearman[k] == pytest.approx(stats.spearmanr(layers[:, k], site)[0])


def _layer_vectors(n_stim=30, n_layers=4, seed=0):
    rng = np.random.default_rng(seed)
    return rsa.upper_triangles(np.stack([rdm(rng.normal(size=(n_stim, 8))) for _ in range(n_layers)]))


def test_nnls_recovers_a_known_nonnegative_mix():
    x = _layer_vectors()
    y = 0.7 * x[:, 0] + 0.3 * x[:, 2] + 0.1
    w, b = rsa.nnls_fit(x, y)
    np.testing.assert_allclose(w, [0.7, 0.0, 0.3, 0.0], atol=1e-8)
    assert b == pytest.approx(0.1)
    partitions = rsa.stimulus_folds(30, 6, 2, seed=0)
    result = rsa.cross_validated_nnls(x, y, 30, partitions, ["a", "b", "c", "d"])
    assert result.score == pytest.approx(1.0)
    fold_weights = result.weights[result.weights["regressor"] != "intercept"]
    assert (fold_weights["weight"] >= 0).all()
    assert len(result.weights) == 2 * 6 * 5 and set(result.weights["fold"]) == set(range(6))
    by_layer = fold_weights.groupby("regressor")["weight"].mean()
    np.testing.assert_allclose(by_layer[["a", "b", "c", "d"]], [0.7, 0.0, 0.3, 0.0], atol=1e-8)


def test_nnls_never_uses_negative_weights_for_anticorrelated_layers():
    x = _layer_vectors()
    w, _ = rsa.nnls_fit(x, -x[:, 1] + 0.01 * x[:, 0])
    assert (w >= 0).all() and w[1] == 0


def test_no_held_out_stimulus_enters_any_fit(monkeypatch):
    n = 20
    i, j = np.triu_indices(n, k=1)
    # regressors that name each cell's stimuli, so the fit's rows reveal which cells it saw
    x = np.stack([i, j, np.random.default_rng(0).random(len(i))], axis=1).astype(float)
    partitions = rsa.stimulus_folds(n, 5, 2, seed=3)
    seen = []
    original = rsa.nnls_fit
    monkeypatch.setattr(rsa, "nnls_fit", lambda xs, ys: (seen.append(xs.copy()), original(xs, ys))[1])
    rsa.cross_validated_nnls(x, x[:, 2], n, partitions, ["i", "j", "r"])
    folds = [test for partition in partitions for test in partition]
    assert len(seen) == len(folds) == 10
    for xs, test in zip(seen, folds):
        used = set(xs[:, 0].astype(int)) | set(xs[:, 1].astype(int))
        assert not used & set(test)
        # and every cell between two training stimuli is used
        train = np.setdiff1d(np.arange(n), test)
        assert len(xs) == len(train) * (len(train) - 1) // 2


def test_every_cell_is_predicted_and_folds_partition_the_stimuli():
    partitions = rsa.stimulus_folds(118, 6, 3, seed=0)
    for folds in partitions:
        assert sorted(np.concatenate(folds).tolist()) == list(range(118))
    assert not np.array_equal(partitions[0][0], partitions[1][0])
    again = rsa.stimulus_folds(118, 6, 3, seed=0)
    assert all(np.array_equal(a, b) for pa, pb in zip(partitions, again) for a, b in zip(pa, pb))


def test_flat_prediction_scores_zero_not_nan():
    x = _layer_vectors()
    result = rsa.cross_validated_nnls(x[:, :1], -x[:, 0], 30, rsa.stimulus_folds(30, 3, 1, 0), ["a"])
    assert result.score == 0.0


def test_constant_layer_is_dropped_with_a_warning():
    rng = np.random.default_rng(0)
    good = rng.normal(size=(6, 5))
    good -= good.mean(axis=1, keepdims=True)
    gram = np.stack([good @ good.T, np.zeros((6, 6))])
    grams = LayerGrams(["conv", "dead_relu"], gram, np.zeros((2, 6)), np.array([5, 5]), np.zeros(2, bool))
    with pytest.warns(ConstantLayerWarning, match="dead_relu"):
        kept = usable_layers(grams, "toy")
    assert kept.names == ["conv"] and np.isfinite(kept.rdms()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert usable_layers(kept, "toy") is kept


def test_demo_sites_prefer_the_feature_space_that_generated_them(demo, demo_scores):
    truth = demo.metadata["ground_truth"]
    rsa_scores = demo_scores[demo_scores["method"] == "rsa_nnls"].pivot(index="site", columns="model", values="score")
    network_sites = [s for s, t in truth.items() if t["model"] == "mobilenet_v2"]
    gabor_sites = [s for s, t in truth.items() if t["model"] == "gabor"]
    assert len(network_sites) == 17 and len(gabor_sites) == 4
    assert (rsa_scores.loc[network_sites, "mobilenet_v2"] > rsa_scores.loc[network_sites, "gabor"]).all()
    assert rsa_scores.loc[gabor_sites, "gabor"].mean() > rsa_scores.loc[gabor_sites, "mobilenet_v2"].mean()
    assert rsa_scores.loc[gabor_sites, "gabor"].mean() > rsa_scores.loc[gabor_sites, "pixels"].mean()
