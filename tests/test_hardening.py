"""One test per cause of the hardening issue: stale resume, non-numbers, misleading scores, caches,
tracebacks, labels and file hygiene. The README's bad-input table lists the same probes."""
import os
import stat
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import unit_file

from mouse_rsa import results, runner
from mouse_rsa.cli import main
from mouse_rsa.leaderboard import rank
from mouse_rsa.methods.base import signed_r2
from mouse_rsa.rdm import rdm
from mouse_rsa.results import MalformedResultWarning


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_exit_2(capsys, *argv):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("mouse-rsa: error: "), err
    return err


BASE = ["benchmark", "--model", "pixels", "--dataset", "demo", "--quiet"]


# 1. stale results ---------------------------------------------------------------------------------
@pytest.mark.parametrize("option,value", [
    ("--reliability-threshold", "0.8"), ("--min-cells", "12"), ("--layers", "pix*"), ("--max-dim", "512"),
    ("--folds", "4"), ("--repeats", "2"), ("--seed", "1"), ("--reliability-splits", "4"),
])
def test_resume_recomputes_a_unit_made_with_other_settings(capsys, tmp_path, demo, option, value):
    out = str(tmp_path / "res")
    assert run(capsys, *BASE, "--out", out)[0] == 0
    assert run(capsys, *BASE, "--out", out, "--resume", option, value)[0] == 0
    resumed = results.read_scores(out)
    fresh_dir = str(tmp_path / "fresh")
    assert run(capsys, *BASE, "--out", fresh_dir, option, value)[0] == 0
    fresh = results.read_scores(fresh_dir)
    changed = resumed[resumed["unit_key"] == fresh["unit_key"][0]]
    assert len(changed) == len(fresh)
    pd.testing.assert_frame_equal(changed.reset_index(drop=True), fresh)


def test_resume_reuses_a_whole_unit_and_redoes_one_that_lost_rows(capsys, tmp_path, demo, monkeypatch):
    out = tmp_path / "res"
    assert run(capsys, *BASE, "--out", str(out))[0] == 0
    scores = unit_file(out / "demo" / "pixels", "fixed-seed0-all-rsa_nnls", "scores.csv")
    before = scores.read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished unit was recomputed")

    monkeypatch.setattr(runner, "run_units", must_not_run)
    code, stdout, err = run(capsys, *BASE, "--out", str(out), "--resume")
    assert code == 0 and "1 finished unit(s) reused" in stdout, err
    scores.write_text("\n".join(before.splitlines()[:-3]) + "\n")  # three sites lost
    monkeypatch.undo()
    assert run(capsys, *BASE, "--out", str(out), "--resume")[0] == 0
    assert scores.read_text() == before


# 2. results that are not numbers ------------------------------------------------------------------
@pytest.mark.parametrize("option,value,flag", [
    ("--repeats", "0", "--repeats"), ("--folds", "1", "--folds"), ("--folds", "200", "--folds"),
    ("--seed", "-1", "--seed"), ("--batch-size", "0", "--batch-size"), ("--max-dim", "0", "--max-dim"),
    ("--min-cells", "0", "--min-cells"), ("--reliability-threshold", "nan", "--reliability-threshold"),
])
def test_bad_numeric_options_are_one_line_before_any_work(capsys, tmp_path, demo, option, value, flag):
    """(``demo``: built beforehand, so its one note on stderr is not part of the error.)"""
    err = one_line_exit_2(capsys, *BASE, "--out", str(tmp_path / "o"), option, value)
    assert flag in err
    assert not (tmp_path / "o").exists()


def test_leaderboard_ranks_the_good_units_and_names_the_bad_file(capsys, tmp_path, demo):
    out = tmp_path / "res"
    assert run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--quiet", "--out",
               str(out))[0] == 0
    bad = unit_file(out / "demo" / "gabor", "fixed-seed0-all-rsa_nnls", "scores.csv")
    bad.write_text(bad.read_text().replace("VISp", "NaN", 1))
    stray = out / "demo" / "old" / "random-seed0-rsa.scores.csv"  # header-only file of an older layout
    stray.parent.mkdir()
    stray.write_text(",".join(results.SCORE_COLUMNS) + "\n")
    with pytest.warns(MalformedResultWarning) as caught:
        table = rank(out)
    assert list(table["model"]) == ["pixels"]
    named = " ".join(str(w.message) for w in caught)
    assert str(bad.with_suffix("").with_suffix(".unit.json")) in named and str(stray) in named
    code, stdout, err = run(capsys, "leaderboard", str(out))
    assert code == 0 and "pixels" in stdout and "gabor" in err


def test_leaderboard_on_nothing_whole_is_one_line(capsys, tmp_path):
    (tmp_path / "x.scores.csv").write_text("dataset,model\n")
    one_line_exit_2(capsys, "leaderboard", str(tmp_path))
    one_line_exit_2(capsys, "leaderboard", str(tmp_path / "missing"))


# 3. scores that mean what they say ----------------------------------------------------------------
def test_signed_r2_is_never_positive_for_a_negative_r():
    r = np.array([-0.088, 0.0, 0.5])
    np.testing.assert_allclose(signed_r2(r), [-0.088 ** 2, 0.0, 0.25])


def _stimuli(directory, n=12):
    from PIL import Image

    directory.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, 32, 32), dtype=np.uint8)
    for k, image in enumerate(images):
        Image.fromarray(image).save(directory / f"s{k:02d}.png")
    return images


def test_a_site_predicted_inversely_gets_a_negative_score_r2(capsys, tmp_path):
    import model_zoo

    images = _stimuli(tmp_path / "stim")
    pixels = model_zoo.create("pixels", "fixed")
    x = pixels.module(pixels.preprocess(images)).numpy()
    inverse = 2.0 - rdm(x)  # the pixel RDM turned upside down
    np.fill_diagonal(inverse, 0)
    np.savez(tmp_path / "r.npz", VISp_L23=inverse, VISp_L23_ceiling=np.float64(0.5))
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "--stimuli", str(tmp_path / "stim"),
                       "--neural-rdms", str(tmp_path / "r.npz"), "--folds", "3", "--out", str(tmp_path / "o"),
                       "--quiet")
    assert code == 0, err
    row = results.read_scores(tmp_path / "o").iloc[0]
    # no layer can carry non-negative weight on an inverse RDM: r is 0 by rule, never a positive r²
    assert row["score"] <= 0 and row["score_r2"] == pytest.approx(np.sign(row["score"]) * row["score"] ** 2)
    assert row["score_r2"] <= 0
    assert row["score_normalized"] == pytest.approx(row["score_r2"] / 0.5)


@pytest.mark.parametrize("ceiling,needle", [
    (np.array("high"), "VISp_L23_ceiling must be one number in [0, 1]"),
    (np.array([0.5, 0.6]), "VISp_L23_ceiling must be one number"),
    (np.float64(1.5), "VISp_L23_ceiling must be one number"),
])
def test_bad_ceilings_are_rejected(capsys, tmp_path, ceiling, needle):
    _stimuli(tmp_path / "stim")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "r.npz", VISp_L23=rdm(rng.normal(size=(12, 5))), VISp_L23_ceiling=ceiling)
    err = one_line_exit_2(capsys, "benchmark", "--model", "pixels", "--stimuli", str(tmp_path / "stim"),
                          "--neural-rdms", str(tmp_path / "r.npz"), "--out", str(tmp_path / "o"))
    assert needle in err and not (tmp_path / "o").exists()


# 4. caches that rebuild ---------------------------------------------------------------------------
def test_a_corrupt_cached_demo_is_rebuilt(tmp_path, monkeypatch):
    from mouse_rsa.data import demo as demo_module

    good = demo_module.demo_path()
    copy = tmp_path / "demo.h5"
    copy.write_bytes(good.read_bytes())
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(demo_module, "demo_path", lambda: copy)
    monkeypatch.setattr(demo_module, "build_demo", lambda: demo_module.load(good))
    with pytest.warns(UserWarning, match="rebuilding"):
        ds = demo_module.load_demo()
    assert ds.content_hash() == demo_module.load(copy).content_hash()


def test_an_output_under_a_regular_file_fails_before_any_work(capsys, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")

    def must_not_run(*args, **kwargs):
        raise AssertionError("computed before checking the output directory")

    monkeypatch.setattr(runner, "run_units", must_not_run)
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        assert "--out" in one_line_exit_2(capsys, *BASE, "--out", str(out))


def test_an_unwritable_cache_fails_before_any_work(capsys, tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("")
    monkeypatch.setenv("MOUSE_RSA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runner, "prepare_targets", lambda units: pytest.fail("work started"))
    err = one_line_exit_2(capsys, *BASE, "--out", str(tmp_path / "o"))
    assert "MOUSE_RSA_CACHE" in err


# 5. tracebacks for bad input ----------------------------------------------------------------------
def test_bad_rdm_inputs_are_one_line(capsys, tmp_path):
    _stimuli(tmp_path / "stim")
    rng = np.random.default_rng(0)
    good = rdm(rng.normal(size=(12, 5)))
    np.savez(tmp_path / "ok.npz", VISp_L23=good)
    truncated = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(truncated[: len(truncated) // 2])
    np.savez(tmp_path / "constant.npz", VISp_L23=np.ones((12, 12)) - np.eye(12))
    np.savez(tmp_path / "badkey.npz", V1=good)
    np.savez(tmp_path / "wrongsize.npz", VISp_L23=rdm(rng.normal(size=(10, 5))))
    for name, needle in (("truncated.npz", "not a readable .npz"), ("constant.npz", "is constant"),
                         ("badkey.npz", "unknown site key 'V1'"), ("wrongsize.npz", "has 12 images")):
        err = one_line_exit_2(capsys, "benchmark", "--model", "pixels", "--stimuli", str(tmp_path / "stim"),
                              "--neural-rdms", str(tmp_path / name), "--out", str(tmp_path / "o"), "--quiet")
        assert needle in err and "--neural-rdms" in err
    assert not (tmp_path / "o").exists()
    assert "--neural-rdms" in one_line_exit_2(capsys, "benchmark", "--model", "pixels",
                                              "--stimuli", str(tmp_path / "stim"), "--out", str(tmp_path / "o"))


def test_one_trial_per_stimulus_is_one_line(capsys, tmp_path, demo):
    from mouse_rsa.data import NeuralDataset, save

    one = NeuralDataset("one", demo.stimuli, demo.stimulus_ids, demo.responses[:, :1], demo.cells)
    save(one, tmp_path / "one.h5")
    assert "at least 2 trials" in one_line_exit_2(capsys, *BASE[:3], "--dataset", str(tmp_path / "one.h5"))


@pytest.mark.parametrize("argv,needle", [
    (["dataset", "info", "nope"], "unknown dataset"),
    (["benchmark", "--model", "resnet_18", "--dataset", "demo"], "did you mean"),
    (["benchmark", "--model", "gabor", "--dataset", "allen"], "mouse-rsa dataset fetch allen"),
    (["benchmark", "--model", "alexnet", "--weights", "random", "--weights-file", "x.pth", "--dataset", "demo"],
     "--weights-file"),
])
def test_other_bad_input_is_one_line(capsys, argv, needle):
    assert needle in one_line_exit_2(capsys, *argv)


# 6. labels ----------------------------------------------------------------------------------------
def test_baselines_run_beside_random_networks(capsys, tmp_path, demo):
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "random_features", "--weights", "random",
                       "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 0 and "pixels has only fixed weights; running those" in err
    assert set(results.read_scores(tmp_path)["weights"]) == {"fixed", "random"}


def test_interrupt_names_resume(capsys, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_units", interrupted)
    code, _, err = run(capsys, *BASE, "--out", str(tmp_path))
    assert code == 130 and "--resume" in err


# 7. hygiene ---------------------------------------------------------------------------------------
def test_outputs_follow_the_umask_and_stale_temporaries_are_removed(tmp_path):
    from mouse_rsa.cache import _host, atomic_path

    final = tmp_path / "a.csv"
    dead = tmp_path / f".a.csv.{_host()}.999999999.abc.csv"
    dead.write_text("half")
    old = os.umask(0o022)
    try:
        with warnings.catch_warnings(), atomic_path(final) as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(final.stat().st_mode) == 0o644 and not dead.exists()
