import h5py
import numpy as np
import pandas as pd
import pytest

from mouse_rsa.data import load_dataset
from mouse_rsa.data.dataset import NeuralDataset, load, save
from mouse_rsa.errors import DataUnavailable, InvalidInput


def small_dataset(n_cells=4, n_trials=3, n_stim=5):
    rng = np.random.default_rng(0)
    responses = rng.normal(size=(n_cells, n_trials, n_stim)).astype(np.float32)
    responses[0, 1, 2] = np.nan
    cells = pd.DataFrame({"cell_id": np.arange(10, 10 + n_cells), "experiment_id": [7] * n_cells,
                          "area": ["VISp", "VISl", "VISp", "VISrl"][:n_cells], "imaging_depth_um": [175.0] * n_cells,
                          "cortical_layer": ["L2/3", "L4", "L5", "L6"][:n_cells], "cre_line": ["Cux2"] * n_cells})
    return NeuralDataset("small", rng.integers(0, 255, (n_stim, 6, 8), dtype=np.uint8), np.arange(100, 100 + n_stim),
                         responses, cells, rng.normal(size=(n_cells, 2)).astype(np.float32), {"source": "test"})


def test_round_trip_keeps_everything(tmp_path):
    ds = small_dataset()
    back = load(save(ds, tmp_path / "d.h5"))
    np.testing.assert_array_equal(back.stimuli, ds.stimuli)
    np.testing.assert_array_equal(back.stimulus_ids, ds.stimulus_ids)
    np.testing.assert_array_equal(back.responses, ds.responses)  # NaN positions included
    np.testing.assert_array_equal(back.blank_responses, ds.blank_responses)
    pd.testing.assert_frame_equal(back.cells, ds.cells)
    assert back.metadata == {"source": "test"} and back.name == "small"
    assert back.content_hash() == ds.content_hash()
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]  # no temporary file left


def test_trial_means_ignore_missing_trials():
    ds = small_dataset()
    means = ds.trial_means()
    assert means.dtype == np.float64
    assert means[0, 2] == pytest.approx(np.nanmean(ds.responses[0, :, 2]))


def test_corrupt_file_is_rejected(tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(InvalidInput, match="bad.h5"):
        load(path)


def test_edited_content_fails_the_hash(tmp_path):
    path = save(small_dataset(), tmp_path / "d.h5")
    with h5py.File(path, "r+") as f:
        f["responses"][0, 0, 0] = 123.0
    with pytest.raises(InvalidInput, match="hash mismatch"):
        load(path)


@pytest.mark.parametrize("field", ["responses", "stimuli", "cells"])
def test_missing_field_is_named(tmp_path, field):
    path = save(small_dataset(), tmp_path / "d.h5")
    with h5py.File(path, "r+") as f:
        del f[field]
    with pytest.raises(InvalidInput, match=f"'{field}'"):
        load(path)


def test_mismatched_shapes_name_the_field(tmp_path):
    path = save(small_dataset(), tmp_path / "d.h5")
    with h5py.File(path, "r+") as f:
        del f["stimulus_ids"]
        f["stimulus_ids"] = np.arange(3)
    with pytest.raises(InvalidInput, match="stimulus_ids"):
        load(path)
    with pytest.raises(InvalidInput, match="'cells' has 3 rows"):
        ds = small_dataset()
        NeuralDataset("x", ds.stimuli, ds.stimulus_ids, ds.responses, ds.cells.iloc[:3])


def test_wrong_schema_version(tmp_path):
    path = save(small_dataset(), tmp_path / "d.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(InvalidInput, match="schema_version"):
        load(path)


def test_bad_layer_and_duplicate_ids_rejected():
    ds = small_dataset()
    cells = ds.cells.copy()
    cells.loc[0, "cortical_layer"] = "L9"
    with pytest.raises(InvalidInput, match="cortical_layer"):
        NeuralDataset("x", ds.stimuli, ds.stimulus_ids, ds.responses, cells)
    with pytest.raises(InvalidInput, match="duplicates"):
        NeuralDataset("x", ds.stimuli, np.zeros(5, int), ds.responses, ds.cells)


def test_dataset_names():
    with pytest.raises(InvalidInput, match="unknown dataset 'nope'"):
        load_dataset("nope")
    with pytest.raises(DataUnavailable, match="mouse-rsa dataset fetch allen"):
        load_dataset("allen")
    with pytest.raises(InvalidInput, match="does not exist"):
        load_dataset("missing.h5")


def test_demo_matches_its_documentation(demo):
    from mouse_rsa.data import demo as demo_module

    assert demo.stimuli.shape == (118, 96, 120) and demo.stimuli.dtype == np.uint8
    assert demo.responses.shape[1:] == (50, 118) and demo.n_cells >= 1000
    sites = set(zip(demo.cells["area"], demo.cells["cortical_layer"]))
    assert len(sites) == 21 and ("VISal", "L6") not in sites
    truth = demo.metadata["ground_truth"]
    assert truth["VISp_L23"] == {"model": "gabor", "weights": "fixed", "model_seed": 0, "layer": "energy"}
    assert truth["VISam_L5"]["layer"] == demo_module.LATE[3]
    missing = np.isnan(demo.responses).mean()
    assert 0.002 < missing < 0.01
    # the same file on every machine: what this machine builds is the reference build (CPU, float64, rounded)
    assert demo.content_hash() == demo_module.REFERENCE_HASH
    assert demo.metadata["built_with"] == {"device": "cpu", "precision": "float64"} and demo.n_cells == 1284
