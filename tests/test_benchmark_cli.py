import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import unit_file
from PIL import Image

import model_zoo
from mouse_rsa import results
from mouse_rsa.cli import build_parser, main
from mouse_rsa.leaderboard import rank
from mouse_rsa.rdm import rdm
from mouse_rsa.runner import benchmark
from mouse_rsa.settings import Settings


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_every_subcommand_and_shows_the_library_defaults():
    out = subprocess.run([sys.executable, "-m", "mouse_rsa.cli", "--help"], capture_output=True, text=True, check=True)
    parser = build_parser()
    commands = list(next(a for a in parser._actions if a.dest == "command").choices)
    assert {"dataset", "models", "layers", "benchmark", "leaderboard", "compare", "figures"} <= set(commands)
    listed = [line.split()[0] for line in out.stdout.splitlines() if line.startswith("    ") and line.split()]
    assert [name for name in listed if name in commands] == commands
    bench = next(a for a in parser._actions if a.dest == "command").choices["benchmark"]
    defaults = {a.dest: a.default for a in bench._actions}
    assert defaults.pop("model_seeds") == [Settings().model_seed] and defaults.pop("image_sizes") is None
    for field, value in vars(Settings()).items():
        assert defaults.get(field, value) == value and (field in defaults or field in ("model_seed", "image_size")), field
    text = bench.format_help()
    assert "(default: 0.75)" in text and "(default: 4096)" in text and "(default: all)" in text


def test_dataset_info_demo_json(capsys, demo):
    code, out, _ = run(capsys, "dataset", "info", "demo", "--json")
    info = json.loads(out)
    assert code == 0 and info["n_stimuli"] == 118 and info["n_sites"] == 21 and len(info["sites"]) == 21
    assert info["n_cells"] == demo.n_cells and 0 < info["n_reliable_cells"] < demo.n_cells
    assert all(0 < s["ceiling"] <= 1 for s in info["sites"])


def test_corrupt_dataset_file(capsys, tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    code, _, err = run(capsys, "dataset", "info", str(path))
    assert code == 2 and "broken.h5" in err and len(err.strip().splitlines()) == 1


def test_benchmark_writes_tidy_keyed_tables_and_leaderboard_never_duplicates(capsys, tmp_path, demo):
    out = tmp_path / "results"
    code, stdout, _ = run(capsys, "benchmark", "--model", "gabor", "--dataset", "demo", "--method", "all",
                          "--out", str(out), "--quiet", "--seed", "3")
    assert code == 0 and "VISp_L23" in stdout
    unit = out / "demo" / "gabor"
    scores = pd.read_csv(unit_file(unit, "fixed-seed3-all-rsa_nnls", "scores.csv"))
    assert list(scores.columns) == results.SCORE_COLUMNS and len(scores) == 21
    assert (scores["model_seed"] == 3).all() and (scores["method"] == "rsa_nnls").all() and scores["unit_key"].nunique() == 1
    np.testing.assert_allclose(scores["score_r2"], np.sign(scores["score"]) * scores["score"] ** 2)
    np.testing.assert_allclose(scores["score_normalized"], scores["score_r2"] / scores["ceiling"])
    layers = pd.read_csv(unit_file(unit, "fixed-seed3-all-rsa_nnls", "layers.csv"))
    assert list(layers.columns) == [*results.LAYER_COLUMNS, "rsa_spearman"] and set(layers["layer"]) == {"energy"}
    encoding = pd.read_csv(unit_file(unit, "fixed-seed3-all-encoding_ridge", "scores.csv"))
    assert (encoding["method"] == "encoding_ridge").all() and encoding["n_cells"].sum() > 400
    nnls = pd.read_csv(unit_file(unit, "fixed-seed3-all-rsa_nnls", "nnls.csv"))
    assert len(nnls) == 21 * 6 * 2 and (nnls.loc[nnls["regressor"] == "energy", "weight"] >= 0).all()
    sidecar = json.loads(unit_file(unit, "fixed-seed3-all-rsa_nnls", "unit.json").read_text())
    assert sidecar["key"]["unit_key"] == scores["unit_key"][0] and sidecar["files"]["scores"]["rows"] == 21
    first = rank(out)
    run(capsys, "benchmark", "--model", "gabor", "--dataset", "demo", "--out", str(out), "--quiet", "--seed", "3")
    code, stdout, _ = run(capsys, "leaderboard", str(out))
    table = pd.read_csv(out / "leaderboard.csv")
    assert code == 0 and len(table) == len(first) == 5  # one row per method (all: five)
    rsa_row = table[table["method"] == "rsa_nnls"].iloc[0]
    assert rsa_row["ci_low"] <= rsa_row["mean_score"] <= rsa_row["ci_high"] and rsa_row["n_sites"] == 21
    assert rsa_row["mean_score"] == pytest.approx(scores["score"].mean())


def test_same_seed_same_numbers():
    def scores(seed):
        return benchmark("pixels", weights="fixed", out=None, progress=False, dataset="demo", cv_seed=seed,
                         use_cache=False).scores

    a, b, c = scores(5), scores(5), scores(6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["score"], c["score"])


def test_weights_both_offline_still_runs_random(capsys, tmp_path, demo, no_download):
    code, _, err = run(capsys, "benchmark", "--model", "squeezenet1_1", "--dataset", "demo",
                            "--out", str(tmp_path), "--quiet", "--layers", "features.1[0-2]*")
    assert code == 0, err
    said = [x for x in err.splitlines() if "pretrained" in x]  # before the work, and after the tables
    assert len(said) == 2 and "squeezenet1_1: pretrained weights" in said[0] and "not scored" in said[1]
    files = sorted(p.name for p in (tmp_path / "demo" / "squeezenet1_1").iterdir())
    assert [f.split(".", 1)[1] for f in files] == ["arrays.npz", "layers.csv", "nnls.csv", "scores.csv", "unit.json"]
    code, _, err = run(capsys, "benchmark", "--model", "squeezenet1_1", "--weights", "pretrained",
                       "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 2 and "--weights-file" in err


def test_weights_file_is_named_by_its_content_and_paired_with_random(tmp_path, demo):
    path = tmp_path / "w.pth"
    torch.save(model_zoo.create("squeezenet1_1", "random", seed=11).module.state_dict(), path)
    out = tmp_path / "res"
    layers = "features.1[0-2]*"
    pre = benchmark("squeezenet1_1", weights="pretrained", out=out, progress=False, dataset="demo", layers=layers,
                    weights_file=str(path))
    benchmark("squeezenet1_1", weights="random", out=out, progress=False, dataset="demo", layers=layers)
    source = pre.scores["weights_source"].iloc[0]
    assert source.startswith("file:w.pth:sha256:") and len(source.rsplit(":", 1)[1]) == 12
    table = rank(out)
    pre_row = table[table["weights"] == "pretrained"].iloc[0]
    ran = table[table["weights"] == "random"].iloc[0]
    assert pre_row["pretrained_minus_random"] == pytest.approx(pre_row["mean_score_corrected"]
                                                               - ran["mean_score_corrected"])
    assert np.isnan(ran["pretrained_minus_random"]) and pre_row["n_params"] == 1235496
    assert sorted(table["rank"]) == [1, 2]


def _write_stimuli(directory, n):
    directory.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(directory / f"img{k:03d}.png")


def test_bring_your_own_rdms(capsys, tmp_path):
    stim = tmp_path / "stimuli"
    _write_stimuli(stim, 12)
    rng = np.random.default_rng(1)
    rdms = {"VISp_L23": rdm(rng.normal(size=(12, 30))), "VISl_L4": rdm(rng.normal(size=(12, 30))),
            "VISp_L23_ceiling": np.float64(0.8), "VISl_L4_ceiling_r": np.float64(0.5)}
    np.savez(tmp_path / "rdms.npz", **rdms)
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "--stimuli", str(stim), "--neural-rdms",
                       str(tmp_path / "rdms.npz"), "--out", str(tmp_path / "out"), "--quiet", "--folds", "3")
    assert code == 0, err
    scores = results.read_scores(tmp_path / "out").set_index("site")
    assert set(scores.index) == {"VISp_L23", "VISl_L4"}
    assert scores.loc["VISp_L23", "ceiling"] == 0.8 and scores.loc["VISl_L4", "ceiling"] == pytest.approx(0.25)


def test_models_and_layers_commands(capsys):
    code, out, _ = run(capsys, "models", "resnet1*")
    assert code == 0 and "resnet18" in out and "resnet152" in out and "vgg" not in out
    code, out, _ = run(capsys, "layers", "resnet18", "--pattern", "layer4.1.*")
    assert code == 0 and out.split() == ["layer4.1.conv1", "layer4.1.relu", "layer4.1.conv2", "layer4.1.relu:2"]


def test_several_models_with_one_failure_report_it_and_write_the_rest(capsys, tmp_path, demo, no_download,
                                                                      monkeypatch):
    from model_zoo import network

    monkeypatch.setattr(network, "_connects", lambda host, port: True)  # the host answers; the download fails
    code, _, err = run(capsys, "benchmark", "--model", "gabor", "squeezenet1_1", "--weights", "pretrained",
                       "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 2
    assert "squeezenet1_1 (pretrained" in err and "1 unit group(s) failed" in err
    assert (tmp_path / "demo" / "gabor").is_dir() and not (tmp_path / "demo" / "squeezenet1_1").exists()


def test_compare_prints_paired_tests(capsys, demo_results, tmp_path):
    code, _, err = run(capsys, "compare", str(demo_results), "-o", str(tmp_path / "c.csv"))
    assert code == 2 and "has both pretrained and random" in err and "--weights pretrained" in err
    assert not (tmp_path / "c.csv").exists()


def test_a_gpu_that_is_not_here_is_one_line_before_any_work(capsys, tmp_path):
    out = tmp_path / "results"
    code, _, err = run(capsys, "benchmark", "--model", "gabor", "--dataset", "demo", "--device", "cuda:1",
                       "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists()
    assert "device cuda:1 was asked for but no CUDA GPU is visible here; use --device auto or cpu" in err
