import numpy as np
import pytest
from scipy import stats

from mouse_rsa.neural import reliability as rel
from mouse_rsa.rdm import rdm, upper


def test_spearman_brown_known_values():
    assert rel.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert rel.spearman_brown(0.6, factor=3) == pytest.approx(3 * 0.6 / (1 + 2 * 0.6))
    assert rel.spearman_brown(1.0) == pytest.approx(1.0)
    assert rel.spearman_brown(0.0) == 0.0


def test_noiseless_cells_have_reliability_one():
    rng = np.random.default_rng(1)
    tuning = rng.normal(size=(5, 1, 118))
    responses = np.repeat(tuning, 50, axis=1)
    np.testing.assert_allclose(rel.split_half_reliability(responses, n_splits=3), 1.0)
    np.testing.assert_allclose(rel.oracle_correlation(responses), 1.0)


def test_pure_noise_reliability_is_zero_within_sampling_error():
    rng = np.random.default_rng(2)
    n_cells, n_stim, n_splits = 400, 118, 5
    values = rel.split_half_reliability(rng.normal(size=(n_cells, 50, n_stim)), n_splits=n_splits, seed=3)
    # per split r ~ N(0, 1/(n_stim-1)); stepped up ×2; the mean over cells (independent) has sd
    # ≤ 2/sqrt((n_stim-1)·n_cells) whatever the dependence between the n_splits splits of one cell
    bound = 4 * 2 / np.sqrt((n_stim - 1) * n_cells)
    assert abs(values.mean()) < bound
    # averaging over splits can only shrink the spread of a cell's estimate below one split's
    single = rel.split_half_reliability(rng.normal(size=(n_cells, 50, n_stim)), n_splits=1, seed=3)
    assert values.std() < single.std()


def test_split_half_matches_a_direct_loop():
    rng = np.random.default_rng(4)
    responses = rng.normal(size=(3, 6, 10)) + rng.normal(size=(3, 1, 10))
    responses[0, 2, 4] = np.nan
    got = rel.split_half_reliability(responses, n_splits=4, seed=7)
    orders = rel._trial_splits(6, 10, 4, 7)
    expected = np.zeros(3)
    for c in range(3):
        for order in orders:
            a = [np.nanmean(responses[c, order[:3, s], s]) for s in range(10)]
            b = [np.nanmean(responses[c, order[3:, s], s]) for s in range(10)]
            r = stats.pearsonr(a, b)[0]
            expected[c] += 2 * r / (1 + r) / 4
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_oracle_matches_pooled_leave_one_out_by_hand():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 3, 4))
    singles, loo = [], []
    for t in range(3):
        for s in range(4):
            singles.append(x[0, t, s])
            loo.append(np.mean([x[0, u, s] for u in range(3) if u != t]))
    assert rel.oracle_correlation(x)[0] == pytest.approx(np.corrcoef(singles, loo)[0, 1])


def test_reliability_tracks_the_demo_ground_truth(demo):
    estimated = rel.split_half_reliability(demo.responses, seed=0)
    truth = demo.cells["true_reliability"].to_numpy()
    assert np.corrcoef(estimated, truth)[0, 1] > 0.95
    assert np.median(np.abs(estimated - truth)) < 0.05
    assert 0.2 < rel.select_reliable(estimated).mean() < 0.8  # the demo straddles the 0.75 threshold


def test_select_reliable_threshold_and_nan():
    mask = rel.select_reliable(np.array([0.8, 0.75, 0.7, np.nan]), 0.75)
    assert mask.tolist() == [True, True, False, False]


def test_constant_cell_is_unreliable_not_an_error():
    responses = np.ones((1, 10, 20))
    value = rel.split_half_reliability(responses, n_splits=2)
    assert np.isnan(value[0]) and not rel.select_reliable(value)[0]


def test_rdm_ceiling_noiseless_is_one_and_noise_lowers_it():
    rng = np.random.default_rng(6)
    tuning = rng.normal(size=(30, 1, 40))
    clean = np.repeat(tuning, 20, axis=1)
    assert rel.rdm_split_half_reliability(clean, n_splits=3) == pytest.approx(1.0)
    noisy = clean + rng.normal(scale=3.0, size=clean.shape)
    assert 0.0 < rel.rdm_split_half_reliability(noisy, n_splits=3) < 0.95


def test_rdm_ceiling_matches_direct_computation():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(8, 4, 6))
    order = rel._trial_splits(4, 6, 1, 9)[0]
    a = np.stack([x[:, order[:2, s], s].mean(axis=1) for s in range(6)])
    b = np.stack([x[:, order[2:, s], s].mean(axis=1) for s in range(6)])
    r = np.corrcoef(upper(rdm(a)), upper(rdm(b)))[0, 1]
    assert rel.rdm_split_half_reliability(x, n_splits=1, seed=9) == pytest.approx(2 * r / (1 + r))


def test_rdm_ceiling_bounds_are_rsatoolboxs_noise_ceiling_of_the_two_halves():
    """Nili et al.'s bounds with the two halves of a split as the subjects: rsatoolbox's boot_noise_ceiling
    (leave one subject out; the pool of all), squared into r² units, around the split-half ceiling."""
    from rsatoolbox.inference.noise_ceiling import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs

    rng = np.random.default_rng(11)
    x = rng.normal(size=(9, 1, 12)) + rng.normal(scale=1.5, size=(9, 6, 12))
    order = rel._trial_splits(6, 12, 1, 4)[0]
    halves = [np.stack([x[:, order[part, s], s].mean(axis=1) for s in range(12)]) for part in (slice(0, 3), slice(3, 6))]
    low, high = boot_noise_ceiling(RDMs(np.stack([upper(rdm(h)) for h in halves])), method="corr")
    noise = rel.rdm_noise_ceiling(x, n_splits=1, seed=4)
    assert noise.lower == pytest.approx(low ** 2, abs=1e-12) and noise.upper == pytest.approx(high ** 2, abs=1e-12)
    assert noise.lower < noise.ceiling < noise.upper
    assert noise.ceiling == rel.rdm_split_half_reliability(x, n_splits=1, seed=4)
