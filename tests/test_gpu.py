"""What only a CUDA GPU can show (marked ``gpu``: skipped without one): extraction and scoring on the device
agree with the CPU's, the caller's model comes back to the host, and the device's memory is given back."""
import numpy as np
import pytest
import torch
from test_arrays import _problem

import model_zoo
from mouse_rsa import arrays
from mouse_rsa.features import Run, extract
from mouse_rsa.methods import encoding_ridge

pytestmark = pytest.mark.gpu


def _images(n=24, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 64, 64), dtype=np.uint8)


def test_extraction_on_the_gpu_agrees_with_the_cpu_and_gives_everything_back():
    model = model_zoo.create("resnet18", "random", seed=0)
    images = _images()
    cpu = extract(model, images, run=Run(device="cpu", precision="float64", progress=False))
    torch.cuda.reset_peak_memory_stats()
    gpu = extract(model, images, run=Run(device="cuda", precision="float64", progress=False))
    assert {p.device.type for p in model.module.parameters()} == {"cpu"}
    assert {p.dtype for p in model.module.parameters()} == {torch.float32}
    assert torch.cuda.memory_allocated() < 2**26  # the model and its patterns released (cuBLAS keeps a workspace)
    assert gpu.names == cpu.names
    np.testing.assert_allclose(gpu.rdms(), cpu.rdms(), atol=1e-9)
    fast = extract(model, images, run=Run(device="cuda", precision="float32", progress=False))
    np.testing.assert_allclose(fast.rdms(), cpu.rdms(), atol=1e-4)


@pytest.mark.parametrize("precision", ["tf32", "bfloat16"])
def test_fast_precisions_on_the_gpu_keep_the_rdms(precision):
    model = model_zoo.create("resnet18", "random", seed=0)
    images = _images()
    exact = extract(model, images, run=Run(device="cuda", progress=False))
    fast = extract(model, images, run=Run(device="cuda", precision=precision, progress=False))
    i, j = np.triu_indices(len(images), k=1)
    for a, b in zip(exact.rdms(), fast.rdms()):
        assert np.corrcoef(a[i, j], b[i, j])[0, 1] > 0.99


def test_encoding_on_the_gpu_agrees_with_numpy():
    grams, responses, partitions, orders = _problem()
    host = encoding_ridge.encode(grams, responses, partitions, null_orders=orders)
    gpu = encoding_ridge.encode(grams, responses, partitions, null_orders=orders, device="cuda")
    for name in ("layer_r", "nested_r", "null"):
        np.testing.assert_allclose(getattr(gpu, name), getattr(host, name), rtol=0, atol=1e-8, err_msg=name)
    assert arrays.scoring_device("auto") == "cuda"


def test_a_whole_unit_runs_and_is_keyed_on_the_gpu(tmp_path, demo):
    from mouse_rsa import benchmark

    cpu = benchmark("mobilenet_v2", weights="random", methods="all", out=None, progress=False, dataset="demo",
                    device="cpu", use_cache=False)
    gpu = benchmark("mobilenet_v2", weights="random", methods="all", out=tmp_path, progress=False, dataset="demo",
                    device="cuda", use_cache=False)
    assert set(gpu.scores["device"]) == {"cuda"} and set(cpu.scores["device"]) == {"cpu"}
    np.testing.assert_allclose(gpu.scores["score"], cpu.scores["score"], atol=1e-3)
