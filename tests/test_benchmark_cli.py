import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import model_zoo
from mouse_rsa.benchmark import LAYER_COLUMNS, SCORE_COLUMNS, benchmark
from mouse_rsa.cli import main
from mouse_rsa.leaderboard import leaderboard
from mouse_rsa.rdm import rdm


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "mouse_rsa.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("dataset", "models", "layers", "benchmark", "leaderboard", "compare"):
        assert command in out.stdout


def test_dataset_info_demo_json(capsys, demo):
    code, out, _ = run(capsys, "dataset", "info", "demo", "--json")
    info = json.loads(out)
    assert code == 0 and info["n_stimuli"] == 118 and info["n_sites"] == 21 and len(info["sites"]) == 21
    assert info["n_cells"] == demo.n_cells and 0 < info["n_reliable_cells"] < demo.n_cells
    assert all(0 < s["ceiling"] <= 1 for s in info["sites"])


@pytest.mark.parametrize("argv,needle", [
    (["dataset", "info", "nope"], "unknown dataset"),
    (["dataset", "info", "missing.h5"], "does not exist"),
    (["benchmark", "--model", "resnet_18", "--dataset", "demo"], "did you mean"),
    (["benchmark", "--model", "gabor", "--dataset", "allen"], "mouse-rsa dataset fetch allen"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_corrupt_dataset_file(capsys, tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    code, _, err = run(capsys, "dataset", "info", str(path))
    assert code == 2 and "broken.h5" in err and len(err.strip().splitlines()) == 1


def test_benchmark_writes_tidy_tables_and_leaderboard_never_duplicates(capsys, tmp_path, demo):
    out = tmp_path / "results"
    code, stdout, _ = run(capsys, "benchmark", "--model", "gabor", "--dataset", "demo", "--method", "all",
                          "--out", str(out), "--quiet", "--seed", "3")
    assert code == 0 and "VISp_L23" in stdout
    scores = pd.read_csv(out / "demo" / "gabor" / "fixed-seed3-rsa.scores.csv")
    assert list(scores.columns) == SCORE_COLUMNS and len(scores) == 21
    assert (scores["seed"] == 3).all() and (scores["method"] == "rsa_nnls").all()
    np.testing.assert_allclose(scores["score_r2"], scores["score"] ** 2)
    np.testing.assert_allclose(scores["score_normalized"], scores["score_r2"] / scores["ceiling"])
    layers = pd.read_csv(out / "demo" / "gabor" / "fixed-seed3-rsa.layers.csv")
    assert list(layers.columns) == LAYER_COLUMNS and set(layers["layer"]) == {"energy"}
    encoding = pd.read_csv(out / "demo" / "gabor" / "fixed-seed3-encoding.scores.csv")
    assert (encoding["method"] == "encoding_ridge").all() and encoding["n_cells"].sum() > 400
    nnls = pd.read_csv(out / "demo" / "gabor" / "fixed-seed3-rsa.nnls.csv")
    assert len(nnls) == 21 * 6 * 2 and (nnls.loc[nnls["regressor"] == "energy", "weight"] >= 0).all()
    first = leaderboard(out)
    run(capsys, "benchmark", "--model", "gabor", "--dataset", "demo", "--out", str(out), "--quiet", "--seed", "3")
    code, stdout, _ = run(capsys, "leaderboard", str(out))
    table = pd.read_csv(out / "leaderboard.csv")
    assert code == 0 and len(table) == len(first) == 2  # rsa and encoding, one row each
    rsa_row = table[table["method"] == "rsa_nnls"].iloc[0]
    assert rsa_row["ci_low"] <= rsa_row["mean_score"] <= rsa_row["ci_high"] and rsa_row["n_sites"] == 21
    assert rsa_row["mean_score"] == pytest.approx(scores["score"].mean())


def test_same_seed_same_numbers(demo):
    a = benchmark("pixels", "fixed", demo, seed=5, out=None, progress=False, use_cache=False).scores
    b = benchmark("pixels", "fixed", demo, seed=5, out=None, progress=False, use_cache=False).scores
    c = benchmark("pixels", "fixed", demo, seed=6, out=None, progress=False, use_cache=False).scores
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["score"], c["score"])


def test_weights_both_offline_still_runs_random(capsys, tmp_path, demo, no_download):
    code, stdout, err = run(capsys, "benchmark", "--model", "squeezenet1_1", "--dataset", "demo",
                            "--out", str(tmp_path), "--quiet")
    assert code == 0
    assert "squeezenet1_1: pretrained weights" in err and len([x for x in err.splitlines() if "pretrained" in x]) == 1
    files = sorted(p.name for p in (tmp_path / "demo" / "squeezenet1_1").iterdir())
    assert files == ["random-seed0-rsa.layers.csv", "random-seed0-rsa.nnls.csv", "random-seed0-rsa.scores.csv"]
    code, _, err = run(capsys, "benchmark", "--model", "squeezenet1_1", "--weights", "pretrained",
                       "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 2 and "--weights-file" in err


def test_leaderboard_pretrained_minus_random(tmp_path, demo):
    path = tmp_path / "w.pth"
    torch.save(model_zoo.create("squeezenet1_1", "random", seed=11).module.state_dict(), path)
    out = tmp_path / "res"
    layers = "features.1[0-2]*"
    benchmark("squeezenet1_1", "pretrained", demo, weights_file=str(path), out=out, progress=False, layers=layers)
    benchmark("squeezenet1_1", "random", demo, out=out, progress=False, layers=layers)
    table = leaderboard(out)
    pre = table[table["weights"] == "pretrained"].iloc[0]
    ran = table[table["weights"] == "random"].iloc[0]
    assert pre["pretrained_minus_random"] == pytest.approx(pre["mean_score"] - ran["mean_score"])
    assert np.isnan(ran["pretrained_minus_random"]) and pre["n_params"] == 1235496
    assert sorted(table["rank"]) == [1, 2]


def _write_stimuli(directory, n):
    directory.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(directory / f"img{k:03d}.png")


def test_bring_your_own_rdms(capsys, tmp_path, demo):
    stim = tmp_path / "stimuli"
    _write_stimuli(stim, 12)
    rng = np.random.default_rng(1)
    rdms = {"VISp_L23": rdm(rng.normal(size=(12, 30))), "VISl_L4": rdm(rng.normal(size=(12, 30))),
            "VISp_L23_ceiling": np.float64(0.8)}
    np.savez(tmp_path / "rdms.npz", **rdms)
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "--stimuli", str(stim), "--neural-rdms",
                       str(tmp_path / "rdms.npz"), "--out", str(tmp_path / "out"), "--quiet", "--folds", "3")
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "out" / "rdms" / "pixels" / "fixed-seed0-rsa.scores.csv")
    assert set(scores["site"]) == {"VISp_L23", "VISl_L4"}
    assert scores.set_index("site").loc["VISp_L23", "ceiling"] == 0.8
    assert np.isnan(scores.set_index("site").loc["VISl_L4", "ceiling"])
    # bad inputs
    np.savez(tmp_path / "badkey.npz", V1=rdms["VISp_L23"])
    np.savez(tmp_path / "wrongsize.npz", VISp_L23=rdm(rng.normal(size=(10, 30))))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    for name, needle in (("badkey.npz", "unknown site key 'V1'"), ("wrongsize.npz", "has 12 images"),
                         ("junk.npz", "not a readable .npz")):
        code, _, err = run(capsys, "benchmark", "--model", "pixels", "--stimuli", str(stim), "--neural-rdms",
                           str(tmp_path / name), "--out", str(tmp_path / "out2"), "--quiet")
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out2").exists()


def test_models_and_layers_commands(capsys):
    code, out, _ = run(capsys, "models", "resnet1*")
    assert code == 0 and "resnet18" in out and "resnet152" in out and "vgg" not in out
    code, out, _ = run(capsys, "layers", "resnet18", "--pattern", "layer4.1.*")
    assert code == 0 and out.split() == ["layer4.1.conv1", "layer4.1.relu", "layer4.1.conv2", "layer4.1.relu:2"]


def test_resume_keeps_finished_units_and_sweeps_several_models(capsys, tmp_path, demo, monkeypatch):
    bench = sys.modules["mouse_rsa.benchmark"]  # the module; mouse_rsa.benchmark is the function
    out = tmp_path / "res"
    code, stdout, _ = run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--out", str(out),
                          "--quiet")
    assert code == 0 and sorted(p.name for p in (out / "demo").iterdir()) == ["gabor", "pixels"]
    before = (out / "demo" / "gabor" / "fixed-seed0-rsa.scores.csv").read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished unit was recomputed")

    monkeypatch.setattr(bench, "cached_extract", must_not_run)
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--out", str(out),
                       "--quiet", "--resume")
    assert code == 0, err
    assert (out / "demo" / "gabor" / "fixed-seed0-rsa.scores.csv").read_text() == before
    # other folds make a different unit: it is computed, not reused
    with pytest.raises(AssertionError, match="recomputed"):
        main(["benchmark", "--model", "gabor", "--dataset", "demo", "--out", str(out), "--quiet", "--resume",
              "--folds", "4"])


def test_sweep_reports_each_failure_and_exits_2(capsys, tmp_path, demo, no_download):
    code, _, err = run(capsys, "benchmark", "--model", "gabor", "squeezenet1_1", "--weights", "pretrained",
                       "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 2
    assert "gabor has no 'pretrained' weights" in err and "squeezenet1_1: pretrained weights" in err
    assert "2 of 2 models failed" in err
