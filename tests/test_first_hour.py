"""Issue 19: every message tells the user what to do, at once. One section per numbered cause of the
issue (a new user's first hour offline, then the audit of faults and bad input); the README's
bad-input table lists the same probes."""
from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import signal
import socket
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import model_zoo
import mouse_rsa
from mouse_rsa import results, runner
from mouse_rsa.cache import _host, cache_root
from mouse_rsa.cli import build_parser, main
from mouse_rsa.errors import DataUnavailable, InvalidInput
from mouse_rsa.results import MalformedResultWarning

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BASE = ["benchmark", "--model", "pixels", "--dataset", "demo", "--quiet"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def error_line(capsys, *argv) -> str:
    """The one ``mouse-rsa: error:`` line of a command that must fail with exit 2; its commands must parse."""
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("mouse-rsa: error: "), err
    assert_commands_parse(err)
    return err


def assert_commands_parse(text: str) -> None:
    """Every `mouse-rsa ...` command quoted in ``text`` names real options (placeholders filled in)."""
    parser = build_parser()
    for command in re.findall(r"`mouse-rsa ([^`]*)`", text):
        argv = shlex.split(command.replace("NAME", "alexnet").replace("PATH", "w.pth").replace("...", ""))
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"the message names a command that does not parse: mouse-rsa {command}")


def nothing_written(directory: Path) -> bool:
    return not directory.exists() or not any(directory.rglob("*"))


def no_temporaries(directory: Path) -> bool:
    return not [p for p in directory.rglob(".*") if p.is_file()]


@pytest.fixture
def offline(monkeypatch, no_download):
    """No download host answers (what a laptop on a train sees), and torch.hub could not fetch anyway."""
    from model_zoo import network

    monkeypatch.setattr(network, "_connects", lambda host, port: False)


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only as a user other than its owner sees it (tests may run as root, who can
    write anywhere): no new file or folder in it, and ``os.access`` says so."""
    real_access, real_mkstemp, real_mkdir = os.access, tempfile.mkstemp, Path.mkdir

    def make(root: Path) -> None:
        root = Path(os.path.abspath(root))

        def under(path) -> bool:
            return Path(os.path.abspath(path)).is_relative_to(root)

        def access(path, mode, **kwargs):
            return False if mode & os.W_OK and under(path) else real_access(path, mode, **kwargs)

        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and under(dir):
                raise PermissionError(errno.EACCES, "Permission denied", str(dir))
            return real_mkstemp(*args, dir=dir, **kwargs)

        def mkdir(self, *args, **kwargs):
            if under(self) and not self.is_dir():
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(Path, "mkdir", mkdir)

    return make


# 1. offline pretrained weights: said at once, before and after the work, in the real flags -----------
def test_offline_pretrained_is_said_before_and_after_the_work(capsys, tmp_path, demo, offline):
    code, stdout, err = run(capsys, "benchmark", "--model", "squeezenet1_1", "--dataset", "demo", "--out",
                            str(tmp_path), "--layers", "features.1[0-2]*")
    assert code == 0, err
    lines = err.strip().splitlines()
    first = next(line for line in lines if "warning" in line)
    assert "squeezenet1_1: pretrained weights" in first and "--weights-file" in first and "weights_file" not in err
    assert lines[-1].startswith("mouse-rsa: warning: not scored: squeezenet1_1 (pretrained") and "--weights-file" in lines[-1]
    assert "http" not in stdout and "Downloading" not in stdout
    assert set(results.read_scores(tmp_path)["weights"]) == {"random"}


def test_pretrained_offline_under_weights_pretrained_fails_at_once(capsys, tmp_path, demo, offline, monkeypatch):
    monkeypatch.setattr(runner, "run_units", lambda *a, **k: pytest.fail("a unit ran"))
    start = time.perf_counter()
    err = error_line(capsys, "benchmark", "--model", "squeezenet1_1", "--weights", "pretrained", "--dataset", "demo",
                     "--out", str(tmp_path / "o"))
    assert "cannot be reached (offline)" in err and "--weights-file" in err and time.perf_counter() - start < 20
    assert nothing_written(tmp_path / "o")


def test_a_download_prints_nothing_on_stdout(capsys, monkeypatch, tmp_path):
    import torch
    import torch.hub

    from model_zoo import network
    from model_zoo.sources import torchvision_models

    monkeypatch.setattr(network, "_connects", lambda host, port: True)
    source = model_zoo.create("squeezenet1_1", "random", seed=1).module.state_dict()

    def fake_download(url, dst, *args, **kwargs):
        torch.save(source, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    weights = torchvision_models.pretrained_weights("squeezenet1_1", "IMAGENET1K_V1")
    try:
        model_zoo.create("squeezenet1_1", "pretrained")
        out = capsys.readouterr()
        assert "Downloading" not in out.out and "http" not in out.out and "Downloading" in out.err
    finally:
        torchvision_models.cached_file(weights).unlink(missing_ok=True)


def test_help_shows_every_default_and_no_cache_reads_as_a_switch():
    text = " ".join(build_parser()._subparsers._group_actions[0].choices["benchmark"].format_help().split())
    for shown in ("skipped with a warning (default: both)", "encoding, or all) (default: rsa_nnls)",
                  "over stimuli (default: 0)", "several run as replicates (default: 0)"):
        assert shown in text
    assert "(default: True)" not in text and "(default: [" not in text


def test_compare_says_what_was_not_scored_and_the_command_that_scores_it(capsys, demo_results):
    err = error_line(capsys, "compare", str(demo_results))
    assert "mobilenet_v2" in err and "--weights pretrained" in err and "--weights both" not in err


# 2. third-party noise ---------------------------------------------------------------------------------
class _OfflineCache:
    def get_ophys_experiments(self, **kwargs):
        raise OSError("no network (test)")


def _noisy_cache():
    """What allensdk's import does: deprecation warnings from third-party code."""
    warnings.warn_explicit("Passing field metadata as keyword arguments is deprecated", DeprecationWarning,
                           "/venv/site-packages/marshmallow/fields.py", 10, module="marshmallow.fields")
    warnings.warn_explicit("pkg_resources is deprecated as an API", UserWarning,
                           "/venv/site-packages/allensdk/__init__.py", 3, module="allensdk")
    return _OfflineCache()


def test_third_party_warnings_are_hidden_unless_debug(capsys, monkeypatch):
    from mouse_rsa.data import allen

    monkeypatch.setattr(allen, "default_cache", _noisy_cache)
    err = error_line(capsys, "dataset", "fetch", "allen")
    assert "cannot reach the Allen Brain Observatory API" in err
    with pytest.raises(DataUnavailable):
        main(["--debug", "dataset", "fetch", "allen"])
    shown = capsys.readouterr().err
    assert "pkg_resources" in shown and "Passing field metadata" in shown


def test_the_tools_own_warnings_are_shown(capsys, tmp_path, demo):
    code, _, err = run(capsys, *BASE, "--weights", "random", "--out", str(tmp_path))
    assert code == 0 and "mouse-rsa: warning: pixels has only fixed weights" in err


# 3. wrong advice --------------------------------------------------------------------------------------
def test_an_interrupted_sweep_does_not_advise_a_missing_option(capsys, monkeypatch, tmp_path):
    import mouse_rsa.sweep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mouse_rsa.sweep, "sweep", interrupted)
    code, _, err = run(capsys, "sweep", "--model", "pixels", "--dataset", "demo", "--out", str(tmp_path), "--quiet")
    assert code == 130 and "--resume" not in err and "run the same command again" in err


@pytest.mark.parametrize("argv,wanted,unwanted", [
    (["leaderboard", "nothere"], "--model NAME --out nothere", "--directory"),
    (["analyze", "nothere"], "mouse-rsa benchmark --model NAME", "--directory"),
    (["layers", "resnet_18"], "unknown model 'resnet_18'", "--model"),
])
def test_advice_names_real_options(capsys, argv, wanted, unwanted):
    err = error_line(capsys, *argv)
    assert wanted in err and unwanted not in err


def test_an_empty_results_directory_names_the_required_model(capsys, tmp_path):
    assert "--model NAME" in error_line(capsys, "leaderboard", str(tmp_path))


def test_close_names_are_suggested_once_each(capsys):
    err = error_line(capsys, "benchmark", "--model", "resnet_18", "--dataset", "demo")
    suggested = err.split("did you mean ")[1].rstrip("?\n").split(", ")
    assert suggested[0] == "resnet18" and len(suggested) == len(set(suggested))


# 4. checked before any work; a failing run leaves nothing ------------------------------------------------
def test_a_layer_glob_is_checked_against_the_layer_names_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "prepare_targets", lambda units: pytest.fail("work started"))
    err = error_line(capsys, "benchmark", "--model", "mobilenet_v2", "--weights", "random", "--dataset", "demo",
                     "--layers", "foo.*", "--out", str(tmp_path / "o"))
    assert "--layers 'foo.*' match no layer of mobilenet_v2" in err and nothing_written(tmp_path / "o")
    assert model_zoo.layer_candidates("mobilenet_v2")[-1] == "classifier:input"


def test_a_bad_weights_file_is_read_before_any_unit_runs(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(runner, "prepare_targets", lambda units: pytest.fail("work started"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    torch.save(model_zoo.create("mobilenet_v2", "random").module.state_dict(), tmp_path / "other.pth")
    for name, needle in (("junk.pth", "is not a readable state dict"), ("other.pth", "do not fit squeezenet1_1")):
        err = error_line(capsys, "benchmark", "--model", "squeezenet1_1", "--weights-file", str(tmp_path / name),
                         "--dataset", "demo", "--out", str(tmp_path / "o"))
        assert needle in err and "--weights-file" in err
    assert nothing_written(tmp_path / "o")


def test_a_weights_file_for_a_baseline_is_refused(capsys, tmp_path):
    (tmp_path / "w.pth").write_bytes(b"x")
    err = error_line(capsys, *BASE, "--weights-file", str(tmp_path / "w.pth"), "--out", str(tmp_path / "o"))
    assert "--weights-file holds one model's pretrained weights" in err and nothing_written(tmp_path / "o")


def test_a_run_that_scores_nothing_leaves_no_targets_file(capsys, tmp_path, demo, monkeypatch):
    def fails(*args, **kwargs):
        raise InvalidInput("this unit cannot run (test)")

    monkeypatch.setattr(runner, "run_units", fails)
    assert "cannot run (test)" in error_line(capsys, *BASE, "--out", str(tmp_path / "o"))
    assert nothing_written(tmp_path / "o")


# 5. the Python API raises what the CLI prints -------------------------------------------------------------
def test_the_api_raises_mouse_rsa_errors_with_the_cli_words(capsys, tmp_path, demo):
    with pytest.raises(mouse_rsa.InvalidInput) as err:
        mouse_rsa.benchmark("resnet_18", dataset="demo", out=None)
    assert type(err.value).__module__ == "mouse_rsa.errors" and err.value.argument == "model"
    out = tmp_path / "one"
    mouse_rsa.benchmark("pixels", dataset="demo", out=out, progress=False)
    with pytest.raises(mouse_rsa.UserError) as err:
        mouse_rsa.analysis.analyze(out)
    assert type(err.value).__module__ == "mouse_rsa.errors"
    assert error_line(capsys, "analyze", str(out)) == f"mouse-rsa: error: {err.value}\n"


def test_the_readme_python_snippet_runs_as_written(tmp_path, monkeypatch, demo_results):  # its features cached
    snippet = README.split("The same from Python")[1].split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    assert set(namespace["table"]["model"]) == {"mobilenet_v2", "gabor", "pixels"}
    compared = namespace["found"].table
    assert len(compared) == 1 and {compared["model_a"][0], compared["model_b"][0]} == {"mobilenet_v2", "gabor"}


# 6. logs and pipes ----------------------------------------------------------------------------------------
def test_progress_in_a_log_is_plain_lines(capsys, tmp_path, demo):
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--out", str(tmp_path))
    assert code == 0 and "units: 0/2 model" in err and "units: 2/2 model" in err
    assert "\r" not in err and "\x1b[" not in err


def test_a_closed_pipe_is_a_quiet_exit(capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["models"]) == 141
    assert capsys.readouterr().err == ""


def test_a_cache_folder_that_cannot_exist_is_one_line(capsys, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    for cache in (tmp_path / "file" / "sub", Path("/proc/nope")):
        monkeypatch.setenv("MOUSE_RSA_CACHE", str(cache))
        err = error_line(capsys, "dataset", "info", "demo")
        assert "$MOUSE_RSA_CACHE" in err and "set $MOUSE_RSA_CACHE to a folder" in err


# 7. help and catalogue --------------------------------------------------------------------------------------
def test_models_lists_a_presets_members_with_integer_counts(capsys):
    code, out, _ = run(capsys, "models", "study:taskonomy")
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and names == list(model_zoo.PRESETS["study:taskonomy"])
    code, out, _ = run(capsys, "models", "--all", "resnet1*")
    assert code == 0 and " 11689512 " in out and "11689512.0" not in out and "<NA>" not in out
    assert "--all" in error_line(capsys, "models", "zzz*")


def test_layers_says_what_it_does_and_a_pattern_without_match_is_an_error(capsys):
    code, out, err = run(capsys, "layers", "squeezenet1_1", "--pattern", "features.3.*")
    assert code == 0 and "features.3.squeeze" in out and "listing the layers of squeezenet1_1" in err
    err = error_line(capsys, "layers", "squeezenet1_1", "--pattern", "nope*")
    assert "--pattern 'nope*' matches no layer of squeezenet1_1" in err


# 8. the README says what the code does ------------------------------------------------------------------------
def test_readme_numbers_are_the_codes(demo):
    from mouse_rsa.features.extraction import sketch_size

    assert f"{demo.n_cells:,} simulated" in README and f"to {sketch_size(4096):,} dimensions" in README
    zoo = set(model_zoo.list_models().query("source == 'torchvision'")["name"])
    tasks = set(model_zoo.list_models().query("source == 'taskonomy'")["name"])
    (left_out,) = zoo - set(model_zoo.PRESETS["study:zoo"])
    assert f"{len(zoo)} torchvision architectures less `{left_out}`" in README
    multi = sorted(t.removeprefix("taskonomy_") for t in tasks - set(model_zoo.PRESETS["study:taskonomy"]))
    assert "encoders less the multi-image" in README and all(f"`{t}`" in README for t in multi) and len(multi) == 4
    assert "`best_layer_score` is optimistic" in README and "`encoding_alpha_at_edge`, the fraction" in README


def test_readme_memory_example_is_what_the_job_script_says():
    from mouse_rsa.sweep import ClusterOptions, job_script

    gib = 2**30
    assert "--mem=30G" in job_script(ClusterOptions(cluster="slurm", memory="32GB"), 6 * gib)
    assert "--mem=32G" in job_script(ClusterOptions(cluster="slurm", memory="32GiB"), 6 * gib)
    assert "`#SBATCH --mem=30G`" in README and "`--memory 32GiB` gives `--mem=32G`" in README


def test_building_the_demo_says_so(capsys, tmp_path, monkeypatch, demo):
    from mouse_rsa.data import demo as demo_module

    monkeypatch.setattr(demo_module, "demo_path", lambda: tmp_path / "demo.h5")
    monkeypatch.setattr(demo_module, "build_demo", lambda: demo)
    demo_module.load_demo()
    assert "building the demo dataset" in capsys.readouterr().err and (tmp_path / "demo.h5").is_file()


# 9. names from files are data, never paths ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute-escape", ".."])
def test_a_dataset_name_never_leaves_out_or_the_cache(capsys, tmp_path, demo, monkeypatch, name):
    from mouse_rsa.data import NeuralDataset, save

    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    save(NeuralDataset(name, demo.stimuli, demo.stimulus_ids, demo.responses, demo.cells), work / "d.h5")
    before = set(tmp_path.rglob("*")) | set(Path("/tmp").glob("absolute-escape*"))
    code, _, err = run(capsys, *BASE, "--dataset", str(work / "d.h5"), "--out", "res")
    assert code == 0, err
    new = (set(tmp_path.rglob("*")) | set(Path("/tmp").glob("absolute-escape*"))) - before
    assert new and all(p.is_relative_to(work / "res") for p in new)
    assert set(results.read_scores("res")["dataset"]) == {name}


# 10. stimulus images ---------------------------------------------------------------------------------------------------
def test_a_16_bit_image_is_scaled_not_clipped(tmp_path):
    from mouse_rsa.neural.targets import read_stimuli

    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (4, 20, 24), dtype=np.uint8)
    for folder, images in (("8", eight), ("16", eight.astype(np.uint16) * 257)):
        (tmp_path / folder).mkdir()
        for k, image in enumerate(images):
            Image.fromarray(image).save(tmp_path / folder / f"s{k}.png")
    assert Image.open(tmp_path / "16" / "s0.png").mode.startswith("I")
    np.testing.assert_array_equal(read_stimuli(tmp_path / "16"), read_stimuli(tmp_path / "8"))


def test_a_decompression_bomb_or_float_image_is_one_line(capsys, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    (tmp_path / "s").mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(tmp_path / "s" / f"s{k}.png")
    np.savez(tmp_path / "r.npz", VISp_L23=np.ones((3, 3)) - np.eye(3))
    argv = ["benchmark", "--model", "pixels", "--stimuli", str(tmp_path / "s"), "--neural-rdms",
            str(tmp_path / "r.npz"), "--out", str(tmp_path / "o"), "--folds", "3"]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert "decompression-bomb limit" in error_line(capsys, *argv)
    monkeypatch.undo()
    Image.fromarray(rng.random((64, 64), dtype=np.float32)).save(tmp_path / "s" / "s9.tiff")
    assert "floating-point pixels" in error_line(capsys, *argv)
    assert nothing_written(tmp_path / "o")


# 11. write failures --------------------------------------------------------------------------------------------------
def test_a_full_disk_is_one_line_and_leaves_no_half_file(capsys, tmp_path, demo, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    err = error_line(capsys, *BASE, "--out", str(tmp_path / "o"))
    assert "cannot write" in err and "the disk is full" in err and no_temporaries(tmp_path / "o")


def test_a_file_where_a_result_folder_should_be_is_one_line(capsys, tmp_path, demo):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "demo").write_text("")
    assert "a regular file stands where a folder should be" in error_line(capsys, *BASE, "--out", str(tmp_path / "o"))


def test_outputs_that_cannot_be_written_are_one_line_before_any_work(capsys, tmp_path, monkeypatch, demo_results,
                                                                     read_only):
    from mouse_rsa.analysis import run as analysis_run

    (tmp_path / "file").write_text("")
    (tmp_path / "ro").mkdir()
    read_only(tmp_path / "ro")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    monkeypatch.setattr(runner, "prepare_targets", lambda units: pytest.fail("work started"))
    monkeypatch.setattr(analysis_run, "run_analyses", lambda *a: pytest.fail("work started"))
    assert "is a symlink to" in error_line(capsys, *BASE, "--out", str(tmp_path / "dangling"))
    assert "--output" in error_line(capsys, "analyze", str(demo_results), "-o", str(tmp_path / "file" / "a"))
    assert "is read-only" in error_line(capsys, "analyze", str(demo_results), "-o", str(tmp_path / "ro" / "a"))
    assert "--output" in error_line(capsys, "leaderboard", str(demo_results), "-o", str(tmp_path / "file" / "l.csv"))
    assert "--output" in error_line(capsys, "figures", str(demo_results), "-o", str(tmp_path / "file" / "f"))


def test_any_failed_write_of_a_final_file_is_one_line(capsys, two_units, monkeypatch):
    real = os.replace

    def busy(src, dst, *args, **kwargs):
        if str(dst).endswith("leaderboard.csv"):
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", busy)
    assert "it is busy or a mount point" in error_line(capsys, "leaderboard", str(two_units))
    assert no_temporaries(two_units)


def test_an_empty_cache_variable_means_the_default_cache(monkeypatch):
    from mouse_rsa.cache import cache_dir

    monkeypatch.setenv("MOUSE_RSA_CACHE", "")
    assert cache_dir("datasets") == Path.home() / ".cache" / "mouse-rsa" / "datasets"


def _analysis_inputs(tmp_path, monkeypatch):
    import test_analysis

    monkeypatch.setattr(model_zoo, "catalogue", test_analysis.catalogue)
    test_analysis.synthetic_results(tmp_path)
    return tmp_path


def test_an_analysis_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from mouse_rsa.analysis import analyze
    from mouse_rsa.analysis import run as analysis_run

    directory = _analysis_inputs(tmp_path, monkeypatch)
    analyze(directory, splits=20, permutations=5, n_resamples=200)
    before = {p.name: p.read_bytes() for p in (directory / "analysis").iterdir()}

    def fails(inputs, options):
        raise RuntimeError("half-way (test)")

    monkeypatch.setitem(analysis_run.STEPS, "taskonomic signatures", fails)
    with pytest.raises(RuntimeError):
        analyze(directory, splits=20, permutations=5, n_resamples=200, seed=1)  # new numbers, never written
    assert {p.name: p.read_bytes() for p in (directory / "analysis").iterdir()} == before
    monkeypatch.undo()
    _analysis_inputs(tmp_path, monkeypatch)
    monkeypatch.setitem(analysis_run.STEPS, "taskonomic signatures", lambda i, o: (_ for _ in ()).throw(
        analysis_run._Skipped("not this time (test)")))
    done = analyze(directory, splits=20, permutations=5, n_resamples=200, seed=1)
    assert {p.name for p in (directory / "analysis").iterdir()} == {p.name for p in done.files}  # stale ones gone


# 12. malformed results --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_units(tmp_path_factory, demo):
    out = tmp_path_factory.mktemp("two_units")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mouse_rsa.benchmark(["pixels", "gabor"], dataset="demo", out=out, progress=False)
    return out


def _edit_sidecar(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _edit_scores(path: Path, value) -> None:
    scores = next(path.parent.glob("*.scores.csv"))
    table = pd.read_csv(scores)
    table["score"] = value
    table.to_csv(scores, index=False)
    _edit_sidecar(path, lambda r: r["files"]["scores"].update(
        sha256=results.files.sha256_file(scores), rows=len(table)))


@pytest.mark.parametrize("corrupt", [
    lambda p: _edit_sidecar(p, lambda r: r.update(key=[1, 2])),
    lambda p: _edit_sidecar(p, lambda r: r.update(files={k: "x" for k in r["files"]})),
    lambda p: _edit_sidecar(p, lambda r: r.update(files=["scores"])),
    lambda p: _edit_scores(p, np.nan),
    lambda p: _edit_scores(p, np.inf),
    lambda p: _edit_scores(p, 3.0),
], ids=["key-list", "file-entries-strings", "files-list", "all-nan", "inf", "above-one"])
def test_a_malformed_unit_is_skipped_with_one_warning(capsys, tmp_path, two_units, corrupt):
    out = tmp_path / "r"
    shutil.copytree(two_units, out)
    sidecar = next((out / "demo" / "gabor").glob("*.unit.json"))
    corrupt(sidecar)
    code, stdout, err = run(capsys, "leaderboard", str(out))
    assert code == 0 and "pixels" in stdout and "gabor" not in stdout
    assert err.count("warning") == 1 and str(sidecar) in err, err
    code, _, err = run(capsys, "figures", str(out), "-o", str(tmp_path / "f"))
    said = [line for line in err.splitlines() if "skipped figure" not in line]  # figures without data: their own
    assert code == 0 and len(said) == 1 and str(sidecar) in said[0], err
    code, stdout, err = run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--quiet",
                            "--resume", "--out", str(out))
    assert code == 0 and "1 finished unit(s) reused" in stdout, err  # the malformed one is done again
    assert set(results.read_scores(out)["model"]) == {"pixels", "gabor"}


@pytest.mark.parametrize("damage", ["truncated-targets", "object-array-rdms"])
def test_analyze_leaves_out_a_group_whose_rdms_cannot_be_read(tmp_path, monkeypatch, damage):
    from mouse_rsa.analysis import analyze

    directory = _analysis_inputs(tmp_path, monkeypatch)
    if damage == "truncated-targets":
        target = next(directory.rglob("targets-*.npz"))
        target.write_bytes(target.read_bytes()[:100])
    else:
        sidecar = next(p for p in directory.rglob("*latent*.unit.json"))
        rdms = next(sidecar.parent.glob(sidecar.name.replace(".unit.json", ".rdms.npz")))
        np.savez(rdms, names=np.array(["latent"], dtype=object), vectors=np.zeros((3, 1)))
        _edit_sidecar(sidecar, lambda r: r["files"]["rdms"].update(sha256=results.files.sha256_file(rdms)))
    with pytest.warns(MalformedResultWarning) as caught:
        done = analyze(directory, splits=20, permutations=5, n_resamples=200)
    assert len(caught) == 1 and ("targets-" in str(caught[0].message) or ".rdms.npz" in str(caught[0].message))
    names = {p.name for p in done.files}
    assert "signature_areas.csv" not in names
    # the comparison rescores the site RDMs that the targets file holds: without them it is left out too
    assert ("pretrained_vs_random.csv" in names) == (damage != "truncated-targets")
    assert "property_correlations.csv" in names


# 13. bounded options --------------------------------------------------------------------------------------------------
def test_analysis_options_are_bounded_before_any_work(capsys, tmp_path, monkeypatch):
    from mouse_rsa.analysis import run as analysis_run

    directory = _analysis_inputs(tmp_path, monkeypatch)
    monkeypatch.setattr(analysis_run, "run_analyses", lambda *a: pytest.fail("work started"))
    assert "--splits must be between 1 and 10000" in error_line(capsys, "analyze", str(directory), "--splits",
                                                               "1000000000")
    assert "--folds=500 is more than the 30 stimuli" in error_line(capsys, "analyze", str(directory), "--folds", "500")


@pytest.mark.parametrize("option", ["--repeats", "--reliability-splits"])
def test_repeats_are_bounded(capsys, tmp_path, option):
    err = error_line(capsys, *BASE, option, "1000000000", "--out", str(tmp_path / "o"))
    assert f"{option} must be an integer between 1 and 10000" in err and nothing_written(tmp_path / "o")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("options,needle", [
    (["--scheduler", "tcp://127.0.0.1:PORT"], "nothing answers at --scheduler"),
    (["--scheduler", "not-an-address"], "is not an address like tcp://host:8786"),
    (["--cluster", "slurm", "--memory", "0"], "--memory=0 is less than the 1 GiB"),
    (["--cluster", "slurm", "--memory", "lots"], "--memory must be a size such as 8GB"),
    (["--cluster", "slurm", "--walltime", "4h"], "--walltime must be HH:MM:SS"),
    (["--cluster", "slurm", "--walltime", "0:00:00"], "--walltime=0:00:00 is zero"),
    (["--memory-limit", "0"], "--memory-limit=0 is less than the 1 GiB"),
], ids=["scheduler-silent", "scheduler-malformed", "memory-zero", "memory-bogus", "walltime-bogus", "walltime-zero",
        "memory-limit-zero"])
def test_sweep_options_are_checked_before_the_targets_file(capsys, tmp_path, options, needle):
    options = [o.replace("PORT", str(_closed_port())) for o in options]
    start = time.perf_counter()
    err = error_line(capsys, "sweep", "--model", "pixels", "--dataset", "demo", "--out", str(tmp_path / "o"),
                     "--quiet", *options)
    assert needle in err and nothing_written(tmp_path / "o") and time.perf_counter() - start < 20


# 14. SIGTERM ------------------------------------------------------------------------------------------------------------
def test_sigterm_stops_a_run_like_ctrl_c_and_says_how_to_resume(capsys, tmp_path, demo, monkeypatch):
    real = runner.run_units
    calls = []

    def second_is_terminated(units, targets, progress=True):
        calls.append(units[0].model)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        return real(units, targets, progress)

    monkeypatch.setattr(runner, "run_units", second_is_terminated)
    code, _, err = run(capsys, "benchmark", "--model", "pixels", "gabor", "--dataset", "demo", "--quiet", "--out",
                       str(tmp_path))
    assert code == 143 and "terminated (SIGTERM)" in err and "--resume" in err
    assert (tmp_path / "demo" / "pixels").is_dir() and not (tmp_path / "demo" / "gabor").exists()
    assert no_temporaries(tmp_path) and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# 15. still open from the first audit ------------------------------------------------------------------------------------
def test_the_next_run_removes_a_killed_writers_temporary_files(capsys, tmp_path, demo):
    dead = 2**22 + 12345  # above the usual pid_max: no process has it
    stale = tmp_path / "demo" / "old" / f".fixed-seed0-all-rsa_nnls-00000000.scores.csv.{_host()}.{dead}.abcd1234.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    cached = cache_root() / "features" / f".x.npz.{_host()}.{dead}.abcd1234.npz"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text("half")
    keep = tmp_path / ".hidden-but-mine"
    keep.write_text("a user's file")
    assert run(capsys, *BASE, "--out", str(tmp_path))[0] == 0
    assert not stale.exists() and not cached.exists() and keep.exists()


def test_a_read_only_shared_cache_is_read_not_refused(capsys, tmp_path, demo, read_only):
    assert run(capsys, *BASE, "--out", str(tmp_path / "first"))[0] == 0  # fills the cache: dataset, sites, features
    read_only(cache_root())
    code, _, err = run(capsys, *BASE, "--out", str(tmp_path / "second"))
    assert code == 0, err
    first, second = results.read_scores(tmp_path / "first"), results.read_scores(tmp_path / "second")
    pd.testing.assert_series_equal(first["score"], second["score"])
    code, _, err = run(capsys, *BASE, "--max-dim", "333", "--out", str(tmp_path / "third"))  # features not cached
    assert code == 0 and err.count("is read-only") == 1, err


def test_a_read_only_part_of_the_cache_is_one_warning_not_a_traceback(capsys, tmp_path, demo, read_only):
    read_only(cache_root() / "targets")
    code, _, err = run(capsys, *BASE, "--min-cells", "14", "--out", str(tmp_path))  # a selection no other test caches
    assert code == 0 and err.count("is not writable") == 1 and "Permission denied" in err, err


def test_leaderboard_output_under_a_file_and_a_one_trial_dataset_are_one_line(capsys, tmp_path, demo, two_units):
    from mouse_rsa.data import NeuralDataset, save

    (tmp_path / "file").write_text("")
    assert "--output" in error_line(capsys, "leaderboard", str(two_units), "-o", str(tmp_path / "file" / "x.csv"))
    save(NeuralDataset("one", demo.stimuli, demo.stimulus_ids, demo.responses[:, :1], demo.cells), tmp_path / "one.h5")
    assert "at least 2 trials" in error_line(capsys, "dataset", "info", str(tmp_path / "one.h5"))


def test_figures_names_the_figures_it_skipped(capsys, tmp_path, two_units):
    from mouse_rsa import figures

    code, _, err = run(capsys, "figures", str(two_units), "-o", str(tmp_path))
    drawn = {p.stem for p in tmp_path.glob("*.png")}
    prefix = "mouse-rsa: warning: skipped figure "
    skipped = {line.removeprefix(prefix).split(":")[0] for line in err.splitlines() if line.startswith(prefix)}
    assert code == 0 and drawn and not drawn & skipped and skipped <= set(figures.NEEDS)
    assert "skipped figure task_hierarchy: needs Taskonomy results" in err
    assert_commands_parse(err)


# done when: a fresh clone's `make demo` prints no third-party warning and no URL on stdout -------------------------
def test_make_demo_prints_no_third_party_warning_and_no_url(tmp_path, demo_results):
    import subprocess
    import sys

    recipe = (ROOT / "Makefile").read_text().split("\ndemo:")[1].split("\n\n")[0]
    commands = [shlex.split(line.strip().replace("$(BIN)/mouse-rsa", "mouse-rsa"))[1:]
                for line in recipe.splitlines()[1:] if line.strip()]
    assert [c[0] for c in commands] == ["dataset", "benchmark", "leaderboard"]
    env = {**os.environ, "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}  # offline
    env.pop("PYTHONWARNINGS", None)
    commands[1] += ["--permutations", "2"]  # the output's words, not the null's 20 encoding refits, are tested here
    for argv in commands:  # the demo's features are in the session's cache (demo_results): no forward pass
        done = subprocess.run([sys.executable, "-m", "mouse_rsa.cli", *argv], check=False, cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert "http" not in done.stdout and "Downloading" not in done.stdout
        noise = [line for line in done.stderr.splitlines()
                 if ("warn" in line.lower() or "Traceback" in line) and not line.startswith("mouse-rsa: warning: ")]
        assert not noise, done.stderr
