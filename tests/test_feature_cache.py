"""The feature cache: found from the request alone, reused without building the model, rebuilt when damaged."""
import subprocess
import sys

import numpy as np
import pytest

import model_zoo
from mouse_rsa import feature_cache, features
from mouse_rsa.settings import Settings
from mouse_rsa.units import Unit, unit_features


def _images(n=12, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 20, 24), dtype=np.uint8)


def _unit(**settings):
    return Unit("squeezenet1_1", "random", "rsa", Settings(**{"layers": "classifier.*", **settings}))


def _no_build(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("built or extracted although cached")

    monkeypatch.setattr(model_zoo, "create", boom)
    monkeypatch.setattr(features, "extract", boom)


def test_cached_features_are_read_without_building_the_model(monkeypatch):
    unit, images = _unit(), _images()
    first, timings = unit_features(unit, images, progress=False)
    assert feature_cache.path_for(unit, images).exists() and timings["build_s"] > 0
    _no_build(monkeypatch)
    again, timings = unit_features(unit, images, progress=False)
    assert timings["build_s"] == 0.0
    for field in ("gram", "unit_mean", "n_units", "reduced"):
        np.testing.assert_array_equal(getattr(again, field), getattr(first, field))
    assert again.names == first.names


@pytest.mark.parametrize("change", [
    {"seed": 1}, {"max_dim": 100}, {"layers": "features.1*"}, {"layers": "latent"}, {"batch_size": 3},
    {"device": "cpu"}, {"folds": 3},
])
def test_every_setting_that_changes_features_changes_the_file(change):
    base = feature_cache.path_for(_unit(), _images())
    other = feature_cache.path_for(_unit(**change), _images())
    same = {"batch_size", "device", "folds"}  # how the run goes, or what scoring does: not the features
    assert (other == base) == (set(change) <= same)


def test_other_stimuli_weights_or_model_use_another_file():
    base = feature_cache.path_for(_unit(), _images())
    assert feature_cache.path_for(_unit(), _images(seed=1)) != base
    assert feature_cache.path_for(Unit("squeezenet1_1", "pretrained", "rsa", _unit().settings), _images()) != base
    assert feature_cache.path_for(Unit("squeezenet1_0", "random", "rsa", _unit().settings), _images()) != base


def test_without_the_cache_nothing_is_read_or_written(monkeypatch):
    unit = _unit(use_cache=False, seed=7)  # a file no other test writes
    path = feature_cache.path_for(unit, _images())
    unit_features(unit, _images(), progress=False)
    assert not path.exists()


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_a_bit(data: bytes) -> bytes:
    i = len(data) // 2  # inside the gram array's bytes
    return data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:]


def _wrong_schema(data: bytes) -> bytes:
    import io

    with np.load(io.BytesIO(data)) as f:
        arrays = dict(f)
    arrays["schema"] = np.int64(-1)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


@pytest.mark.parametrize("damage", [_truncate, _flip_a_bit, _wrong_schema, lambda data: b"corrupt", lambda data: b""])
def test_an_unreadable_cache_file_is_rebuilt_with_identical_results(damage):
    unit, images = _unit(layers="features.1*"), _images()
    first, _ = unit_features(unit, images, progress=False)
    path = feature_cache.path_for(unit, images)
    path.write_bytes(damage(path.read_bytes()))
    assert feature_cache.load(path) is None
    rebuilt, _ = unit_features(unit, images, progress=False)
    for field in ("gram", "unit_mean", "n_units", "reduced"):
        np.testing.assert_array_equal(getattr(rebuilt, field), getattr(first, field))
    assert rebuilt.names == first.names and feature_cache.load(path) is not None


def test_a_repeated_benchmark_scores_cached_features_without_importing_torch(tmp_path, demo):
    args = ["benchmark", "--model", "squeezenet1_1", "--weights", "random", "--dataset", "demo", "--quiet"]
    code = ("import sys; from mouse_rsa.cli import main; code = main(sys.argv[1:]); "
            "print(code, 'torch' in sys.modules, 'torchvision' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code, *args, "--out", str(tmp_path / name)], capture_output=True,
                           text=True, check=True).stdout.splitlines()[-1].split() for name in ("first", "again")]
    assert runs == [["0", "True", "True"], ["0", "False", "False"]]
    scores = [(tmp_path / name).rglob("*scores.csv") for name in ("first", "again")]
    assert [p.read_bytes() for p in sorted(scores[0])] == [p.read_bytes() for p in sorted(scores[1])]
