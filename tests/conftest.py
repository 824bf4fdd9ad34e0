"""Shared fixtures. Every test runs offline with private caches (no user cache is read or written)."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("caches")
    saved = {k: os.environ.get(k) for k in ("MOUSE_RSA_CACHE", "TORCH_HOME", "HF_HOME", "HF_HUB_CACHE")}
    os.environ["MOUSE_RSA_CACHE"] = str(root / "mouse-rsa")
    os.environ["TORCH_HOME"] = str(root / "torch")
    os.environ["HF_HOME"] = str(root / "hf")
    os.environ.pop("HF_HUB_CACHE", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped on a machine without a CUDA GPU."""
    from mouse_rsa.features.device import device_kind

    if device_kind("auto") != "cuda":
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def cpu_by_default():
    """Tests see no GPU (``auto`` is cpu), so that no test's numbers, and no cached file, depend on the
    machine's device; yields the real check, which ``gpu`` tests get back."""
    from mouse_rsa.features import device

    real = device._nvidia_driver
    device._nvidia_driver = lambda: False
    yield real
    device._nvidia_driver = real


@pytest.fixture(autouse=True)
def gpu_when_marked(request, cpu_by_default, monkeypatch):
    if request.node.get_closest_marker("gpu") is not None:
        from mouse_rsa.features import device

        monkeypatch.setattr(device, "_nvidia_driver", cpu_by_default)


@pytest.fixture(scope="session")
def demo():
    """The demo dataset (built once per test session into the private cache)."""
    from mouse_rsa.data import load_dataset

    return load_dataset("demo")


@pytest.fixture
def no_download(monkeypatch):
    """Make every torch.hub download fail as it does without a network."""
    import urllib.error

    import torch.hub

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


DEMO_MODELS = ["mobilenet_v2", "gabor", "pixels", "random_features"]


@pytest.fixture(scope="session")
def demo_results(demo, tmp_path_factory):
    """Both methods on the demo for mobilenet_v2 (random) and the three baselines, written to disk: RSA with
    the default 100 permutations of its chance level, encoding with 20 (its null refits every cell)."""
    import warnings

    from mouse_rsa import benchmark
    from mouse_rsa.units import BaselineWeightsWarning

    out = tmp_path_factory.mktemp("demo_results")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWeightsWarning)
        benchmark(DEMO_MODELS, weights="random", methods="rsa", out=out, progress=False, dataset="demo")
        benchmark(DEMO_MODELS, weights="random", methods="encoding", out=out, progress=False, dataset="demo",
                  permutations=20)
    return out


@pytest.fixture(scope="session")
def demo_scores(demo_results):
    from mouse_rsa.results import read_scores

    return read_scores(demo_results)


@pytest.fixture(scope="session")
def synthetic_site(tmp_path_factory):
    """(results directory, the report's index.html) of the synthetic study, made with the test catalogue
    (patched while it is made only; tests that read the catalogue again patch it themselves)."""
    from report_fixtures import make_results
    from test_analysis import catalogue

    import model_zoo
    from mouse_rsa.report import build

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_zoo, "catalogue", catalogue)
        root = make_results(tmp_path_factory.mktemp("report_results"))
        index = build(root)
    return root, index


@pytest.fixture(scope="session")
def demo_neuropixels():
    """The spiking demo (built once per test session into the private cache)."""
    from mouse_rsa.data import load_dataset

    return load_dataset("demo-neuropixels")


@pytest.fixture(scope="session")
def modality_results(demo_results, demo_neuropixels, tmp_path_factory):
    """One results directory with two modalities: ``demo_results`` (2-photon demo) and the same models,
    weights and methods on the spiking demo."""
    import shutil
    import warnings

    from mouse_rsa import benchmark
    from mouse_rsa.units import BaselineWeightsWarning

    out = tmp_path_factory.mktemp("modalities") / "results"
    shutil.copytree(demo_results / "demo", out / "demo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWeightsWarning)
        benchmark(["mobilenet_v2", "gabor", "pixels", "random_features"], weights="random", methods=["rsa", "encoding"], out=out,
                  progress=False, dataset="demo-neuropixels")
    return out
