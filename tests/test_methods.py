"""The contract every registered method keeps (the registry, its chance level, its kept predictions, a choice
made on training stimuli only), on a small synthetic problem."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from helpers import synthetic_problem

from mouse_rsa import methods
from mouse_rsa.methods.folds import fold_labels, stimulus_folds
from mouse_rsa.rdm import rdm, upper
from mouse_rsa.settings import METHOD_SETTINGS

NAMES = methods.REGISTERED


def _design(targets, permutations=0, folds=3, repeats=2):
    return methods.Design(stimulus_folds(targets.n_stimuli, folds, repeats, 7), 7, permutations)


def _with_responses(targets, responses):
    """``targets`` whose cells respond ``responses`` (stimuli × cells), site RDMs recomputed from them."""
    sites = [dataclasses.replace(site, rdm=rdm(responses[:, targets.cell_site == site.key]))
             for site in targets.sites]
    return dataclasses.replace(targets, sites=sites, cell_means=responses)


def _target_arrays(targets):
    return {"sites": np.array([s.key for s in targets.sites]), "vectors": targets.site_vectors(),
            "cell_means": targets.cell_means, "cell_site": targets.cell_site, "n_stimuli": targets.n_stimuli}


def test_the_registry_lists_every_method_and_the_settings_they_read():
    assert [m.name for m in methods.all_methods()] == list(NAMES) and methods.DEFAULT == NAMES[0]
    assert methods.settings_used() == METHOD_SETTINGS
    assert methods.resolve("all") == list(NAMES) and methods.resolve(["rsa", "pls", "rsa_nnls"]) == ["rsa_nnls", "pls"]
    for method in methods.all_methods():
        assert methods.get(method.short) is method and method.permutations >= 1


@pytest.mark.parametrize("name", NAMES)
def test_the_null_is_the_same_fit_on_permuted_stimuli(name):
    """Each row of a method's null is the score it gives when the neural data's stimuli are permuted."""
    grams, _, targets = synthetic_problem()
    design = _design(targets, permutations=2)
    scored = methods.get(name).score(grams, targets, design)
    assert scored.null.shape == (2, len(targets.sites))
    for order, null in zip(design.permutation_orders(targets.n_stimuli), scored.null):
        permuted = _with_responses(targets, targets.cell_means[order])
        again = methods.get(name).score(grams, permuted, dataclasses.replace(design, permutations=0))
        np.testing.assert_allclose(null, again.sites["score"], atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_kept_predictions_rescore_to_the_score_and_follow_the_stimuli_drawn(name):
    grams, _, targets = synthetic_problem()
    method = methods.get(name)
    scored = method.score(grams, targets, _design(targets))
    arrays = {k: np.asarray(v) for k, v in scored.arrays.items()}
    ones = np.ones((1, targets.n_stimuli), dtype=np.int32)
    np.testing.assert_allclose(method.resample_scores(arrays, _target_arrays(targets), ones)[0], scored.sites["score"],
                               atol=1e-5, rtol=0)                       # predictions are kept in float32
    counts = np.random.default_rng(0).multinomial(targets.n_stimuli, np.full(targets.n_stimuli, 1 / targets.n_stimuli),
                                                  size=3)
    resampled = method.resample_scores(arrays, _target_arrays(targets), counts)
    assert resampled.shape == (3, len(targets.sites)) and np.isfinite(resampled).all()
    assert not np.allclose(resampled[0], scored.sites["score"])


@pytest.mark.parametrize("name", [m.name for m in methods.all_methods() if m.name != "rsa_nnls"])
def test_site_rows_have_every_column_in_order(name):
    grams, _, targets = synthetic_problem()
    scored = methods.get(name).score(grams, targets, _design(targets, permutations=2))
    rows = methods.site_rows(scored.sites, scored.null)
    assert list(rows.columns[:len(methods.base.SITE_COLUMNS)]) == methods.base.SITE_COLUMNS
    assert rows["chance_mean"].notna().all() and (rows["n_layers"] == grams.n_layers).all()


CHOOSING = [m.name for m in methods.all_methods() if m.name in ("rsa_layer", "cka", "pls")]


@pytest.mark.parametrize("name", CHOOSING)
def test_the_layer_of_a_fold_is_chosen_without_its_held_out_stimuli(name):
    """Changing the responses to the held-out stimuli of one fold changes that fold's score but never its
    chosen layers (nor those' training scores); the other folds see those stimuli in training."""
    grams, _, targets = synthetic_problem()
    design = _design(targets, folds=3, repeats=1)
    before = methods.get(name).score(grams, targets, design).tables["choices"]
    held = design.partitions[0][1]
    noisy = targets.cell_means.copy()
    noisy[held] = np.random.default_rng(3).normal(size=noisy[held].shape) * 5
    after = methods.get(name).score(grams, _with_responses(targets, noisy), design).tables["choices"]
    fold = after["fold"] == 1
    pd.testing.assert_frame_equal(before[fold][["site", "layer", "train_score"]],
                                  after[fold][["site", "layer", "train_score"]])
    assert not np.allclose(before.loc[fold, "held_out_score"], after.loc[fold, "held_out_score"])
    assert not before[~fold][["train_score"]].equals(after[~fold][["train_score"]])


def test_fold_labels_name_the_fold_of_each_stimulus():
    folds = stimulus_folds(10, 3, 1, 0)[0]
    labels = fold_labels(folds, 10)
    assert all((labels[test] == k).all() for k, test in enumerate(folds)) and (labels >= 0).all()
    assert (fold_labels(folds[:2], 10) == -1).sum() == len(folds[2])


def test_layer_profiles_are_each_layers_rdm_correlation():
    grams, layers, targets = synthetic_problem()
    scored = methods.get("rsa_layer").score(grams, targets, _design(targets))
    first = scored.layers[(scored.layers["site"] == "VISp_L23") & (scored.layers["layer"] == "l2")]
    r = np.corrcoef(upper(rdm(layers[2])), upper(targets.sites[0].rdm))[0, 1]
    assert first["layer_score"].item() == pytest.approx(r, abs=1e-12)
