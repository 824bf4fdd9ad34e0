"""Debiased linear CKA against its definition (Song et al.'s U-statistic, summed over every tuple of distinct
stimuli) and against Kornblith et al.'s feature-space code (unbiased centring of the Gram matrices)."""
from itertools import permutations

import numpy as np
import pytest
from helpers import synthetic_problem

from mouse_rsa import methods
from mouse_rsa.errors import InvalidInput
from mouse_rsa.methods import cka
from mouse_rsa.methods.folds import stimulus_folds


def _u_statistic(k, l, weights=None):
    """HSIC₁ by its definition: the mean over ordered 4-tuples of distinct stimuli (each weighted by the product
    of the stimuli's counts) of h = k_ij l_ij + k_ij l_qr − 2 k_ij l_iq, symmetrised over the tuple's order."""
    w = np.ones(len(k)) if weights is None else weights
    total = weight = 0.0
    for t in permutations(range(len(k)), 4):
        i, j, q, r = t
        h = k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
        total += w[i] * w[j] * w[q] * w[r] * h
        weight += w[i] * w[j] * w[q] * w[r]
    return total / weight


def _kornblith_cka(x, y):
    """Debiased linear CKA from features, as Kornblith et al. (2019)'s reference code computes it."""
    def centre(gram):
        gram = gram.copy()
        n = len(gram)
        np.fill_diagonal(gram, 0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None] + means[None, :]
        np.fill_diagonal(gram, 0)
        return gram
    gx, gy = centre(x @ x.T), centre(y @ y.T)
    return (gx.ravel() @ gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy))


def test_debiased_hsic_is_the_u_statistic_and_weights_count_stimuli():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)) + 2.0, rng.normal(size=(7, 4)) - 1.0
    k, l = x @ x.T, y @ y.T
    assert cka.hsic(k[None], l[None])[0, 0] == pytest.approx(_u_statistic(k, l), abs=1e-12)
    assert cka.self_hsic(k[None])[0] == pytest.approx(_u_statistic(k, k), abs=1e-12)
    counts = np.array([2, 1, 0, 3, 1, 1, 2])
    assert cka.weighted_hsic(k, l, counts[None])[0] == pytest.approx(_u_statistic(k, l, counts), abs=1e-12)
    np.testing.assert_allclose(cka.weighted_hsic(k, l, np.ones((2, 7))), cka.hsic(k[None], l[None])[0, 0], atol=1e-12)
    assert np.isnan(cka.weighted_hsic(k, l, np.array([[0, 0, 5, 0, 1, 1, 0]]))[0])     # 3 distinct stimuli


def test_cka_of_kernels_with_feature_means_is_kornbliths_debiased_cka():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 30)) + rng.normal(size=30)          # features with means: no centring needed
    y = x[:, :8] @ rng.normal(size=(8, 5)) + rng.normal(size=(20, 5)) + 3.0
    assert cka.cka((x @ x.T)[None], (y @ y.T)[None])[0, 0] == pytest.approx(_kornblith_cka(x, y), abs=1e-12)
    z = y[:, :1]
    assert cka.cka((z @ z.T)[None], (z @ z.T)[None])[0, 0] == pytest.approx(1.0, abs=1e-12)


def test_the_score_matches_a_loop_over_folds_with_kornbliths_cka():
    grams, layers, targets = synthetic_problem(n_stimuli=20)
    partitions = stimulus_folds(20, 4, 2, 5)
    scored = methods.get("cka").score(grams, targets, methods.Design(partitions, 5))
    expected = np.zeros(len(targets.sites))
    for folds in partitions:
        for test in folds:
            train = np.setdiff1d(np.arange(20), test)
            for s, site in enumerate(targets.sites):
                r = targets.cell_means[:, targets.cell_site == site.key]
                best = np.argmax([_kornblith_cka(x[train], r[train]) for x in layers])
                expected[s] += _kornblith_cka(layers[best][test], r[test]) / 8
    np.testing.assert_allclose(scored.sites["score"], expected, atol=1e-10, rtol=0)
    profile = scored.layers.set_index(["site", "layer"])["layer_score"]
    r = targets.cell_means[:, targets.cell_site == "VISl_L4"]
    assert profile["VISl_L4", "l1"] == pytest.approx(_kornblith_cka(layers[1], r), abs=1e-12)
    assert scored.sites["ceiling"].isna().all() and (scored.sites["score_r2"] == scored.sites["score"]).all()


def test_folds_too_small_for_the_debiased_estimator_are_refused():
    grams, _, targets = synthetic_problem(n_stimuli=18)
    with pytest.raises(InvalidInput, match="at least 4 held-out stimuli per fold.*at most 4 folds"):
        methods.get("cka").score(grams, targets, methods.Design(stimulus_folds(18, 5, 1, 0), 0))
