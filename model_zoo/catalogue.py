"""The catalogue: models with metadata (catalogue.csv), and name lookup across every source.

catalogue.csv columns: name, source (torchvision | timm | taskonomy | baseline), family, training
(what ``pretrained`` means: imagenet, a taskonomy task, or none), weights_tag (torchvision weights
enum member used for ``pretrained``), input_size (px), n_params, depth (number of extracted layers).
n_params and depth are measured, not typed: ``python -m model_zoo.catalogue`` rebuilds them.
"""
from __future__ import annotations

import difflib
import fnmatch
import functools
import sys
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from .errors import InvalidInput

from .sources import baselines, taskonomy, timm_models, torchvision_models

SOURCES = {
    "torchvision": torchvision_models,
    "timm": timm_models,
    "taskonomy": taskonomy,
    "baseline": baselines,
}
COLUMNS = ["name", "source", "family", "training", "weights_tag", "input_size", "n_params", "depth"]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: str
    family: str = ""
    training: str = ""
    weights_tag: str = ""
    input_size: float = float("nan")
    n_params: float = float("nan")
    depth: float = float("nan")

    @property
    def weights_kinds(self) -> tuple[str, ...]:
        """The weights this model can carry: pretrained and random, or the baseline's own kind."""
        if self.source == "baseline":
            return baselines.weights_kinds(self.name)
        return ("pretrained", "random")


@functools.lru_cache(maxsize=1)
def catalogue() -> pd.DataFrame:
    """The catalogue table (a fresh copy is not made: do not modify it)."""
    with resources.files("model_zoo").joinpath("catalogue.csv").open() as f:
        table = pd.read_csv(f, keep_default_na=False, na_values={c: [""] for c in ("input_size", "n_params", "depth")})
    return table[COLUMNS]


def info(name: str) -> ModelInfo:
    """Metadata for ``name``: the catalogue row, or the source alone for other torchvision/timm names."""
    rows = catalogue()[catalogue()["name"] == name]
    if len(rows):
        return ModelInfo(**rows.iloc[0].to_dict())
    if name in torchvision_models.names():
        return ModelInfo(name, "torchvision", training="imagenet")
    bare = name.removeprefix("timm/")
    if timm_models.is_known(bare):
        return ModelInfo(bare, "timm", training="imagenet")
    close = difflib.get_close_matches(name, _all_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `mouse-rsa models`"
    raise InvalidInput(f"unknown model {name!r}{hint}")


def list_models(pattern: str | None = None, include_all: bool = False) -> pd.DataFrame:
    """Catalogue rows whose name matches the glob ``pattern``; with ``include_all``, every other
    torchvision and timm name too (their n_params and depth are left empty)."""
    table = catalogue()
    if include_all:
        known = set(table["name"])
        extra = [{"name": n, "source": "torchvision", "training": "imagenet"}
                 for n in torchvision_models.names() if n not in known]
        extra += [{"name": n, "source": "timm", "training": "imagenet"}
                  for n in timm_models.names() if n not in known]
        table = pd.concat([table, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    if pattern:
        table = table[[fnmatch.fnmatchcase(n, pattern) for n in table["name"]]]
    return table.reset_index(drop=True)


def _all_names() -> list[str]:
    return list(catalogue()["name"]) + torchvision_models.names() + timm_models.names()


def _measure(name: str) -> dict:
    """n_params, depth and input size of one catalogue model, measured on a random-weight build."""
    import torch

    from . import create
    from .layers import layer_names

    model = create(name, weights=offline_weights(name), seed=0)
    example = model.preprocess(torch.zeros(1, model.input_size, model.input_size, dtype=torch.uint8).numpy())
    return {"n_params": sum(p.numel() for p in model.module.parameters()),
            "depth": len(layer_names(model.module, example)), "input_size": model.input_size}


def refresh(path=None) -> pd.DataFrame:
    """Re-measure n_params and depth of every catalogue row and rewrite catalogue.csv."""
    table = catalogue().copy()
    for i, name in enumerate(table["name"]):
        measured = _measure(name)
        for column, value in measured.items():
            table.loc[i, column] = value
        print(f"{name}: {measured}", file=sys.stderr)
    table[["input_size", "n_params", "depth"]] = table[["input_size", "n_params", "depth"]].astype("Int64")
    table.to_csv(path or resources.files("model_zoo").joinpath("catalogue.csv"), index=False)
    catalogue.cache_clear()
    return table


def offline_weights(name: str) -> str:
    """Weights that need no download: 'random', or the baseline's own kind."""
    kinds = info(name).weights_kinds
    return "random" if "random" in kinds else kinds[0]


if __name__ == "__main__":
    refresh()
