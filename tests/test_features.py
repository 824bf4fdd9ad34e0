import numpy as np
import pytest
import torch

import model_zoo
from mouse_rsa import features
from mouse_rsa.features import Run, extract
from mouse_rsa.features.grams import LayerGrams
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
    grams = extract(model, images, layers="classifier.*", max_dim=10**6, run=Run(batch_size=5, progress=False))
    assert grams.names == ["classifier.1", "classifier.2", "classifier.3"] and not grams.reduced.any()
    x = _raw_features(model, images, "classifier.1")
    np.testing.assert_allclose(grams.rdms()[0], rdm(x), atol=1e-6)
    np.testing.assert_allclose(grams.kernels()[0], x @ x.T, rtol=1e-5)
    np.testing.assert_allclose(grams.unit_mean[0], x.mean(axis=1), rtol=1e-6)


def test_layers_at_or_below_max_dim_are_centred_exactly_as_before():
    """Unreduced layers: float32 pattern minus its float32 mean, batches concatenated, Gram in float64."""
    model = model_zoo.create("squeezenet1_1", "random", seed=0)
    images = _images(7)
    grams = extract(model, images, layers=["classifier.3", "features.1*"], max_dim=1000,
                    run=Run(batch_size=3, progress=False))
    assert grams.names[0] == "features.1" and grams.names[-1] == "classifier.3"
    assert grams.n_units[-1] == 1000 and grams.reduced[0] and not grams.reduced[-1]
    parts = []
    for start in range(0, 7, 3):
        x = torch.from_numpy(_raw_features(model, images[start:start + 3], "classifier.3").astype(np.float32))
        parts.append(x - x.mean(dim=1, keepdim=True))
    z = torch.cat(parts).double()
    np.testing.assert_array_equal(grams.gram[-1], (z @ z.T).numpy())


def _natural_crops(n=20, seed=0):
    from skimage import color, data, transform

    photos = [color.rgb2gray(data.astronaut()), data.camera() / 255, color.rgb2gray(data.coffee()),
              color.rgb2gray(data.chelsea()), color.rgb2gray(data.rocket())]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        photo = photos[i % len(photos)]
        h = int(photo.shape[0] * rng.uniform(0.3, 0.8))
        w = int(h * 1.25)
        y, x = rng.integers(0, photo.shape[0] - h + 1), rng.integers(0, photo.shape[1] - w + 1)
        crops.append(np.clip(transform.resize(photo[y:y + h, x:x + w], (96, 120)) * 255, 0, 255).astype(np.uint8))
    return np.stack(crops)


def test_projected_layer_rdms_correlate_above_0_99_with_the_exact_ones():
    model = model_zoo.create("alexnet", "random", seed=0)
    images = _natural_crops()
    exact = extract(model, images, layers="features.*", max_dim=10**9, run=Run(progress=False))
    reduced = extract(model, images, layers="features.*", run=Run(progress=False))
    assert reduced.reduced.all() and not exact.reduced.any() and reduced.n_units.min() > features.DEFAULT_MAX_DIM
    i, j = np.triu_indices(len(images), k=1)
    for k, name in enumerate(exact.names):
        a, b = exact.rdms()[k][i, j], reduced.rdms()[k][i, j]
        assert np.corrcoef(a, b)[0, 1] >= 0.99, name
        assert np.abs(a - b).max() < 0.06, name      # |Δ inner product| ≲ ε with ε ≈ 0.1 at k ≈ 4,096
    np.testing.assert_array_equal(reduced.unit_mean, exact.unit_mean)


def test_count_sketch_is_the_signed_fold_and_keeps_norms_on_average():
    d, p = 10_007, 97
    signs, ones = features.count_sketch(d, p, seed=1)
    assert set(signs.unique().tolist()) == {-1.0, 1.0} and abs(float(signs.mean())) < 0.03
    dense = np.zeros((p, d), np.float32)
    dense[np.arange(d) % p, np.arange(d)] = signs.numpy()
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(50, d)).astype(np.float32))
    np.testing.assert_allclose(features.sketch(x, signs, p).numpy(), x.numpy() @ dense.T, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ones.numpy(), dense.sum(axis=1))
    ratio = (features.sketch(x, signs, p).norm(dim=1) / x.norm(dim=1)) ** 2
    assert abs(float(ratio.mean()) - 1) < 0.05 and float((ratio - 1).abs().max()) < 0.6
    # one draw per (size, sketch size, seed) for the whole process; another seed, other signs
    assert features.count_sketch(d, p, seed=1)[0] is signs
    assert not torch.equal(features.count_sketch(d, p, seed=2)[0], signs)


def test_sketch_size_is_the_largest_prime_not_above_max_dim():
    assert [features.sketch_size(n) for n in (4096, 2048, 100, 13, 2, 1)] == [4093, 2039, 97, 13, 2, 1]


def test_models_share_one_sketch_per_layer_size():
    features.count_sketch.cache_clear()
    images = _images(4)
    for seed in (0, 1):  # two weight sets of one model: the same layer sizes, no new draw
        extract(model_zoo.create("squeezenet1_1", "random", seed=seed), images, layers="features.[0-3]*",
                max_dim=100, run=Run(progress=False))
    info = features.count_sketch.cache_info()
    assert info.hits > 0 and info.misses == info.currsize  # one draw per distinct layer size


def test_same_seed_bit_identical_different_seed_different():
    images = _images()
    a = extract(model_zoo.create("mobilenet_v2", "random", seed=1), images, layers="features.[1-3]", run=Run(progress=False))
    b = extract(model_zoo.create("mobilenet_v2", "random", seed=1), images, layers="features.[1-3]", run=Run(progress=False))
    c = extract(model_zoo.create("mobilenet_v2", "random", seed=2), images, layers="features.[1-3]", run=Run(progress=False))
    assert np.array_equal(a.gram, b.gram) and np.array_equal(a.unit_mean, b.unit_mean)
    assert not np.allclose(a.gram, c.gram)


def test_batching_does_not_change_results():
    model = model_zoo.create("resnet18", "random", seed=0)
    images = _images(10)
    one = extract(model, images, layers="layer4.*", run=Run(batch_size=10, progress=False))
    many = extract(model, images, layers="layer4.*", run=Run(batch_size=3, progress=False))
    np.testing.assert_allclose(one.gram, many.gram, rtol=1e-4, atol=1e-6)


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

    with pytest.raises(InvalidInput, match="match no layer of squeezenet1_1") as err:
        extract(model_zoo.create("squeezenet1_1", "random"), _images(2), layers="nope*", run=Run(progress=False))
    assert err.value.argument == "layers"


def test_device_choice(monkeypatch):
    from mouse_rsa.errors import InvalidInput
    from mouse_rsa.features import device

    assert features.resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(device, "_nvidia_driver", lambda: True)
    for available, expected in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda available=available: available)
        assert features.resolve_device(None).type == expected and features.resolve_device("auto").type == expected
    with pytest.raises(InvalidInput, match="no CUDA GPU is visible here; use --device auto or cpu") as err:
        features.resolve_device("cuda")
    assert err.value.argument == "device"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert features.resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(InvalidInput, match=r"device cuda:2 was asked for but only 2 CUDA GPU\(s\) \(cuda:0 to cuda:1\)"):
        features.resolve_device("cuda:2")
    with pytest.raises(InvalidInput, match="auto, cpu, cuda or cuda:N"):
        features.resolve_device("gpu")


def test_the_callers_module_is_put_back_where_it_was():
    """Extraction lends the module to its device and precision and gives it back as it found it."""
    model = model_zoo.create("squeezenet1_1", "random", seed=0)
    model.module.train()
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    extract(model, _images(3), layers="classifier.*", run=Run(precision="float64", progress=False))
    params = list(model.module.parameters())
    assert {p.dtype for p in params} == {torch.float32} and {p.device.type for p in params} == {"cpu"}
    assert model.module.training
    assert all(torch.equal(before[k], v) for k, v in model.module.state_dict().items())


def test_sketch_signs_are_kept_on_the_host_only():
    signs, ones = features.count_sketch(5000, 97, seed=3)
    assert signs.device.type == "cpu" and ones.device.type == "cpu"


def test_precisions_are_the_settings_and_fast_ones_stay_close():
    """tf32 is float32 on a CPU (TF32 is a GPU's); bfloat16 autocast keeps every RDM within 0.05 of float32's
    (r > 0.99)."""
    from mouse_rsa.features.placement import STORAGE
    from mouse_rsa.settings import PRECISIONS

    assert set(STORAGE) == set(PRECISIONS)
    model = model_zoo.create("resnet18", "random", seed=0)
    images = _natural_crops(12)
    got = {p: extract(model, images, layers=["layer3", "layer4", "avgpool"], run=Run(precision=p, progress=False))
           for p in ("float32", "tf32", "bfloat16")}
    assert np.array_equal(got["float32"].gram, got["tf32"].gram)
    i, j = np.triu_indices(len(images), k=1)
    for a, b in zip(got["float32"].rdms(), got["bfloat16"].rdms()):
        assert np.corrcoef(a[i, j], b[i, j])[0, 1] > 0.99 and np.abs(a - b).max() < 0.05
    assert not np.array_equal(got["float32"].gram, got["bfloat16"].gram)
