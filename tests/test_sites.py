import numpy as np
import pandas as pd
import pytest

from mouse_rsa.data.dataset import NeuralDataset
from mouse_rsa.errors import InvalidInput
from mouse_rsa.neural.sites import parse_site_key, select_sites, site_key


def _dataset(cells_per_site, noise):
    rng = np.random.default_rng(0)
    rows, blocks = [], []
    for (area, layer), n in cells_per_site.items():
        tuning = rng.normal(size=(n, 1, 20))
        blocks.append(np.repeat(tuning, 10, axis=1) + noise * rng.normal(size=(n, 10, 20)))
        rows += [{"cell_id": len(rows) + i, "experiment_id": 1, "area": area, "imaging_depth_um": 175.0,
                  "cortical_layer": layer, "cre_line": "x"} for i in range(n)]
    return NeuralDataset("t", np.zeros((20, 4, 4), np.uint8), np.arange(20), np.concatenate(blocks),
                         pd.DataFrame(rows))


def test_sites_group_reliable_cells_and_drop_small_sites():
    ds = _dataset({("VISp", "L2/3"): 12, ("VISl", "L4"): 5, ("VISam", "L5"): 11}, noise=0.01)
    sel = select_sites(ds, min_cells=10, n_splits=2)
    assert [s.key for s in sel.sites] == ["VISp_L23", "VISam_L5"]  # area order VISp, VISl, VISal, VISpm, VISam
    assert [s.n_cells for s in sel.sites] == [12, 11]
    assert sel.dropped.to_dict(orient="records") == [
        {"area": "VISl", "cortical_layer": "L4", "n_cells": 5, "n_reliable": 5}]
    assert all(s.ceiling > 0.99 for s in sel.sites)


def test_unreliable_cells_are_left_out():
    ds = _dataset({("VISp", "L2/3"): 12}, noise=100.0)
    sel = select_sites(ds, min_cells=1, n_splits=2)
    assert sel.reliable.sum() == 0 and sel.sites == []


def test_site_keys_round_trip_and_reject_unknown():
    assert site_key("VISp", "L2/3") == "VISp_L23"
    assert parse_site_key("VISal_L4") == ("VISal", "L4")
    assert parse_site_key("VISp") == ("VISp", "all") and parse_site_key("LP") == ("LP", "all")  # whole areas
    for bad in ("VISx_L4", "VISp_L7", "VISp_all", "LGd_L4", "VISx"):
        with pytest.raises(InvalidInput, match="unknown site key"):
            parse_site_key(bad)
