import math

import numpy as np
import pandas as pd
import pytest
from fake_ecephys import BAD_PROBE, INVALID_PROBE_PRESENTATIONS, UNITS, FakeEcephysProjectCache, FakeSession

from mouse_rsa.cli import build_parser, main
from mouse_rsa.data import load, load_dataset
from mouse_rsa.data import neuropixels as npx
from mouse_rsa.errors import DataUnavailable, InvalidInput
from mouse_rsa.neural.sites import parse_site_key, select_sites, site_key

DEFAULT_FILTERS = {"amplitude_cutoff_maximum": 0.1, "presence_ratio_minimum": 0.95, "isi_violations_maximum": 0.5}


def fetch(tmp_path, cache=None, **options):
    cache = cache if cache is not None else FakeEcephysProjectCache(tmp_path / "sdk")
    return npx.fetch_neuropixels(cache=cache, out=tmp_path / "np.h5", progress=False, **options), cache


def expected_rates(session_id: int, units: list[int], window: str) -> tuple[np.ndarray, np.ndarray]:
    """(scenes units × 3 trials × 118, blank rate per unit) from the fake's planted spikes (its docstring)."""
    session = FakeSession(session_id, DEFAULT_FILTERS, True)
    everyone = [u for u, v in UNITS.items() if v[0] == session_id]
    table = session.get_stimulus_table("natural_scenes").sort_values("start_time")
    valid_position = {pid: i for i, pid in enumerate(session._presentations.index)}
    out = np.full((len(units), 3, 118), np.nan)
    late_window = window == "late"
    for row, unit in enumerate(units):
        k = everyone.index(unit)
        trials = {f: 0 for f in range(118)}
        for pid, frame in zip(table.index, table["frame"].astype(int)):
            if frame < 0:
                continue
            # probeB's invalid interval reaches 0.05 s into presentation 5: inside the window 0–0.25 s only
            lost = UNITS[unit][2] == BAD_PROBE and valid_position[pid] in INVALID_PROBE_PRESENTATIONS[:2 - late_window]
            late = 1 + (frame + k) % 3
            out[row, trials[frame], frame] = np.nan if lost else (late / 0.25 if window == "all" else late / 0.15)
            trials[frame] += 1
    blank = np.array([4.0 * (everyone.index(u) + 1) if window == "all" else 0.0 for u in units])
    return out, blank


def test_fetch_on_the_fake(tmp_path):
    ds, cache = fetch(tmp_path)
    # the brain_observatory_1.1 sessions by id, each read once with the SDK's filters stated
    assert [c[0] for c in cache.calls] == [10, 30] and cache.downloads == [10, 30]
    assert all(c[1:] == (True, DEFAULT_FILTERS) for c in cache.calls)
    assert ds.metadata["sessions"] == [10, 30] and ds.metadata["unit_filters"] == DEFAULT_FILTERS
    assert ds.metadata["window_s"] == [0.0, 0.25] and ds.modality == "neuropixels"
    # units: SDK quality filters, then visual areas only (VISp before VISl; CA1, LGd, LP left out)
    assert list(ds.cells["cell_id"]) == [101, 102, 104, 301, 303]
    assert list(ds.cells["area"]) == ["VISp", "VISp", "VISl", "VISam", "VISam"]
    assert set(ds.cells["cortical_layer"]) == {"all"} and ds.cells["imaging_depth_um"].isna().all()
    assert list(ds.cells["cre_line"]) == ["", "", "", "Sst-IRES-Cre", "Sst-IRES-Cre"]
    assert list(ds.cells["probe"]) == ["probeA", "probeA", "probeB", "probeC", "probeC"]
    # stimuli: the 118 SDK templates in frame order
    assert cache.templates == list(range(118)) and ds.stimuli.dtype == np.uint8
    np.testing.assert_array_equal(ds.stimuli[:, 0, 0], np.arange(118))
    # responses: spikes/s in 0–0.25 s less the blank rate; probeB's invalid interval and the presentation
    # the SDK marks invalid are missing
    assert ds.responses.shape == (5, 3, 118)
    for session, rows, units in ((10, slice(0, 3), [101, 102, 104]), (30, slice(3, 5), [301, 303])):
        rates, blank = expected_rates(session, units, "all")
        np.testing.assert_allclose(ds.responses[rows], rates, rtol=1e-6)
        np.testing.assert_allclose(ds.cells["blank_rate_hz"].to_numpy()[rows], blank)
    assert np.isnan(ds.responses[2]).sum() > np.isnan(ds.responses[0]).sum()   # unit 104 lost two presentations
    np.testing.assert_array_equal(ds.blank_responses[np.isfinite(ds.blank_responses)], 0.0)
    assert load(tmp_path / "np.h5").content_hash() == ds.content_hash()


def test_window_counts_only_its_spikes(tmp_path):
    ds, _ = fetch(tmp_path, window_s=(0.1, 0.25))
    rates, _ = expected_rates(10, [101, 102, 104], "late")
    np.testing.assert_allclose(ds.responses[:3], rates, rtol=1e-6)
    np.testing.assert_array_equal(ds.cells["blank_rate_hz"], 0.0)    # the early spikes fall outside the window
    assert ds.metadata["window_s"] == [0.1, 0.25]
    for bad in ((0.25, 0.1), (0.0, 0.0), (0.0, math.nan)):
        with pytest.raises(InvalidInput, match="START < END"):
            fetch(tmp_path, window_s=bad)


def test_unit_filters_are_passed_to_the_sdk_and_applied(tmp_path):
    ds, cache = fetch(tmp_path, filters=npx.UnitFilters(amplitude_cutoff_maximum=math.inf, isi_violations_maximum=0))
    assert cache.calls[0][2] == {"amplitude_cutoff_maximum": math.inf, "presence_ratio_minimum": 0.95,
                                 "isi_violations_maximum": 0}
    # 103 (cutoff 0.3) is back; 102 and 104 (ISI violations 0.2, 0.1) are out although the SDK reads 0 as no limit
    assert list(ds.cells["cell_id"]) == [101, 103, 301, 303]
    units = pd.DataFrame({"amplitude_cutoff": [0.05, 0.2, np.nan], "presence_ratio": [0.99, 0.99, 0.99],
                          "isi_violations": [0.0, 0.0, 0.0]}, index=[1, 2, 3])
    assert list(npx.quality_units(units, npx.UnitFilters()).index) == [1]   # NaN fails, as in the SDK
    with pytest.raises(InvalidInput, match="at least 0"):
        npx.UnitFilters(isi_violations_maximum=-1)
    with pytest.raises(InvalidInput, match="must be a number"):
        npx.UnitFilters(presence_ratio_minimum=math.nan)


def test_unit_filter_defaults_are_the_sdks_and_the_clis():
    from allensdk.brain_observatory.ecephys import UNIT_FILTER_DEFAULTS

    assert {k: v["value"] for k, v in UNIT_FILTER_DEFAULTS.items()} == DEFAULT_FILTERS
    fetch_parser = build_parser()._subparsers._group_actions[0].choices["dataset"]._subparsers._group_actions[0]
    helps = {a.dest: a.help for a in fetch_parser.choices["fetch"]._actions}
    for name, value in DEFAULT_FILTERS.items():
        assert f"default {value}" in helps[name]


def test_sites_group_units_by_area_and_the_thalamus_on_request(tmp_path):
    ds, _ = fetch(tmp_path, thalamus=True)
    assert list(ds.cells["cell_id"]) == [101, 102, 104, 105, 301, 303, 302]   # LGd after VISl, LP after VISam
    assert ds.metadata["areas"] == ["VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl", "LGd", "LP"]
    sites = select_sites(ds, threshold=-1, min_cells=1)
    assert [s.key for s in sites.sites] == ["VISp", "VISl", "VISam", "LGd", "LP"]
    assert [s.n_cells for s in sites.sites] == [2, 1, 2, 1, 1]
    assert site_key("LGd", "all") == "LGd" and parse_site_key("VISp") == ("VISp", "all")
    assert parse_site_key("VISp_L23") == ("VISp", "L2/3")
    with pytest.raises(InvalidInput, match="unknown site key"):
        parse_site_key("LGd_L23x")


def test_invalid_intervals_mask_only_their_probe():
    onsets = np.array([0.0, 0.25, 0.5, 0.75])
    invalid = pd.DataFrame({"start_time": [0.3, 0.9], "stop_time": [0.4, 0.95],
                            "tags": [["EcephysProbe", "1", "probeB"], ["EcephysSession", "2", "all_probes"]]})
    mask = npx.invalid_presentations(onsets, (0.0, 0.25), np.array(["probeA", "probeB"]), invalid)
    np.testing.assert_array_equal(mask, [[False, False, False, True], [False, True, False, True]])


def test_evoked_rates_by_hand():
    # one unit, two scenes shown twice, two blanks: counts in a 0.5 s window
    counts = np.array([[3, 1, 5, 2, np.nan, 4]], dtype=float)
    frame = np.array([0, -1, 1, 0, 1, -1])
    scenes, blanks, baseline = npx.evoked_rates(counts, frame, (0.0, 0.5))
    assert scenes.shape == (1, 2, 118) and baseline[0] == pytest.approx(5.0)     # (2 + 8) / 2 spikes/s
    np.testing.assert_allclose(scenes[0, :, 0], [1.0, -1.0])                     # 6 − 5, 4 − 5
    np.testing.assert_allclose(scenes[0, :, 1], [5.0, np.nan])
    np.testing.assert_allclose(blanks[0], [-3.0, 3.0])
    assert np.isnan(scenes[0, :, 2:]).all()
    with pytest.raises(InvalidInput, match="no blank"):
        npx.evoked_rates(counts[:, [0, 2]], frame[[0, 2]], (0.0, 0.5))


def test_download_failing_half_way_is_resumed(tmp_path):
    failing = FakeEcephysProjectCache(tmp_path / "sdk", fail={30: 3})
    with pytest.raises(DataUnavailable, match="session 30 .*Timeout.*run `mouse-rsa dataset fetch allen-neuropixels` "
                                              "again"):
        fetch(tmp_path, cache=failing)
    assert failing.downloads == [10] and not (tmp_path / "np.h5").exists()
    assert not failing.session_path(30).exists()                   # the SDK removed the half-written file
    failing.session_path(30).parent.mkdir(exist_ok=True)
    failing.session_path(30).write_bytes(b"complete"[:4])           # ... or a killed process left one behind
    resumed = FakeEcephysProjectCache(tmp_path / "sdk")
    ds, _ = fetch(tmp_path, cache=resumed)
    assert resumed.downloads == [30]                                # session 10 is not downloaded again
    assert list(ds.cells["cell_id"]) == [101, 102, 104, 301, 303]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["np.h5", "sdk"]


def test_no_network_writes_nothing(tmp_path):
    with pytest.raises(DataUnavailable, match="cannot reach the Allen Brain Observatory API"):
        fetch(tmp_path, cache=FakeEcephysProjectCache(tmp_path / "sdk", offline=True))
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MOUSE_RSA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataUnavailable, match="run `mouse-rsa dataset fetch allen-neuropixels` or use the "
                                              "demo-neuropixels dataset"):
        load_dataset("allen-neuropixels")
    monkeypatch.setattr(npx, "default_cache", lambda timeout_s: FakeEcephysProjectCache(tmp_path, offline=True))
    assert main(["dataset", "fetch", "allen-neuropixels"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internet" in err and not npx.neuropixels_path().exists()
    assert main(["dataset", "fetch", "allen", "--isi-violations-maximum", "0"]) == 2
    assert "--isi-violations-maximum applies to `dataset fetch allen-neuropixels` only" in capsys.readouterr().err
    assert main(["dataset", "fetch", "allen-neuropixels", "--isi-violations-maximum", "-1"]) == 2
    assert "--isi-violations-maximum must be at least 0, not -1" in capsys.readouterr().err
    caches = []
    monkeypatch.setattr(npx, "default_cache", lambda timeout_s: caches.append(timeout_s) or
                        FakeEcephysProjectCache(tmp_path / "sdk"))
    assert main(["dataset", "fetch", "allen-neuropixels", "--max-sessions", "1", "--presence-ratio-minimum", "0.97",
                 "--timeout", "60"]) == 0
    assert caches == [60.0] and "wrote" in capsys.readouterr().out
    ds = load_dataset("allen-neuropixels")
    assert ds.metadata["sessions"] == [10] and list(ds.cells["cell_id"]) == [101, 102, 104]


def test_default_cache_is_the_sdks_warehouse_cache(tmp_path):
    from allensdk.brain_observatory.ecephys.ecephys_project_api.http_engine import write_from_stream
    from allensdk.brain_observatory.ecephys.ecephys_project_cache import EcephysProjectCache

    cache = npx.default_cache(120)   # builds the real SDK object; nothing is downloaded
    assert isinstance(cache, EcephysProjectCache) and cache.fetch_tries == npx.FETCH_TRIES
    assert cache.fetch_api.rma_engine.timeout == 120 and cache.stream_writer is write_from_stream
    root = npx.neuropixels_path().parent.parent / "allen-neuropixels"
    assert cache.manifest_path == str(root / "manifest.json")
    nwb = cache.get_cache_path(None, cache.SESSION_NWB_KEY, 30, 30)   # the layout the fake keeps
    assert nwb == str(FakeEcephysProjectCache(root).session_path(30))


@pytest.mark.network
def test_real_allen_one_session(tmp_path):
    ds = npx.fetch_neuropixels(max_sessions=1, out=tmp_path / "np.h5")   # one 2–3 GB session file
    assert ds.n_stimuli == 118 and ds.stimuli.shape[1:] == (918, 1174)
    assert ds.responses.shape[2] == 118 and ds.responses.shape[1] >= 45 and ds.blank_responses.shape[1] > 0
    assert set(ds.cells["area"]) <= set(npx.AREAS) and ds.n_cells > 0


def test_demo_neuropixels_matches_its_documentation(demo_neuropixels, demo, capsys):
    from mouse_rsa.data import demo as demo_module
    from mouse_rsa.data import demo_neuropixels as module
    from mouse_rsa.neural.reliability import split_half_reliability
    from mouse_rsa.rdm import pearson, rdm, rdm_from_gram, upper

    ds = demo_neuropixels
    assert ds.modality == "neuropixels" and ds.metadata["site_scheme"] == "area"
    assert ds.responses.shape == (564, 50, 118) and ds.blank_responses.shape == (564, 50)
    np.testing.assert_array_equal(ds.stimuli, demo.stimuli)          # the 2-photon demo's stimuli
    assert set(ds.cells["area"]) == set(module.AREAS) and set(ds.cells["cortical_layer"]) == {"all"}
    truth = ds.metadata["ground_truth"]
    assert truth["VISp"]["model"] == "gabor" and truth["VISam"]["layer"] == "features.13"
    assert truth["VISrl"] == demo.metadata["ground_truth"]["VISrl_L23"]
    # Poisson counts in 0.25 s: rate + blank rate is a whole number of spikes per 0.25 s
    counts = (ds.responses + ds.cells["blank_rate_hz"].to_numpy(np.float32)[:, None, None]) * 0.25
    assert np.nanmax(np.abs(counts - np.round(counts))) < 1e-4 and np.nanmin(counts) >= 0
    assert np.nanmax(np.abs(np.nanmean(ds.blank_responses, axis=1))) < 1e-5   # blanks less their own mean
    assert 0.002 < np.isnan(ds.responses).mean() < 0.01
    measured = split_half_reliability(ds.responses)
    assert np.nanmean(np.abs(measured - ds.cells["true_reliability"])) < 0.08   # the planted reliabilities
    assert ds.content_hash() == module.REFERENCE_HASH                         # the same file on every machine
    # evoked rates keep the planted geometry; raw rates bury it under every unit's spontaneous rate
    _, _, roots = demo_module.ground_truth_design()
    means = np.nanmean(ds.responses, axis=1)
    for area in ("VISp", "VISl", "VISam"):
        units = np.flatnonzero(ds.cells["area"] == area)
        root = roots[demo_module.GROUND_TRUTH[area]]
        planted = upper(rdm_from_gram(root @ root))
        raw = means[units] + ds.cells["blank_rate_hz"].to_numpy()[units, None]
        assert pearson(upper(rdm(means[units].T)), planted) > 0.2 and abs(pearson(upper(rdm(raw.T)), planted)) < 0.1
    assert main(["dataset", "info", "demo-neuropixels"]) == 0
    out = capsys.readouterr().out
    assert "(neuropixels, sites: area)" in out and "6 sites" in out
    assert "VISp" in out and "gabor (fixed) energy" in out and "mobilenet_v2 (random) features.13" in out


def test_benchmark_on_demo_neuropixels_recovers_the_planted_layers(demo_neuropixels, modality_results):
    from mouse_rsa.results import read_layers, read_scores

    truth = demo_neuropixels.metadata["ground_truth"]
    scores = read_scores(modality_results)
    scores = scores[scores["dataset"] == "demo-neuropixels"]
    layers = read_layers(modality_results)
    layers = layers[(layers["dataset"] == "demo-neuropixels") & (layers["model"] == "mobilenet_v2")]
    early = [s for s, t in truth.items() if t["layer"] == "features.3"]
    late = [s for s, t in truth.items() if t["layer"] == "features.13"]
    assert len(early) == 3 and len(late) == 2 and truth["VISp"]["model"] == "gabor"
    for method in ("rsa_nnls", "encoding_ridge"):
        site = scores[scores["method"] == method].pivot(index="site", columns="model", values="score")
        assert (site.loc[early + late, "mobilenet_v2"] > site.loc[early + late, "gabor"]).all()
        assert site.loc["VISp", "gabor"] > max(site.loc["VISp", "mobilenet_v2"], site.loc["VISp", "pixels"])
        profile = layers[layers["method"] == method].pivot(index="site", columns="layer", values="layer_score")
        assert (profile.loc[early, "features.3"] > profile.loc[early, "features.13"]).all()
        assert (profile.loc[late, "features.13"] > profile.loc[late, "features.3"]).all()
        depth = scores[(scores["method"] == method) & (scores["model"] == "mobilenet_v2")].set_index("site")
        assert depth.loc[early, "best_layer_depth"].max() < depth.loc[late, "best_layer_depth"].min()
