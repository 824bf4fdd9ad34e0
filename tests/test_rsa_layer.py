"""Single-layer RSA against rsatoolbox (the layer chosen on training stimuli) and scipy (the held-out cells)."""
import numpy as np
import pytest
from helpers import synthetic_problem
from rsatoolbox.data import Dataset
from rsatoolbox.rdm import RDMs, calc_rdm, compare
from scipy import stats

from mouse_rsa import methods
from mouse_rsa.methods import rsa_layer
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.rdm import upper


def _reference(layers, site_rdms, partitions, spearman=False):
    """The cross-validated single-layer RSA written out: rsatoolbox compares the RDMs of the training stimuli
    (``subsample_pattern``) to choose the layer, scipy correlates the cells that touch a held-out stimulus.
    Returns per site the mean held-out correlation and the chosen layers."""
    n = len(layers[0])
    models = [calc_rdm(Dataset(x), method="correlation") for x in layers]
    data = [RDMs(site[np.triu_indices(n, 1)][None], dissimilarity_measure="correlation") for site in site_rdms]
    for rdms in (*models, *data):
        rdms.pattern_descriptors["index"] = list(range(n))
    scores, chosen = np.zeros(len(site_rdms)), []
    correlate = stats.spearmanr if spearman else stats.pearsonr
    for folds in partitions:
        for test in folds:
            train = [i for i in range(n) if i not in test]
            for s, site in enumerate(data):
                on_train = [compare(m.subsample_pattern("index", train), site.subsample_pattern("index", train),
                                    method="spearman" if spearman else "corr")[0, 0] for m in models]
                best = int(np.argmax(on_train))
                cells = [(i, j) for i in range(n) for j in range(i + 1, n) if i in test or j in test]
                a = [models[best].get_matrices()[0][i, j] for i, j in cells]
                b = [site_rdms[s][i, j] for i, j in cells]
                scores[s] += correlate(a, b)[0] / (len(partitions) * len(folds))
                chosen.append(best)
    return scores, chosen


def test_scores_and_choices_match_rsatoolbox_and_scipy():
    grams, layers, targets = synthetic_problem(n_stimuli=16)
    partitions = stimulus_folds(targets.n_stimuli, 4, 2, 3)
    scored = methods.get("rsa_layer").score(grams, targets, methods.Design(partitions, 3))
    site_rdms = [s.rdm for s in targets.sites]
    pearson, chosen = _reference(layers, site_rdms, partitions)
    np.testing.assert_allclose(scored.sites["score"], pearson, atol=1e-10, rtol=0)
    spearman, _ = _reference(layers, site_rdms, partitions, spearman=True)
    np.testing.assert_allclose(scored.sites["score_spearman"], spearman, atol=1e-10, rtol=0)
    order = scored.tables["choices"].sort_values(["repeat", "fold", "site"], key=lambda c: c.map(
        {s.key: i for i, s in enumerate(targets.sites)}) if c.name == "site" else c)
    assert list(order["layer_index"]) == chosen


def test_cell_masks_split_training_from_held_out_cells():
    labels = np.array([0, 1, 0, 2, 1])
    train, held = rsa_layer.cell_masks(labels)
    i, j = np.triu_indices(5, 1)
    for k in range(3):
        np.testing.assert_array_equal(held[k], (labels[i] == k) | (labels[j] == k))
        np.testing.assert_array_equal(train[k], (labels[i] != k) & (labels[j] != k))


def test_a_layer_that_is_the_site_is_chosen_everywhere():
    grams, _, targets = synthetic_problem()
    x = upper(grams.rdms()).T
    y = x[:, [2, 0]] + 1e-3 * np.random.default_rng(0).normal(size=(x.shape[0], 2))
    labels = np.stack([np.arange(targets.n_stimuli) % 3])
    chosen, train_r, held_r = rsa_layer.choose_layers(x, y, labels)
    assert (chosen[..., 0] == 2).all() and (chosen[..., 1] == 0).all()
    assert held_r.min() > 0.99 and train_r.min() > 0.99


@pytest.mark.parametrize("folds", [2, 6])
def test_the_score_is_a_mean_of_fold_correlations(folds):
    grams, _, targets = synthetic_problem(n_stimuli=18)
    design = methods.Design(stimulus_folds(18, folds, 1, 0), 0)
    scored = methods.get("rsa_layer").score(grams, targets, design)
    choices = scored.tables["choices"]
    means = choices.groupby("site", sort=False)["held_out_score"].mean()
    np.testing.assert_allclose(scored.sites.set_index("site")["score"], means.reindex(scored.sites["site"]),
                               atol=1e-12)
