"""PLS regression from layer kernels against scikit-learn's PLSRegression on the explicit features."""
import warnings

import numpy as np
import pytest
from helpers import synthetic_problem
from sklearn.cross_decomposition import PLSRegression

from mouse_rsa import methods
from mouse_rsa.errors import InvalidInput
from mouse_rsa.methods import pls
from mouse_rsa.methods.folds import fold_labels, stimulus_folds


def _sklearn(x, y, train, test, components):
    """Held-out predictions (n_test, cells) of one PLSRegression(scale=False) per cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # scikit-learn warns when a residual vanishes before the last component
        return np.stack([PLSRegression(components, scale=False).fit(x[train], y[train, c]).predict(x[test]).ravel()
                         for c in range(y.shape[1])], axis=1)


@pytest.mark.parametrize("components", [1, 5, 10])
def test_kernel_pls_matches_scikit_learn(components):
    grams, layers, targets = synthetic_problem(n_stimuli=30)
    test = np.arange(0, 30, 4)
    train = np.setdiff1d(np.arange(30), test)
    ours = pls.pls_fit(grams.kernels(), targets.cell_means, train, test, components)
    for layer, x in enumerate(layers):
        np.testing.assert_allclose(ours[layer], _sklearn(x, targets.cell_means, train, test, components), atol=1e-8,
                                   rtol=0)


def test_more_components_than_the_kernel_has_dimensions_fit_the_training_responses():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 3))                      # rank 3 after centring: a fourth component has nothing left
    y = rng.normal(size=(12, 2))
    kernels = (x @ x.T)[None]
    ours = pls.pls_fit(kernels, y, np.arange(9), np.arange(9, 12), components=6)[0]
    np.testing.assert_allclose(ours, _sklearn(x, y, np.arange(9), np.arange(9, 12), 3), atol=1e-8)  # it refuses 6
    ordinary = np.linalg.lstsq(np.c_[np.ones(9), x[:9]], y[:9], rcond=None)[0]
    np.testing.assert_allclose(ours, np.c_[np.ones(3), x[9:]] @ ordinary, atol=1e-8)   # all 3 directions: OLS


def test_the_nested_score_matches_a_loop_of_scikit_learn_fits():
    grams, layers, targets = synthetic_problem(n_stimuli=24, cells=3)
    partitions = stimulus_folds(24, 4, 1, 1)
    labels = np.stack([fold_labels(folds, 24) for folds in partitions])
    sites = [s.key for s in targets.sites]
    fit = pls.nested_scores(grams.kernels(), targets.cell_means, targets.cell_site, sites, labels, components=4)
    y, folds = targets.cell_means, partitions[0]
    everything = np.arange(24)
    expected = np.zeros(y.shape[1])
    for k, test in enumerate(folds):
        inner = np.zeros((len(layers), y.shape[1]))
        for j in ((k - 1) % 4, (k + 1) % 4):
            train = np.setdiff1d(everything, np.r_[test, folds[j]])
            for layer, x in enumerate(layers):
                predicted = _sklearn(x, y, train, folds[j], 4)
                inner[layer] += [np.corrcoef(predicted[:, c], y[folds[j], c])[0, 1] / 2 for c in range(y.shape[1])]
        for site in sites:
            cells = np.flatnonzero(targets.cell_site == site)
            best = np.argmax(np.median(inner[:, cells], axis=1))
            predicted = _sklearn(layers[best], y[:, cells], np.setdiff1d(everything, test), test, 4)
            expected[cells] += [np.corrcoef(predicted[:, c], y[test, cell])[0, 1] / 4 for c, cell in enumerate(cells)]
            np.testing.assert_allclose(fit["predictions"][0][test][:, cells], predicted, atol=1e-8)
    np.testing.assert_allclose(fit["nested_r"], expected, atol=1e-8, rtol=0)


def test_sites_are_medians_over_cells_and_the_ceiling_is_their_reliability():
    grams, _, targets = synthetic_problem(n_stimuli=18)
    scored = methods.get("pls").score(grams, targets, methods.Design(stimulus_folds(18, 3, 1, 0), 0))
    assert (scored.sites["ceiling"] == 0.8).all() and "ceiling_lower" not in scored.sites   # no RDM bounds
    np.testing.assert_allclose(scored.sites["score_normalized"], scored.sites["score_r2"] / 0.8)
    with pytest.raises(InvalidInput, match="at least 3 folds"):
        methods.get("pls").score(grams, targets, methods.Design(stimulus_folds(18, 2, 1, 0), 0))
