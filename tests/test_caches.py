"""The caches: features found from the request alone and reused without building the model; the reliable-cell
selection reused per dataset content and settings; both rebuilt when damaged, neither used under --no-cache."""
import subprocess
import sys

import numpy as np
import pytest

import model_zoo
from mouse_rsa import features
from mouse_rsa.cache import cache_dir, load_checked
from mouse_rsa.features import cache as feature_cache
from mouse_rsa.neural import targets
from mouse_rsa.runner import unit_features
from mouse_rsa.settings import Settings
from mouse_rsa.units import Unit


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
    {"model_seed": 1}, {"precision": "float64"}, {"max_dim": 100}, {"layers": "features.1*"}, {"layers": "latent"}, {"batch_size": 3},
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
    unit = _unit(use_cache=False, model_seed=7)  # a file no other test writes
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
    args = ["benchmark", "--model", "squeezenet1_1", "--weights", "random", "--dataset", "demo", "--quiet",
            "--seed", "5"]  # features no other test caches: the first run must build the model
    code = ("import sys; from mouse_rsa.cli import main; code = main(sys.argv[1:]); "
            "print(code, 'torch' in sys.modules, 'torchvision' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code, *args, "--out", str(tmp_path / name)], capture_output=True,
                           text=True, check=True).stdout.splitlines()[-1].split() for name in ("first", "again")]
    assert runs == [["0", "True", "True"], ["0", "False", "False"]]
    first, again = (sorted((tmp_path / name).rglob("*scores.csv")) for name in ("first", "again"))
    assert first and [p.read_bytes() for p in first] == [p.read_bytes() for p in again]


def _same_targets(a, b):
    assert (a.key, a.content_hash, a.name) == (b.key, b.content_hash, b.name)
    for x, y in zip(a.sites, b.sites, strict=True):
        assert (x.key, x.n_cells, x.ceiling) == (y.key, y.n_cells, y.ceiling)
        np.testing.assert_array_equal(x.rdm, y.rdm)
    for field in ("cell_means", "cell_reliability", "cell_site", "stimuli"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_the_site_selection_is_computed_once_per_dataset_and_settings(demo, monkeypatch):
    settings = Settings(dataset="demo", min_cells=11)  # a key no other test uses
    first = targets.dataset_targets(demo, settings)
    assert cache_dir("targets", "demo", f"{first.key}.npz").exists()

    def boom(*args, **kwargs):
        raise AssertionError("reselected although cached")

    monkeypatch.setattr(targets, "select_sites", boom)
    _same_targets(targets.dataset_targets(demo, settings), first)
    with pytest.raises(AssertionError, match="reselected"):  # other settings, another selection
        targets.dataset_targets(demo, Settings(dataset="demo", min_cells=11, reliability_threshold=0.7))


def test_a_cached_selection_equals_a_fresh_one_and_a_damaged_file_is_rebuilt(demo):
    settings = Settings(dataset="demo", min_cells=13)  # a selection no other test caches
    fresh = targets.dataset_targets(demo, Settings(dataset="demo", min_cells=13, use_cache=False))
    assert not cache_dir("targets", "demo", f"{fresh.key}.npz").exists()  # --no-cache writes nothing
    targets.dataset_targets(demo, settings)
    path = cache_dir("targets", "demo", f"{fresh.key}.npz")
    _same_targets(targets.dataset_targets(demo, settings), fresh)
    path.write_bytes(_flip_a_bit(path.read_bytes()))
    assert load_checked(path, targets.TARGETS_SCHEMA) is None
    _same_targets(targets.dataset_targets(demo, settings), fresh)
    _same_targets(targets.dataset_targets(demo, settings), fresh)  # and the rebuilt file reads back
