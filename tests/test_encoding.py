import numpy as np
import pytest
from helpers import unit_file
from sklearn.linear_model import Ridge, RidgeCV

from mouse_rsa.features.grams import LayerGrams
from mouse_rsa.methods import encoding_ridge as encoding
from mouse_rsa.methods.folds import stimulus_folds


def _grams_from_features(*layers):
    gram, means = [], []
    for x in layers:
        m = x.mean(axis=1)
        c = x - m[:, None]
        gram.append(c @ c.T)
        means.append(m)
    n = len(layers)
    return LayerGrams([f"l{i}" for i in range(n)], np.stack(gram), np.stack(means),
                      np.array([x.shape[1] for x in layers]), np.zeros(n, bool))


def test_one_fold_matches_sklearn_ridgecv_per_target():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(118, 300))
    y = x @ rng.normal(size=(300, 6)) * np.array([0.01, 0.03, 0.1, 0.3, 1, 3]) + rng.normal(size=(118, 6))
    grams = _grams_from_features(x)
    train, test = np.arange(98), np.arange(98, 118)
    fit = encoding.ridge_fold(grams.kernels(), y, train, test, criterion="loo")
    xc = x[train] - x[train].mean(axis=0)
    scale = np.linalg.eigvalsh(xc @ xc.T).clip(0).sum() / (len(train) - 1)
    sk = RidgeCV(alphas=encoding.DEFAULT_ALPHAS * scale, alpha_per_target=True).fit(x[train], y[train])
    np.testing.assert_allclose(fit.alpha[0], sk.alpha_)
    np.testing.assert_allclose(fit.predictions[0], sk.predict(x[test]), atol=1e-8)


def _reference_ridge_fold(kernel, y, train, test, alphas=encoding.DEFAULT_ALPHAS):
    """The per-layer implementation ridge_fold replaced (penalties one by one on the hat matrix)."""
    k_train = kernel[np.ix_(train, train)]
    row = k_train.mean(axis=0)
    evals, evecs = np.linalg.eigh(k_train - row[None, :] - row[:, None] + row.mean())
    evals = np.clip(evals, 0.0, None)
    n = len(train)
    grid = np.asarray(alphas) * max(evals.sum() / max(n - 1, 1), 1e-300)
    y_mean = y[train].mean(axis=0)
    uty = evecs.T @ (y[train] - y_mean)
    shrink = evals[None, :] / (evals[None, :] + grid[:, None])
    fitted = (evecs[None, :, :] * shrink[:, None, :]) @ uty
    hat_diag = 1.0 / n + shrink @ (evecs ** 2).T
    resid = (y[train] - y_mean)[None] - fitted
    loo = ((resid / (1.0 - hat_diag)[:, :, None]) ** 2).mean(axis=1)
    best = np.argmin(loo, axis=0)
    coef = evecs @ (uty / (evals[:, None] + grid[best][None, :]))
    k_test = kernel[np.ix_(test, train)]
    k_test = k_test - row[None, :] - k_test.mean(axis=1, keepdims=True) + row.mean()
    return k_test @ coef + y_mean, loo[best, np.arange(y.shape[1])], grid[best]


def test_every_layer_matches_the_per_layer_solver_and_encode_keeps_its_numbers():
    rng = np.random.default_rng(4)
    n_stim, n_cells = 60, 25
    layers = [rng.normal(size=(n_stim, 8)) @ rng.normal(size=(8, d)) + 0.1 * rng.normal(size=(n_stim, d))
              for d in (5, 40, 200)]
    layers.append(np.repeat(layers[0], 3, axis=1))             # rank-deficient kernel (rank 5 of 59)
    y = layers[1] @ rng.normal(size=(40, n_cells)) * 0.05 + rng.normal(size=(n_stim, n_cells))
    grams = _grams_from_features(*layers)
    partitions = stimulus_folds(n_stim, 5, 2, seed=1)
    layer_r, nested_r = np.zeros((4, n_cells)), np.zeros(n_cells)
    for folds in partitions:
        for test in folds:
            train = np.setdiff1d(np.arange(n_stim), test)
            fit = encoding.ridge_fold(grams.kernels(), y, train, test, criterion="loo")
            best_err, nested = np.full(n_cells, np.inf), np.zeros(n_cells)
            for layer, kernel in enumerate(grams.kernels()):
                pred, loo, alpha = _reference_ridge_fold(kernel, y, train, test)
                np.testing.assert_allclose(fit.predictions[layer], pred, atol=1e-8)
                np.testing.assert_allclose(fit.error[layer], loo, rtol=1e-8)
                np.testing.assert_allclose(fit.alpha[layer], alpha, rtol=1e-12)
                r = np.array([np.corrcoef(pred[:, c], y[test, c])[0, 1] for c in range(n_cells)])
                layer_r[layer] += r
                better = loo < best_err
                best_err[better], nested[better] = loo[better], r[better]
            nested_r += nested
    result = encoding.encode(grams, y, partitions, criterion="loo")
    np.testing.assert_allclose(result.layer_r, layer_r / 10, atol=1e-8)
    np.testing.assert_allclose(result.nested_r, nested_r / 10, atol=1e-8)


def test_fold_reads_no_test_stimulus_outside_the_test_rows():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 20))
    k = (x @ x.T)[None]
    y = x @ rng.normal(size=(20, 3))
    train, test = np.arange(30), np.arange(30, 40)
    clean = encoding.ridge_fold(k, y, train, test)
    poisoned_k, poisoned_y = k.copy(), y.copy()
    poisoned_k[0][np.ix_(test, test)] = np.nan     # test × test kernel: never needed
    poisoned_k[0][np.ix_(train, test)] = np.nan    # only test rows against train may be read
    poisoned_y[test] = np.nan                      # held-out responses
    dirty = encoding.ridge_fold(poisoned_k, poisoned_y, train, test)
    np.testing.assert_array_equal(dirty.predictions, clean.predictions)
    np.testing.assert_array_equal(dirty.alpha, clean.alpha)
    # changing the held-out stimuli's features changes neither the penalty nor the fitted readout
    x2 = x.copy()
    x2[test] = rng.normal(size=(10, 20))
    moved = encoding.ridge_fold((x2 @ x2.T)[None], y, train, test)
    np.testing.assert_array_equal(moved.alpha, clean.alpha)


def test_linear_readout_reaches_the_reliability_limit_and_shuffled_labels_do_not():
    rng = np.random.default_rng(2)
    n_stim, n_cells, n_trials = 118, 40, 50
    x = rng.normal(size=(n_stim, 64))
    signal = x @ rng.normal(size=(64, n_cells))
    signal /= signal.std(axis=0)
    noise_sd = 1.5  # per trial; the trial mean then has noise variance 1.5² / 50
    trials = signal[None] + noise_sd * rng.normal(size=(n_trials, n_stim, n_cells))
    means = trials.mean(axis=0)
    reliability = 1 / (1 + noise_sd ** 2 / n_trials)  # variance share of signal in a trial mean
    grams = _grams_from_features(x, rng.normal(size=(n_stim, 64)))
    partitions = stimulus_folds(n_stim, 6, 1, seed=0)
    result = encoding.encode(grams, means, partitions)
    fev = result.layer_r[0] ** 2 / reliability
    assert np.median(fev) > 0.9 and np.median(result.nested_r) == pytest.approx(np.median(result.layer_r[0]), abs=0.02)
    assert np.median(result.layer_r[1]) < 0.2                     # the unrelated layer
    assert result.alpha_at_edge[0].mean() == 0.0                  # chosen penalties lie inside the grid
    shuffled = encoding.encode(grams, means[rng.permutation(n_stim)], partitions)
    assert abs(np.median(shuffled.layer_r[0])) < 0.1


def test_gabor_site_is_best_fit_by_the_gabor_baseline(demo, demo_scores):
    truth = demo.metadata["ground_truth"]
    enc = demo_scores[demo_scores["method"] == "encoding_ridge"].pivot(index="site", columns="model", values="score")
    gabor_sites = [s for s, t in truth.items() if t["model"] == "gabor"]
    network_sites = [s for s, t in truth.items() if t["model"] == "mobilenet_v2"]
    for site in gabor_sites:
        assert enc.loc[site].idxmax() == "gabor"
    assert (enc.loc[network_sites, "mobilenet_v2"] > enc.loc[network_sites, "gabor"]).all()
    rows = demo_scores[demo_scores["method"] == "encoding_ridge"]
    assert rows["score_normalized"].between(0, 1.5).all() and rows["best_layer_depth"].between(0, 1).all()


def test_method_all_writes_both_methods_for_the_network_and_the_baselines(demo_results, demo_scores):
    for model, weights in (("mobilenet_v2", "random"), ("gabor", "fixed"), ("pixels", "fixed"),
                           ("random_features", "random")):
        for method in ("rsa_nnls", "encoding_ridge"):
            assert unit_file(demo_results / "demo" / model, f"{weights}-seed0-all-{method}", "scores.csv").exists()
    counts = demo_scores.groupby(["model", "method"]).size()
    assert len(counts) == 8 and (counts == 21).all()
    import model_zoo

    layers = demo_scores[demo_scores["model"] == "mobilenet_v2"]
    assert (layers["n_layers"] == model_zoo.info("mobilenet_v2").n_layers).all()  # every layer of the catalogue


def test_gcv_penalty_is_the_minimum_of_the_dense_hat_matrix_criterion():
    """GCV(α) = (1/n)‖(I − H)y‖² / (1 − tr H / n)², H = 11ᵀ/n + K̃(K̃ + αI)⁻¹ formed densely, per cell."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 30))
    y = x @ rng.normal(size=(30, 4)) * np.array([0.02, 0.1, 0.5, 2]) + rng.normal(size=(50, 4))
    train, test = np.arange(40), np.arange(40, 50)
    fit = encoding.ridge_fold(_grams_from_features(x).kernels(), y, train, test, criterion="gcv")
    xc = x[train] - x[train].mean(axis=0)
    k = xc @ xc.T
    n = len(train)
    grid = encoding.DEFAULT_ALPHAS * np.linalg.eigvalsh(k).clip(0).sum() / (n - 1)
    for cell in range(y.shape[1]):
        yc = y[train, cell] - y[train, cell].mean()
        gcv = []
        for alpha in grid:
            hat = np.full((n, n), 1 / n) + k @ np.linalg.inv(k + alpha * np.eye(n))
            gcv.append(np.mean((yc - hat @ yc) ** 2) / (1 - np.trace(hat) / n) ** 2)
        best = int(np.argmin(gcv))
        assert fit.alpha[0, cell] == pytest.approx(grid[best]) and fit.error[0, cell] == pytest.approx(gcv[best])
        ridge = Ridge(alpha=grid[best]).fit(x[train], y[train, cell])
        np.testing.assert_allclose(fit.predictions[0][:, cell], ridge.predict(x[test]), atol=1e-8)
