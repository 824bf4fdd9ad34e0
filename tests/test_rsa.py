import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from mouse_rsa.features import LayerGrams
from mouse_rsa.methods import nnls
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.methods.rsa_nnls import layer_profile
from mouse_rsa.rdm import compare, rdm, upper
from mouse_rsa.runner import ConstantLayerWarning, usable_layers


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


def test_layer_profile_matches_scipy_for_every_layer_and_site():
    rng = np.random.default_rng(1)
    layers = rng.normal(size=(45, 3))
    layers[:, 2] = np.round(layers[:, 2])          # ties: average ranks, as scipy
    sites = rng.normal(size=(45, 4))
    pearson, spearman = layer_profile(layers, sites)
    assert pearson.shape == spearman.shape == (3, 4)
    for k in range(3):
        for s in range(4):
            assert pearson[k, s] == pytest.approx(stats.pearsonr(layers[:, k], sites[:, s])[0], abs=1e-12)
            assert spearman[k, s] == pytest.approx(stats.spearmanr(layers[:, k], sites[:, s])[0], abs=1e-12)


def _layer_vectors(n_stim=30, n_layers=4, seed=0):
    rng = np.random.default_rng(seed)
    return upper(np.stack([rdm(rng.normal(size=(n_stim, 8))) for _ in range(n_layers)])).T


def _reference_cv_nnls(x, y, n_stimuli, partitions):
    """The per-fold implementation fit_cv_nnls replaced: scipy NNLS on the centred training cells of one
    site, held-out predictions assembled cell by cell. Returns scores (R,), weights (R, F, L), intercepts (R, F)."""
    i, j = np.triu_indices(n_stimuli, k=1)
    scores, weights, intercepts = [], [], []
    for folds in partitions:
        total, count = np.zeros(len(y)), np.zeros(len(y))
        ws, bs = [], []
        for test in folds:
            held = np.zeros(n_stimuli, dtype=bool)
            held[test] = True
            touches = held[i] | held[j]
            xt, yt = x[~touches], y[~touches]
            w, _ = optimize.nnls(xt - xt.mean(axis=0), yt - yt.mean())
            b = yt.mean() - xt.mean(axis=0) @ w
            total[touches] += x[touches] @ w + b
            count[touches] += 1
            ws.append(w)
            bs.append(b)
        r = np.corrcoef(total / count, y)[0, 1]
        scores.append(r if np.any(np.array(ws) > 0) and np.isfinite(r) else 0.0)
        weights.append(ws)
        intercepts.append(bs)
    return np.array(scores), np.array(weights), np.array(intercepts)


def _assert_matches_reference(x, y, n_stimuli, partitions, weights=True):
    fit = nnls.fit_cv_nnls(x, y, n_stimuli, partitions)
    n_sites = y.shape[1]
    assert fit.scores.shape == (len(partitions), n_sites)
    assert fit.weights.shape == (len(partitions), len(partitions[0]), n_sites, x.shape[1])
    assert fit.intercepts.shape == (len(partitions), len(partitions[0]), n_sites)
    for s in range(n_sites):
        scores, w, b = _reference_cv_nnls(x, y[:, s], n_stimuli, partitions)
        np.testing.assert_allclose(fit.scores[:, s], scores, rtol=0, atol=1e-8)
        if weights:
            np.testing.assert_allclose(fit.weights[:, :, s], w, rtol=0, atol=1e-8)
            np.testing.assert_allclose(fit.intercepts[:, :, s], b, rtol=0, atol=1e-8)
    return fit


def test_fit_cv_nnls_matches_the_per_fold_scipy_fit():
    rng = np.random.default_rng(5)
    n = 36
    x = _layer_vectors(n, 12, seed=1)
    planted = x[:, [0, 3, 7]] @ rng.random((3, 3)) + 0.02 * rng.normal(size=(len(x), 3))
    random_sites = upper(np.stack([rdm(rng.normal(size=(n, 5))) for _ in range(3)])).T
    y = np.column_stack([planted, random_sites, -x.sum(axis=1)])  # the last site gives every layer weight 0
    fit = _assert_matches_reference(x, y, n, stimulus_folds(n, 6, 4, seed=2))
    assert (fit.weights >= 0).all() and (fit.weights[..., :3, :] > 0).sum(axis=-1).min() >= 3
    assert (fit.scores[:, -1] == 0.0).all() and not fit.weights[..., -1, :].any()


def test_fit_cv_nnls_matches_scikit_learn_on_one_fold():
    from sklearn.linear_model import LinearRegression

    n = 24
    x = _layer_vectors(n, 6, seed=3)
    y = x @ np.array([0.5, 0.0, 0.2, 0.0, 0.1, 0.3]) + 0.05 * _layer_vectors(n, 1, seed=9)[:, 0]
    partitions = stimulus_folds(n, 3, 1, seed=0)
    fit = nnls.fit_cv_nnls(x, y[:, None], n, partitions)
    i, j = np.triu_indices(n, k=1)
    for k, test in enumerate(partitions[0]):
        train = ~(np.isin(i, test) | np.isin(j, test))
        sk = LinearRegression(positive=True).fit(x[train], y[train])
        np.testing.assert_allclose(fit.weights[0, k, 0], sk.coef_, atol=1e-8)
        assert fit.intercepts[0, k, 0] == pytest.approx(sk.intercept_, abs=1e-8)


def test_rank_deficient_layer_sets_give_the_reference_scores():
    n = 30
    base = _layer_vectors(n, 4, seed=4)
    # a duplicated layer, and a layer that is a positive mix of two others: X has rank 4 with 6 columns
    x = np.column_stack([base, base[:, 1], 0.5 * base[:, 0] + 0.5 * base[:, 3]])
    y = np.column_stack([base @ [0.1, 0.6, 0.0, 0.3], base[:, 1] + 0.1 * base[:, 2]])
    partitions = stimulus_folds(n, 5, 3, seed=1)
    fit = _assert_matches_reference(x, y, n, partitions, weights=False)
    assert (fit.weights >= 0).all()
    # site 1 is layer 1 + 0.1 layer 2 exactly: the twins 1 and 4 share the weight 1 (about equally:
    # the documented jitter's minimum-norm choice, resolved to ~1e-4 at a condition number of 1e12)
    np.testing.assert_allclose(fit.weights[..., 1, 1] + fit.weights[..., 1, 4], 1.0, atol=1e-8)
    np.testing.assert_allclose(fit.weights[..., 1, 1], 0.5, atol=1e-3)
    np.testing.assert_allclose(fit.weights[..., 1, 2], 0.1, atol=1e-8)
    # and the fitted RDM is the reference's: same objective on every fold
    i, j = np.triu_indices(n, k=1)
    for r, folds in enumerate(partitions):
        for k, test in enumerate(folds):
            train = ~(np.isin(i, test) | np.isin(j, test))
            for s in range(2):
                ours = x[train] @ fit.weights[r, k, s] + fit.intercepts[r, k, s]
                w_ref, b_ref = _reference_fold(x[train], y[train, s])
                np.testing.assert_allclose(ours, x[train] @ w_ref + b_ref, atol=1e-8)


def _reference_fold(x, y):
    w, _ = optimize.nnls(x - x.mean(axis=0), y - y.mean())
    return w, y.mean() - x.mean(axis=0) @ w


def test_nnls_recovers_a_known_nonnegative_mix():
    x = _layer_vectors()
    y = 0.7 * x[:, 0] + 0.3 * x[:, 2] + 0.1
    fit = nnls.fit_cv_nnls(x, y[:, None], 30, stimulus_folds(30, 6, 2, seed=0))
    np.testing.assert_allclose(fit.scores, 1.0)
    np.testing.assert_allclose(fit.weights[..., 0, :], np.broadcast_to([0.7, 0.0, 0.3, 0.0], (2, 6, 4)), atol=1e-8)
    np.testing.assert_allclose(fit.intercepts, 0.1, atol=1e-8)


def test_pivoting_fallback_gives_the_same_fit(monkeypatch):
    n = 30
    x = _layer_vectors(n, 8, seed=6)
    y = np.column_stack([x[:, :3] @ [0.2, 0.5, 0.3], _layer_vectors(n, 1, seed=7)[:, 0]])
    partitions = stimulus_folds(n, 6, 2, seed=0)
    pivoting = nnls.fit_cv_nnls(x, y, n, partitions)
    monkeypatch.setattr(nnls, "_MAX_PIVOTS", 0)      # every problem goes to scipy's NNLS on the Cholesky factor
    fallback = nnls.fit_cv_nnls(x, y, n, partitions)
    np.testing.assert_allclose(fallback.weights, pivoting.weights, atol=1e-10)
    np.testing.assert_allclose(fallback.scores, pivoting.scores, atol=1e-12)


def test_no_held_out_cell_enters_its_fold_fit():
    n = 20
    x = _layer_vectors(n, 5, seed=8)
    y = x @ np.array([[0.3, 0.1], [0.0, 0.4], [0.2, 0.0], [0.1, 0.1], [0.0, 0.3]])
    partitions = stimulus_folds(n, 5, 2, seed=3)
    clean = nnls.fit_cv_nnls(x, y, n, partitions)
    i, j = np.triu_indices(n, k=1)
    test = partitions[1][2]
    touches = np.isin(i, test) | np.isin(j, test)
    rng = np.random.default_rng(0)
    x2, y2 = x.copy(), y.copy()
    x2[touches] += rng.normal(size=x2[touches].shape)
    y2[touches] += rng.normal(size=y2[touches].shape)
    moved = nnls.fit_cv_nnls(x2, y2, n, partitions)
    np.testing.assert_allclose(moved.weights[1, 2], clean.weights[1, 2], atol=1e-10)
    np.testing.assert_allclose(moved.intercepts[1, 2], clean.intercepts[1, 2], atol=1e-10)
    assert not np.allclose(moved.weights[1, 0], clean.weights[1, 0], atol=1e-6)  # other folds did see them


def test_every_cell_is_predicted_and_folds_partition_the_stimuli():
    partitions = stimulus_folds(118, 6, 3, seed=0)
    for folds in partitions:
        assert sorted(np.concatenate(folds).tolist()) == list(range(118))
    assert not np.array_equal(partitions[0][0], partitions[1][0])
    again = stimulus_folds(118, 6, 3, seed=0)
    assert all(np.array_equal(a, b) for pa, pb in zip(partitions, again) for a, b in zip(pa, pb))


@pytest.mark.parametrize("n, folds, seed", [(118, 6, 0), (20, 3, 7), (10, 10, 1)])
def test_stimulus_folds_are_scikit_learns_kfold(n, folds, seed):
    from sklearn.model_selection import KFold

    rng = np.random.RandomState(seed)
    for partition in stimulus_folds(n, folds, 4, seed):
        kf = KFold(n_splits=folds, shuffle=True, random_state=rng.randint(2**31 - 1))
        expected = [test for _, test in kf.split(np.arange(n))]
        assert len(partition) == folds and all(np.array_equal(a, b) for a, b in zip(partition, expected))


def test_flat_prediction_scores_zero_not_nan():
    x = _layer_vectors()
    fit = nnls.fit_cv_nnls(x[:, :1], -x[:, :1], 30, stimulus_folds(30, 3, 1, 0))
    assert fit.scores.tolist() == [[0.0]] and not fit.weights.any()


def test_bad_partitions_are_rejected():
    x = _layer_vectors(10, 2)
    uneven = stimulus_folds(10, 5, 1, 0) + stimulus_folds(10, 2, 1, 0)
    with pytest.raises(ValueError, match="same number of folds"):
        nnls.fit_cv_nnls(x, x, 10, uneven)
    with pytest.raises(ValueError, match="cover every stimulus"):
        nnls.fit_cv_nnls(x, x, 10, [[np.arange(5), np.arange(5, 9)]])
    with pytest.raises(ValueError, match="finite"):
        nnls.fit_cv_nnls(np.full_like(x, np.nan), x, 10, stimulus_folds(10, 5, 1, 0))


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
