import numpy as np
import pytest
from fake_allensdk import FakeBrainObservatoryCache

from mouse_rsa.cli import main
from mouse_rsa.data import allen, load
from mouse_rsa.errors import DataUnavailable, InvalidInput


@pytest.mark.parametrize("depth,layer", [(175, "L2/3"), (249, "L2/3"), (250, "L4"), (275, "L4"), (350, "L4"),
                                         (365, "L5"), (375, "L5"), (435, "L5"), (500, "L6"), (550, "L6"), (625, "L6")])
def test_depth_to_layer(depth, layer):
    assert allen.cortical_layer(depth) == layer


def test_bad_depth_rejected():
    with pytest.raises(InvalidInput):
        allen.cortical_layer(float("nan"))


def test_window_means_are_exact():
    timestamps = np.arange(100) / 30.0
    dff = np.arange(100, dtype=np.float32)[None, :] * np.array([[1.0], [2.0]], dtype=np.float32)
    out = allen.presentation_responses(timestamps, dff, np.array([10, 90]), (0.0, 0.5))
    assert out[0, 0] == pytest.approx(np.mean(np.arange(10, 25)))   # 15 frames from onset
    assert out[1, 0] == pytest.approx(2 * np.mean(np.arange(10, 25)))
    assert np.isnan(out[:, 1]).all()                                # runs past the end of the trace
    shifted = allen.presentation_responses(timestamps, dff, np.array([10]), (0.1, 0.2))
    assert shifted[0, 0] == pytest.approx(np.mean(np.arange(13, 16)))


def test_fetch_on_the_fake(tmp_path):
    boc = FakeBrainObservatoryCache()
    ds = allen.fetch_allen(boc=boc, out=tmp_path / "allen.h5", progress=False)
    assert boc.opened == [1, 2]                         # VISli is not one of the six areas; sorted by id
    assert ds.n_stimuli == 118 and ds.stimuli.shape == (118, 918, 1174) and ds.stimuli.dtype == np.uint8
    np.testing.assert_array_equal(ds.stimulus_ids, np.arange(118))
    np.testing.assert_array_equal(ds.stimuli[:, 0, 0], np.arange(118))
    assert ds.responses.shape == (5, 3, 118)           # 3 + 2 cells; scene 5 was shown 3 times
    assert list(ds.cells["cell_id"]) == [10000, 10001, 10002, 20000, 20001]
    assert list(ds.cells["area"]) == ["VISp"] * 3 + ["VISl"] * 2
    assert list(ds.cells["cortical_layer"]) == ["L2/3"] * 3 + ["L5"] * 2
    assert ds.cells["cre_line"].iloc[0] == "Cux2-CreERT2"
    # responses: cell c's trace is 1000·c + frame, so a 15-frame window from onset s averages 1000·c + s + 7
    table = boc.get_ophys_experiment_data(1).get_stimulus_table("natural_scenes")
    for scene in (0, 5, 117):
        starts = table[table["frame"] == scene]["start"].to_numpy()
        for c in range(3):
            np.testing.assert_allclose(ds.responses[c, :len(starts), scene], 1000 * c + starts + 7)
    assert np.isnan(ds.responses[:, 1:, 7]).all() and np.isfinite(ds.responses[:, 0, 7]).all()
    assert np.isnan(ds.responses[:, 2, 0]).all()       # scenes shown twice: third trial missing
    # the 4 gray-screen presentations are kept apart, never among the 118
    blank_starts = table[table["frame"] == -1]["start"].to_numpy()
    np.testing.assert_allclose(ds.blank_responses[0], blank_starts + 7)
    assert ds.metadata["window_s"] == [0.0, 0.5] and ds.metadata["experiments"] == [1, 2]
    reloaded = load(tmp_path / "allen.h5")
    assert reloaded.content_hash() == ds.content_hash()


def test_max_experiments(tmp_path):
    ds = allen.fetch_allen(max_experiments=1, boc=FakeBrainObservatoryCache(), out=tmp_path / "a.h5", progress=False)
    assert set(ds.cells["experiment_id"]) == {1}


def test_truncated_download_is_replaced(tmp_path):
    (tmp_path / "1.nwb").write_bytes(b"truncated")
    boc = FakeBrainObservatoryCache(truncated_dir=tmp_path)
    allen.fetch_allen(boc=boc, out=tmp_path / "a.h5", progress=False)
    assert not (tmp_path / "1.nwb").exists() and boc.opened == [1, 2]


def test_no_network_writes_nothing(tmp_path):
    with pytest.raises(DataUnavailable, match="cannot reach the Allen Brain Observatory API"):
        allen.fetch_allen(boc=FakeBrainObservatoryCache(offline=True), out=tmp_path / "a.h5", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_offline_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(allen, "default_cache", lambda: FakeBrainObservatoryCache(offline=True))
    assert main(["dataset", "fetch", "allen"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internet" in err
    assert not allen.allen_path().exists()


@pytest.mark.network
def test_real_allen_one_experiment(tmp_path):
    ds = allen.fetch_allen(max_experiments=1, out=tmp_path / "allen.h5")
    assert ds.n_stimuli == 118 and ds.stimuli.shape[1:] == (918, 1174)
    assert ds.responses.shape[2] == 118 and ds.responses.shape[1] >= 48
    assert ds.blank_responses.shape[1] > 0
