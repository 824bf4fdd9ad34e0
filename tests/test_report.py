"""``mouse-rsa report``: the pages, what the leaderboard shows (every column, human labels, missing as
missing), the self-contained site, its whole replacement, and the commands it rebuilds."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_analysis import ARCHITECTURES, SITES, TASKS, catalogue

from mouse_rsa import leaderboard, report
from mouse_rsa.cli import main
from mouse_rsa.report import content, labels, provenance

PAGES = ["index.html", "models.html", "compare.html", "analysis.html", "about.html"]


class Page(HTMLParser):
    """The tables (headers, rows of cell texts and data attributes) and every src/href of one page."""

    def __init__(self, path: Path):
        super().__init__()
        self.tables: list[dict] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self.feed(path.read_text())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[a] for a in ("src", "href") if a in attrs]
        if tag == "table" and "data-columns" in attrs:
            self.tables.append({"id": attrs["id"], "columns": json.loads(attrs["data-columns"]), "headers": [],
                                "rows": []})
        elif tag == "th" and self.tables and "data-key" in attrs:
            self.tables[-1]["headers"].append(attrs["data-key"])
            self._cell = None
        elif tag == "tr" and "data-row" in attrs:
            self.tables[-1]["rows"].append({"data": json.loads(attrs["data-row"]), "cells": [],
                                            "attrs": {k[5:]: v for k, v in attrs.items() if k.startswith("data-")}})
        elif tag == "td" and self.tables and self.tables[-1]["rows"]:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.tables[-1]["rows"][-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None


def test_every_page_is_written(synthetic_site):
    root, index = synthetic_site
    site = index.parent
    assert site == root / "report"
    for name in PAGES:
        assert (site / name).is_file()
    models = {m for m in [*ARCHITECTURES, *TASKS, "pixels"]}
    assert {p.stem for p in (site / "models").glob("*.html")} == models
    assert {p.name for p in (site / "figures").glob("*.png")} == {p.name for p in (root / "figures").glob("*.png")}


def test_leaderboard_shows_every_rank_column_under_a_human_label(synthetic_site, monkeypatch):
    root, index = synthetic_site
    monkeypatch.setattr(leaderboard, "_metadata", lambda: catalogue().set_index("name")[["n_params", "depth",
                                                                                           "source"]])
    board = leaderboard.rank(root)
    page = Page(index)
    scopes = board.groupby(["dataset", "method", "layer_set", "settings_key"]).ngroups
    assert len(page.tables) == scopes == 2  # latent and all layers
    html = index.read_text()
    for table in page.tables:
        assert table["columns"] == list(board.columns)  # the download keeps every column of rank()
        hidden = {"dataset", "method", "layer_set", "settings_key", "bootstrap_seed", "settings", "ci_high", "rank_high"}
        assert set(table["headers"]) == set(board.columns) - hidden
    for column in ("mean score", "95% CI", "mean signed r²", "pretrained − random", "parameters"):
        assert f">{column}</button>" in html
    assert ">mean_score</button>" not in html
    assert labels.method_title("rsa_nnls") in html  # sections are titled by the method's metric, not its key


def test_missing_results_are_shown_as_missing_never_as_zero(synthetic_site):
    _, index = synthetic_site
    latent = next(t for t in Page(index).tables if any(r["data"]["layer_set"] == "latent" for r in t["rows"]))
    headers = latent["headers"]
    by_model = {(r["data"]["model"], r["data"]["weights"]): r for r in latent["rows"]}
    # architectures and the baseline ran all layers only: in the latent table they are "not run"
    for model in ("alexnet", "pixels"):
        row = by_model[(model, "random" if model == "alexnet" else "fixed")]
        assert "not run" in row["cells"][headers.index("rank")]
        assert row["cells"][headers.index("mean_score")] == labels.MISSING
        assert row["data"]["mean_score"] is None
    task = by_model[("taskonomy_2d_1", "pretrained")]
    assert task["cells"][headers.index("pretrained_minus_random")] == labels.MISSING  # no random twin
    assert float(task["cells"][headers.index("mean_score")]) == pytest.approx(task["data"]["mean_score"], abs=5e-4)


def test_columns_rank_gains_later_are_shown(synthetic_site, monkeypatch, tmp_path):
    root, _ = synthetic_site
    original = leaderboard.rank

    def with_statistics(directory, *args, **kwargs):
        table = original(directory, *args, **kwargs)
        return table.assign(n_seeds=1, seed_sd=np.nan, chance_mean=0.01, rank_low=table["rank"],
                            rank_high=table["rank"] + 1, identical_to="", p_permutation=0.004, new_statistic=2.5)

    monkeypatch.setattr(leaderboard, "rank", with_statistics)
    monkeypatch.setattr(leaderboard, "_metadata", lambda: catalogue().set_index("name")[["n_params", "depth",
                                                                                           "source"]])
    import model_zoo

    monkeypatch.setattr(model_zoo, "catalogue", catalogue)
    html = report.build(root, tmp_path / "site").read_text()
    for text in (">seeds</button>", ">SD over seeds</button>", ">chance level</button>", ">rank interval</button>",
                 ">p (permutation)</button>", ">new statistic</button>", ">0.0040<", "[1, 2]"):
        assert text in html.replace(">0.004<", ">0.0040<"), text


def test_site_is_self_contained(synthetic_site):
    _, index = synthetic_site
    site = index.parent
    for path in site.rglob("*.html"):
        for link in Page(path).links:
            assert not re.match(r"^(https?:)?//", link), (path, link)
            target = (path.parent / link.split("#")[0]).resolve()
            assert target.exists(), (path, link)
    css = (site / "assets" / "site.css").read_text()
    assert re.findall(r"url\((?!data:)", css) == []  # the font is inlined
    for name in ("vega", "vega-lite", "vega-embed"):
        assert (site / "assets" / "vendor" / f"{name}.min.js").stat().st_size > 10_000
        assert "Redistribution and use" in (site / "assets" / "vendor" / f"LICENSE-{name}").read_text()


def test_model_page_shows_scores_profiles_and_provenance(synthetic_site, monkeypatch):
    root, _ = synthetic_site
    monkeypatch.setattr(__import__("model_zoo"), "catalogue", catalogue)
    res = content.read(root)
    page = content.model_page(res, "alexnet")
    assert [c["title"]["text"] for c in page.site_charts] == ["Score per site · all layers"]
    values = pd.DataFrame(page.site_charts[0]["layer"][0]["data"]["values"] if "data" in page.site_charts[0]["layer"][0]
                          else page.site_charts[0]["data"]["values"])
    scores = res.scores[(res.scores["model"] == "alexnet")]
    assert len(values) == len(scores) == 2 * len(SITES)
    assert values["ceiling_r"].to_numpy() == pytest.approx(np.sqrt(0.8))  # r² ceiling drawn as r
    assert len(page.profile_charts) == 2  # pretrained and random, 8 layers each
    assert len(page.best_layers.rows) == 2 * len(SITES)
    assert "pretrained − random" in page.weights_note
    keys = {row.csv["unit_key"] for row in page.units.rows}
    assert keys == set(scores["unit_key"])


def test_commands_rebuild_every_unit():
    def record(model, weights, seed, method, layers="all", **settings):
        key = {"model": model, "weights": weights, "model_seed": seed, "method": method, "layer_set": layers}
        return {"key": key, "unit": {"settings": {"dataset": "demo", "model_seed": seed, "layers": layers,
                                                  "folds": 6, "weights_file": None, **settings}}}

    units = [record(m, "random", s, meth) for m in ("alexnet", "resnet18") for s in (0, 1)
             for meth in ("rsa_nnls", "encoding_ridge")]
    units += [record("gabor", "fixed", s, meth) for s in (0, 1) for meth in ("rsa_nnls", "encoding_ridge")]
    units += [record("vgg11", w, 0, "rsa_nnls", folds=10) for w in ("pretrained", "random")]
    units += [record("taskonomy_jigsaw", "random", 0, "rsa_nnls", layers="latent")]
    assert provenance.commands(units, "res") == [
        ("mouse-rsa benchmark --model alexnet gabor resnet18 --weights random --method all --layers all --seeds 0 1 "
         "--dataset demo --out res"),
        ("mouse-rsa benchmark --model taskonomy_jigsaw --weights random --method rsa_nnls --layers latent --seeds 0 "
         "--dataset demo --out res"),
        ("mouse-rsa benchmark --model vgg11 --weights both --method rsa_nnls --layers all --seeds 0 --dataset demo "
         "--folds 10 --out res"),
    ]


def test_a_failed_build_leaves_the_old_site(synthetic_site, monkeypatch, tmp_path):
    root, _ = synthetic_site
    monkeypatch.setattr(__import__("model_zoo"), "catalogue", catalogue)
    out = tmp_path / "site"
    report.build(root, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(content, "model_page", broken)
    with pytest.raises(RuntimeError):
        report.build(root, out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left behind


def test_report_command(synthetic_site, monkeypatch, tmp_path, capsys):
    root, _ = synthetic_site
    monkeypatch.setattr(__import__("model_zoo"), "catalogue", catalogue)
    assert main(["report", str(root), "-o", str(tmp_path / "site")]) == 0
    assert f"wrote {tmp_path / 'site' / 'index.html'}" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no whole result under" in capsys.readouterr().err
    assert main(["report", str(root), "-o", str(root / "analysis" / "summary.txt")]) == 2
    assert "is a file; choose a directory" in capsys.readouterr().err
