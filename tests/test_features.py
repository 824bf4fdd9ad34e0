import numpy as np
import pytest
import torch

import model_zoo
from mouse_rsa import features
from mouse_rsa.features import LayerGrams, cached_extract, extract, sparse_projection
from mouse_rsa.rdm import rdm


def _images(n=12, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 20, 24), dtype=np.uint8)


def _raw_features(model, images, name):
    out = {}
    with torch.no_grad(), model_zoo.LayerTap(model.module, lambda n, o: out.setdefault(n, o.flatten(1).clone()), name):
        model.module(model.preprocess(images))
    return out[name].double().numpy()


def test_exact_layers_give_the_exact_rdm_and_kernel():
    model = model_zoo.create("squeezenet1_1", "random", seed=0)
    images = _images()
    grams = extract(model, images, layers="classifier.*", batch_size=5, max_dim=10**6, progress=False)
    assert grams.names == ["classifier.1", "classifier.2", "classifier.3"] and not grams.reduced.any()
    x = _raw_features(model, images, "classifier.1")
    np.testing.assert_allclose(grams.rdms()[0], rdm(x), atol=1e-6)
    np.testing.assert_allclose(grams.kernels()[0], x @ x.T, rtol=1e-5)
    np.testing.assert_allclose(grams.unit_mean[0], x.mean(axis=1), rtol=1e-6)


def test_projected_layers_keep_the_rdm_within_the_jl_bound():
    model = model_zoo.create("alexnet", "random", seed=0)
    images = _images(20)
    exact = extract(model, images, layers="features.0", max_dim=10**9, progress=False)
    reduced = extract(model, images, layers="features.0", max_dim=2048, progress=False)
    assert reduced.reduced.all() and reduced.n_units[0] == 64 * 55 * 55
    # inner products of unit-norm centred patterns move by at most ~eps; eps(k=2048, n=20) ≈ 0.1
    assert np.abs(reduced.rdms()[0] - exact.rdms()[0]).max() < 0.1
    assert np.corrcoef(reduced.rdms()[0].ravel(), exact.rdms()[0].ravel())[0, 1] > 0.99


def test_sparse_projection_statistics():
    d, k = 40_000, 512
    r = sparse_projection(d, k, seed=1)
    dense = r.to_dense().numpy()
    density = (dense != 0).mean()
    assert density == pytest.approx(1 / np.sqrt(d), rel=0.05)
    assert set(np.unique(np.abs(dense[dense != 0])).round(6)) == {round(np.sqrt(np.sqrt(d) / k), 6)}
    x = np.random.default_rng(0).normal(size=(50, d)).astype(np.float32)
    ratio = (np.linalg.norm(x @ dense.T, axis=1) / np.linalg.norm(x, axis=1)) ** 2
    assert np.abs(ratio - 1).max() < 0.3 and abs(ratio.mean() - 1) < 0.05
    assert torch.equal(sparse_projection(d, k, seed=1).to_dense(), r.to_dense())


def test_same_seed_bit_identical_different_seed_different():
    images = _images()
    a = extract(model_zoo.create("mobilenet_v2", "random", seed=1), images, layers="features.[1-3]", progress=False)
    b = extract(model_zoo.create("mobilenet_v2", "random", seed=1), images, layers="features.[1-3]", progress=False)
    c = extract(model_zoo.create("mobilenet_v2", "random", seed=2), images, layers="features.[1-3]", progress=False)
    assert np.array_equal(a.gram, b.gram) and np.array_equal(a.unit_mean, b.unit_mean)
    assert not np.allclose(a.gram, c.gram)


def test_batching_does_not_change_results():
    model = model_zoo.create("resnet18", "random", seed=0)
    images = _images(10)
    one = extract(model, images, layers="layer4.*", batch_size=10, progress=False)
    many = extract(model, images, layers="layer4.*", batch_size=3, progress=False)
    np.testing.assert_allclose(one.gram, many.gram, rtol=1e-4, atol=1e-6)


def test_cache_is_reused_and_rebuilt_when_corrupt(monkeypatch):
    model = model_zoo.create("squeezenet1_1", "random", seed=0)
    images = _images()
    first = cached_extract(model, images, layers="classifier.*", progress=False)
    path = features.cache_dir("features", model.name,
                              features.cache_key(model, images, "classifier.*", features.DEFAULT_MAX_DIM, 0) + ".npz")
    assert path.exists()

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(features, "extract", boom)
    again = cached_extract(model, images, layers="classifier.*", progress=False)
    np.testing.assert_array_equal(again.gram, first.gram)
    monkeypatch.undo()
    path.write_bytes(b"corrupt")
    rebuilt = cached_extract(model, images, layers="classifier.*", progress=False)
    np.testing.assert_array_equal(rebuilt.gram, first.gram)
    assert features.load_grams(path) is not None
    other = features.cache_key(model, _images(seed=1), "classifier.*", features.DEFAULT_MAX_DIM, 0)
    assert other != path.stem  # other stimuli, other key


def test_degenerate_layers_are_found():
    n = 6
    x = np.random.default_rng(0).normal(size=(n, 5))

    def grams_of(*layers):
        centred = [x - x.mean(1, keepdims=True) for x in layers]
        return LayerGrams([f"l{i}" for i in range(len(layers))], np.stack([c @ c.T for c in centred]),
                          np.stack([x.mean(1) for x in layers]), np.array([5] * len(layers)),
                          np.zeros(len(layers), bool))

    constant_units = np.ones((n, 5))
    same_pattern = np.tile(x[:1], (n, 1))
    assert grams_of(x, constant_units, same_pattern).degenerate_layers() == ["l1", "l2"]


def test_unknown_layer_pattern_is_an_error():
    from mouse_rsa.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no layer of squeezenet1_1 matches"):
        extract(model_zoo.create("squeezenet1_1", "random"), _images(2), layers="nope*", progress=False)


def test_device_choice():
    from mouse_rsa.errors import InvalidInput

    assert features.resolve_device("cpu").type == "cpu"
    assert features.resolve_device(None).type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="no CUDA GPU"):
            features.resolve_device("cuda")
