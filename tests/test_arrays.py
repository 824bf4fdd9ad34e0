"""The scoring's two array paths: numpy on the host and torch (on the CPU here; on a GPU in test_gpu.py)."""
import numpy as np
import pytest

from mouse_rsa import arrays
from mouse_rsa.features.grams import LayerGrams
from mouse_rsa.methods import encoding_ridge
from mouse_rsa.methods.folds import stimulus_folds


def _problem(n=36, cells=9, seed=0):
    """Three layers of random features (one of them low-rank) and cells that read out the first."""
    rng = np.random.default_rng(seed)
    feats = [rng.normal(size=(n, 50)), rng.normal(size=(n, 4)) @ rng.normal(size=(4, 30)), rng.normal(size=(n, 80))]
    centred = [f - f.mean(axis=1, keepdims=True) for f in feats]
    grams = LayerGrams(["a", "b", "c"], np.stack([c @ c.T for c in centred]), np.stack([f.mean(axis=1) for f in feats]),
                       np.array([50, 30, 80]), np.zeros(3, bool))
    responses = feats[0] @ rng.normal(size=(50, cells)) * 0.1 + rng.normal(size=(n, cells))
    orders = np.stack([rng.permutation(n) for _ in range(3)])
    return grams, responses, stimulus_folds(n, 4, 2, seed), orders


@pytest.mark.parametrize("criterion", ["loo", "gcv"])
def test_encoding_on_torch_equals_numpy(criterion):
    grams, responses, partitions, orders = _problem()
    host = encoding_ridge.encode(grams, responses, partitions, criterion=criterion, null_orders=orders)
    torch_cpu = encoding_ridge.encode(grams, responses, partitions, criterion=criterion, null_orders=orders,
                                      device=arrays.TORCH_CPU)
    for name in ("layer_r", "nested_r", "alpha_at_edge", "null"):
        np.testing.assert_allclose(getattr(torch_cpu, name), getattr(host, name), rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(torch_cpu.predictions, host.predictions, rtol=1e-6)  # stored as float32
    assert np.abs(host.nested_r).max() > 0.2 and host.null.shape == (3, 9)


def test_units_score_with_numpy_on_a_cpu_and_torch_on_their_gpu(monkeypatch):
    import torch

    from mouse_rsa.features import device

    assert arrays.scoring_device("cpu") is None and arrays.scoring_device("auto") is None  # no GPU here
    monkeypatch.setattr(device, "_nvidia_driver", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert arrays.scoring_device("auto") == "cuda" and arrays.scoring_device("cuda:1") == "cuda:1"
    assert arrays.scoring_device("cpu") is None


def test_arrays_go_there_and_back():
    x = np.arange(6.0).reshape(2, 3)
    assert arrays.on(x, None).dtype == np.float64
    moved = arrays.on(x, arrays.TORCH_CPU)
    assert type(moved).__name__ == "Tensor" and str(moved.dtype) == "torch.float64"
    np.testing.assert_array_equal(arrays.host(moved), x)
    assert arrays.namespace(moved) is not arrays.namespace(x)
