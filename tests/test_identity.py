"""One result, one identity: independent seeds, units that never overwrite, a code version that cannot go stale."""
import shutil
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from mouse_rsa import results, version
from mouse_rsa.cli import main
from mouse_rsa.features import cache as feature_cache
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.runner import benchmark
from mouse_rsa.settings import Settings
from mouse_rsa.units import BaselineWeightsWarning, Unit, plan, prepare_targets

ROOT = Path(__file__).resolve().parent.parent


def _quiet_benchmark(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWeightsWarning)
        return benchmark(*args, progress=False, **kwargs)


def test_model_seeds_share_one_target_and_one_set_of_folds(demo):
    units = plan(["random_features"], Settings(dataset="demo"), weights="random", seeds=[0, 1, 2])
    targets = prepare_targets(units)
    assert len(targets) == 1  # the neural target never depends on the model seed
    (target,) = targets.values()
    keys = [u.key(target) for u in units]
    assert len({k["targets_key"] for k in keys}) == 1 and len({k["unit_key"] for k in keys}) == 3
    assert len({k["settings_key"] for k in keys}) == 1  # the three seeds are replicates of one comparison
    folds = [stimulus_folds(target.n_stimuli, u.settings.folds, u.settings.repeats, u.settings.cv_seed) for u in units]
    assert all(np.array_equal(a, b) for other in folds[1:] for a, b in zip(folds[0][0], other[0]))
    other_cv = plan(["random_features"], Settings(dataset="demo", cv_seed=1), weights="random")
    assert other_cv[0].key(target)["settings_key"] != keys[0]["settings_key"]


def test_changing_only_the_model_seed_changes_no_target_file(tmp_path, demo):
    from mouse_rsa.cache import cache_dir

    def target_files():
        files = list((tmp_path / "demo").glob("targets-*.npz")) + list(cache_dir("targets").rglob("*.npz"))
        return {p: p.read_bytes() for p in files}

    first = _quiet_benchmark("random_features", weights="random", dataset="demo", out=tmp_path, seeds=[0])
    before = target_files()
    second = _quiet_benchmark("random_features", weights="random", dataset="demo", out=tmp_path, seeds=[1])
    assert target_files() == before
    assert set(first.scores["targets_key"]) == set(second.scores["targets_key"])
    site_rdms = results.read_site_rdms(tmp_path, "demo", first.scores["targets_key"][0])
    assert len(site_rdms[0]) == len(first.scores) == len(second.scores)
    assert not np.allclose(first.scores["score"], second.scores["score"])  # other random features, same brain


def test_runs_with_other_settings_never_overwrite_each_other(capsys, tmp_path, demo):
    out = str(tmp_path / "res")
    base = ["benchmark", "--model", "pixels", "--dataset", "demo", "--out", out, "--quiet"]
    assert main([*base, "--folds", "6"]) == 0 and main([*base, "--folds", "10"]) == 0
    capsys.readouterr()
    units = results.whole_units(out)
    assert len(units) == 2 and {r["key"]["folds"] for _, r in units} == {6, 10}
    scores = results.read_scores(out)
    assert scores.groupby("folds").size().to_dict() == {6: 21, 10: 21}
    assert main(["leaderboard", out]) == 0
    table = pd.read_csv(Path(out) / "leaderboard.csv")
    assert sorted(table["settings"]) == ["folds=10", "folds=6"] and (table["rank"] == 1).all()
    assert "folds=10" in capsys.readouterr().out


def test_three_model_seeds_are_three_units_against_one_target(capsys, tmp_path, demo):
    out = tmp_path / "seeds"
    code = main(["benchmark", "--model", "alexnet", "--weights", "random", "--seeds", "0", "1", "2", "--dataset",
                 "demo", "--out", str(out), "--quiet"])
    assert code == 0
    scores = results.read_scores(out)
    assert sorted(scores["model_seed"].unique()) == [0, 1, 2] and scores["unit_key"].nunique() == 3
    assert scores["targets_key"].nunique() == 1 and scores["cv_seed"].nunique() == 1
    per_seed = scores.pivot_table(index="site", columns="model_seed", values="score")
    assert not np.allclose(per_seed[0], per_seed[1]) and not np.allclose(per_seed[1], per_seed[2])
    assert len(list((out / "demo").glob("targets-*.npz"))) == 1


def test_rows_carry_the_installed_version_and_the_code_fingerprint(demo_scores):
    assert set(demo_scores["code_version"]) == {metadata.version("mouse-rsa")}
    assert set(demo_scores["code_fingerprint"]) == {version.code_fingerprint()}
    import mouse_rsa

    assert mouse_rsa.__version__ == metadata.version("mouse-rsa")


def _source_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "src"
    for package in ("mouse_rsa", "model_zoo"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_fingerprint_follows_the_numeric_code_only(tmp_path):
    copy = _source_copy(tmp_path)
    base = version.code_fingerprint(copy)
    assert base == version.code_fingerprint(ROOT)

    def changed(path: str, text: str) -> str:
        target = copy / path
        original = target.read_text()
        target.write_text(original + text)
        try:
            return version.code_fingerprint.__wrapped__(copy)
        finally:
            target.write_text(original)

    for numeric in ("mouse_rsa/methods/rsa_nnls.py", "mouse_rsa/methods/nnls.py", "mouse_rsa/features/extraction.py",
                    "mouse_rsa/neural/reliability.py", "model_zoo/sources/baselines.py"):
        assert changed(numeric, "\nJITTER_EXTRA = 1\n") != base, numeric
    for other in ("mouse_rsa/cli.py", "mouse_rsa/figures/zoo.py", "mouse_rsa/leaderboard.py", "model_zoo/presets.py"):
        assert changed(other, "\nEXTRA = 1\n") == base, other
    assert changed("mouse_rsa/methods/rsa_nnls.py", "\n# a comment\n") == base  # comments and layout do not count


def test_changed_numeric_code_invalidates_resume_and_both_caches(tmp_path, demo, monkeypatch):
    from mouse_rsa.neural import targets as targets_module

    settings = Settings(dataset="demo", layers="features.1*")
    unit = Unit("squeezenet1_1", "random", "rsa", settings)
    out = tmp_path / "res"
    benchmark("squeezenet1_1", settings, weights="random", out=out, progress=False)
    target = targets_module.load_targets(settings)
    key, feature_file = unit.key(target), feature_cache.path_for(unit, target.stimuli)
    assert results.finished(out, key) and feature_file.exists()
    monkeypatch.setattr(version, "code_fingerprint", lambda root=None: "0" * 12)  # as if a method had changed
    changed_target = targets_module.load_targets(settings)
    assert changed_target.key != target.key                        # the targets cache is keyed by the code too
    changed_key = unit.key(changed_target)
    assert changed_key["unit_key"] != key["unit_key"] and not results.finished(out, changed_key)
    assert feature_cache.path_for(unit, target.stimuli) != feature_file
    rerun = benchmark("squeezenet1_1", settings, weights="random", out=out, progress=False, resume=True)
    assert rerun.reused == 0 and set(rerun.scores["code_fingerprint"]) == {"0" * 12}
    assert len(results.whole_units(out)) == 2                     # the older unit is kept, not overwritten
