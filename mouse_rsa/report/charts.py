"""Vega-Lite specifications of the report's interactive charts, built from result tables (plain dicts;
the vendored vega-embed draws them in the page, offline).

Every encoding has a legend, every axis names its metric, and ceilings are drawn where the results
have them: a ceiling in r² units is drawn on an r axis as its square root (the largest r a model can
reach).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..figures.style import AREA_COLORS, OTHER_COLOR, WEIGHT_COLORS, area_order
from . import labels

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only; nothing is fetched
FONT = "Atkinson Hyperlegible, DejaVu Sans, sans-serif"
CONFIG = {"font": FONT, "axis": {"labelFontSize": 11, "titleFontSize": 12},
          "legend": {"labelFontSize": 11, "titleFontSize": 12}, "title": {"fontSize": 13, "anchor": "start"}}
CEILING = "noise ceiling (√ of r² ceiling)"
SEED = "one model seed"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: labels.raw(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _spec(title: str, body: dict[str, Any], subtitle: str = "") -> dict[str, Any]:
    heading: dict[str, Any] = {"text": title}
    if subtitle:
        heading["subtitle"] = subtitle
    return {"$schema": SCHEMA, "title": heading, "config": CONFIG, **body}


def area_scale(areas) -> dict[str, list[str]]:
    order = area_order(pd.Series(list(areas)))
    return {"domain": order, "range": [AREA_COLORS.get(a, OTHER_COLOR) for a in order]}


def site_scores(rows: pd.DataFrame, method: str, layer_set: str) -> dict[str, Any]:
    """Bars of the mean score per site (over model seeds) for each kind of weights, every seed as a dot,
    and each site's ceiling as a black tick (the legend lists all three: its colour scale's domain names the
    seeds and the ceiling too). ``rows``: one method × layer set of one model's scores."""
    sites = rows.drop_duplicates("site")
    order = [s for a in area_order(sites["area"]) for s in sites.loc[sites["area"] == a, "site"]]
    kinds = sorted(rows["weights"].unique())
    data = rows[["site", "area", "weights", "model_seed", "score", "ceiling"]].assign(
        ceiling_r=np.sqrt(rows["ceiling"].clip(lower=0)), kind=rows["weights"].map(labels.weights_label))
    domain = [labels.weights_label(w) for w in kinds] + [SEED] + ([CEILING] if data["ceiling"].notna().any() else [])
    colors = [WEIGHT_COLORS.get(w, OTHER_COLOR) for w in kinds] + ["#222222", "#000000"]
    legend = {"field": "kind", "type": "nominal", "title": None, "scale": {"domain": domain, "range": colors},
              "legend": {"orient": "top", "direction": "horizontal"}}
    x = {"field": "site", "type": "nominal", "sort": order, "title": "neural site (area, cortical layer)",
         "axis": {"labelAngle": -45}}
    offset = {"field": "kind", "type": "nominal", "sort": domain}
    y_title = labels.method_title(method)
    tooltip = [{"field": "site"}, {"field": "kind", "title": "weights"},
               {"field": "score", "aggregate": "mean", "format": ".3f", "title": "mean score"},
               {"field": "model_seed", "aggregate": "count", "title": "seeds"}]
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "bar"}, "encoding": {"x": x, "xOffset": offset, "color": legend, "tooltip": tooltip,
                                               "y": {"field": "score", "aggregate": "mean", "type": "quantitative",
                                                     "title": y_title}}},
        {"mark": {"type": "point", "filled": True, "size": 16, "opacity": 0.9, "color": colors[len(kinds)]},
         "encoding": {"x": x, "xOffset": offset, "y": {"field": "score", "type": "quantitative"},
                      "tooltip": [{"field": "site"}, {"field": "kind", "title": "weights"},
                                  {"field": "model_seed", "title": "model seed"},
                                  {"field": "score", "format": ".3f"}]}},
    ]
    if data["ceiling"].notna().any():
        layers.append({"mark": {"type": "tick", "thickness": 2, "size": 18, "color": colors[-1]},
                       "encoding": {"x": x, "y": {"field": "ceiling_r", "aggregate": "mean", "type": "quantitative"},
                                    "tooltip": [{"field": "site"},
                                                {"field": "ceiling", "aggregate": "mean", "format": ".3f",
                                                 "title": "ceiling (r²)"}]}})
    return _spec(f"Score per site · {labels.layer_set_label(layer_set)}",
                 {"width": max(360, 26 * len(order) * max(1, len(kinds))), "height": 220,
                  "data": {"values": _records(data)}, "layer": layers}, labels.method_title(method))


def layer_profile(rows: pd.DataFrame, method: str, layer_set: str, weights: str) -> dict[str, Any]:
    """Per area, the mean per-layer score over its sites and the model's seeds against the layer's index
    (forward order); hovering names the layer. ``rows``: the layers table of one model × method × layer
    set × weights."""
    profile = rows.groupby(["area", "layer_index", "layer"], as_index=False)["layer_score"].mean()
    areas = area_order(profile["area"])
    return _spec(f"Layer profile per area · {labels.weights_label(weights)} weights",
                 {"width": 520, "height": 240, "data": {"values": _records(profile)},
                  "mark": {"type": "line", "point": {"size": 18}},
                  "encoding": {
                      "x": {"field": "layer_index", "type": "quantitative", "title": "layer (forward order)"},
                      "y": {"field": "layer_score", "type": "quantitative", "title": labels.layer_label(method)},
                      "color": {"field": "area", "type": "nominal", "title": "visual area",
                                "scale": area_scale(areas), "sort": areas},
                      "tooltip": [{"field": "area"}, {"field": "layer"}, {"field": "layer_index", "title": "index"},
                                  {"field": "layer_score", "format": ".3f", "title": "mean over sites"}]}},
                 f"{labels.method_title(method)} · {labels.layer_set_label(layer_set)}")
