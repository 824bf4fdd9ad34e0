"""The input-resolution control: stimuli resized to a chosen size, one unit per size, and a unit whose method
chooses the size with the layer on training stimuli only."""
import dataclasses
import warnings

import numpy as np
import pytest
from helpers import grams_from_features, synthetic_problem

import model_zoo
from mouse_rsa import methods, results
from mouse_rsa.errors import InvalidInput
from mouse_rsa.features import Run, extract
from mouse_rsa.features.grams import LayerGrams
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.rdm import rdm
from mouse_rsa.runner import benchmark
from mouse_rsa.units import BaselineWeightsWarning


def test_stimuli_are_resized_to_the_asked_size_and_a_network_too_small_for_it_is_refused():
    model = model_zoo.create("alexnet", "random", seed=0)
    images = np.random.default_rng(0).integers(0, 255, size=(2, 30, 40), dtype=np.uint8)
    assert model.preprocess(images).shape == (2, 3, 224, 224)
    assert model.preprocess(images, size=64).shape == (2, 3, 64, 64)
    small = extract(model, images, "features.0", run=Run(device="cpu", progress=False, image_size=64))
    native = extract(model, images, "features.0", run=Run(device="cpu", progress=False))
    assert small.n_units[0] == 64 * 15 * 15 and native.n_units[0] == 64 * 55 * 55
    with pytest.raises(InvalidInput, match="alexnet cannot run on 8 px images.*image_size"):
        extract(model, images, run=Run(device="cpu", progress=False, image_size=8))


def test_joined_layers_keep_their_size_and_depth():
    grams, _, _ = synthetic_problem(n_layers=3)
    joined = LayerGrams.joined({"64": grams, "224": grams.select([0, 2])})
    assert joined.names == ["64/l0", "64/l1", "64/l2", "224/l0", "224/l2"]
    np.testing.assert_allclose(joined.depths(), [0, 0.5, 1, 0, 1])
    np.testing.assert_allclose(joined.select([1, 4]).depths(), [0, 0])        # one layer left of each size
    np.testing.assert_allclose(grams.depths(), [0, 0.5, 1])


@pytest.mark.parametrize("name", ["rsa_layer", "cka", "pls"])
def test_the_size_is_chosen_without_the_held_out_stimuli(name):
    """Two 'sizes' of one model (the second a noisy copy): the size and layer chosen for a fold do not move when
    the responses to that fold's held-out stimuli change."""
    grams, layers, targets = synthetic_problem()
    noisy = [x + np.random.default_rng(i).normal(scale=0.5, size=x.shape) for i, x in enumerate(layers)]
    joined = LayerGrams.joined({"64": grams, "224": grams_from_features(*noisy)})
    design = methods.Design(stimulus_folds(targets.n_stimuli, 3, 1, 2), 2)
    before = methods.get(name).score(joined, targets, design).tables["choices"]
    responses = targets.cell_means.copy()
    responses[design.partitions[0][0]] *= -3.0
    changed = dataclasses.replace(targets, cell_means=responses, sites=[
        dataclasses.replace(s, rdm=rdm(responses[:, targets.cell_site == s.key])) for s in targets.sites])
    after = methods.get(name).score(joined, changed, design).tables["choices"]
    first = before["fold"] == 0
    assert list(before.loc[first, "layer"]) == list(after.loc[first, "layer"])
    assert {layer.split("/")[0] for layer in before["layer"]} <= {"64", "224"}


def test_benchmark_writes_rows_per_size_and_for_the_choice_among_sizes(tmp_path, demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWeightsWarning)
        result = benchmark("gabor", weights="fixed", methods="rsa_layer", image_sizes=[64, 128], out=tmp_path,
                           progress=False, dataset="demo", permutations=0)
    assert set(result.scores["image_size"]) == {"64", "128", "64+128"}
    joined = result.layers[result.layers["image_size"] == "64+128"]
    assert set(joined["layer"]) == {"64/energy", "128/energy"} and (joined["layer_depth"] == 0).all()
    choices = results.read_table(tmp_path, "choices")
    chosen = choices[choices["image_size"] == "64+128"]["layer"]
    assert len(chosen) == 21 * 6 and set(chosen) <= {"64/energy", "128/energy"}
    per_size = result.scores.pivot_table(index="site", columns="image_size", values="best_layer_score")
    assert not np.allclose(per_size["64"], per_size["128"])           # the resolution changes the numbers
    assert sorted(p.name.split("-")[3] for p in (tmp_path / "demo" / "gabor").glob("*.unit.json")) == \
        ["128px", "64+128px", "64px"]


def test_the_command_line_names_the_size_a_network_cannot_take(capsys, tmp_path, demo):
    from mouse_rsa.cli import main

    code = main(["benchmark", "--model", "alexnet", "--weights", "random", "--image-size", "8", "--dataset", "demo",
                 "--out", str(tmp_path), "--quiet", "--permutations", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "mouse-rsa: error: alexnet cannot run on 8 px images" in err and "--image-size" in err
    assert not list(tmp_path.rglob("*.unit.json"))
