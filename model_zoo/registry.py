"""The catalogue of models with their metadata (catalogue.csv), and name lookup across every source.

Importing this module, ``info`` for catalogued names and ``catalogue()`` load no torch, torchvision
or timm (``catalogue()`` and ``list_models`` import pandas); other torchvision and timm names are
looked up in those libraries.

catalogue.csv columns:

* ``name``, ``source`` (torchvision | timm | taskonomy | baseline), ``family``.
* ``training``: what ``pretrained`` means. ``imagenet`` only for supervised ImageNet-1k training;
  ``taskonomy:<task>`` for the Taskonomy encoders; ``none`` for the baselines. Names looked up in
  timm get a label from timm's pretrained config (``self-supervised:dino``, ``image-text:clip``,
  ``imagenet-21k+imagenet`` for 21k pretraining fine-tuned on 1k, ...; see ``sources.timm_models``).
* ``weights_tag``: the torchvision weights enum member used for ``pretrained``.
* ``input_size`` (px), ``n_params``.
* ``depth``: the number of layers with weights, as the study defines depth (seed 001, 3.1): the
  convolution and linear modules that a forward pass runs (each counted once; modules that exist
  but do not run in eval mode, like GoogLeNet's auxiliary classifiers, are not counted). The
  baselines have none: 0.
* ``n_layers``: the number of tapped layers, i.e. what the feature extractor yields (``layers``).
* ``cluster``: the taskonomic cluster of each ``taskonomy_<task>`` row, one of 2D, 3D, semantic,
  geometric, miscellaneous (seed 001, 2.3; empty for other rows). The assignment is the study
  authors' own (``model_opts/task_typology.csv`` of github.com/ColinConwell/DeepMouseTrap, the
  2020 version: its ``Other`` is the paper's miscellaneous), which follows the Taskonomy task
  similarity tree (Zamir et al. 2018, CVPR). That file leaves colorization (a Taskonomy
  source-only task, absent from the transfer clustering) unassigned: it is miscellaneous here.
  Surface normals are ``Other`` there, as used here; the authors' 2021 revision moved them to 3D.
* ``top1``, ``top5`` (% ImageNet-1k validation accuracy) and ``gflops``: torchvision's weights
  metadata (``meta['_metrics']['ImageNet-1K']``, ``meta['_ops']``) of the ``weights_tag`` weights.

``input_size``, ``n_params``, ``depth``, ``n_layers``, ``top1``, ``top5`` and ``gflops`` are
measured, not typed: ``python -m model_zoo.catalogue`` rebuilds them (``refresh``: every model with
random weights, one forward pass at its input size; see ``measure``).
"""
from __future__ import annotations

import csv
import difflib
import fnmatch
import functools
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["name", "source", "family", "training", "weights_tag", "input_size", "n_params", "depth", "n_layers",
           "cluster", "top1", "top5", "gflops"]
INTEGER_COLUMNS = ["input_size", "n_params", "depth", "n_layers"]
NUMERIC_COLUMNS = INTEGER_COLUMNS + ["top1", "top5", "gflops"]
CLUSTERS = ("2D", "3D", "semantic", "geometric", "miscellaneous")
# the weights each baseline carries (every other model: pretrained and random)
BASELINE_WEIGHTS = {"pixels": ("fixed",), "gabor": ("fixed",), "random_features": ("random",)}
_NAN = float("nan")


@dataclass(frozen=True)
class ModelInfo:
    """One catalogue row (see the module docstring); numbers are NaN where unknown."""

    name: str
    source: str
    family: str = ""
    training: str = ""
    weights_tag: str = ""
    input_size: float = _NAN
    n_params: float = _NAN
    depth: float = _NAN
    n_layers: float = _NAN
    cluster: str = ""
    top1: float = _NAN
    top5: float = _NAN
    gflops: float = _NAN

    @property
    def weights_kinds(self) -> tuple[str, ...]:
        """The weights this model can carry: pretrained and random, or the baseline's own kind."""
        if self.source == "baseline":
            return BASELINE_WEIGHTS[self.name]
        return ("pretrained", "random")


def _csv_path() -> Any:
    return resources.files("model_zoo").joinpath("catalogue.csv")


def _typed(row: dict[str, str]) -> dict[str, Any]:
    return {k: (float(v) if v else _NAN) if k in NUMERIC_COLUMNS else v for k, v in row.items()}


@functools.lru_cache(maxsize=1)
def _rows() -> dict[str, ModelInfo]:
    with _csv_path().open() as f:
        return {row["name"]: ModelInfo(**_typed(row)) for row in csv.DictReader(f)}


def catalogue() -> pd.DataFrame:
    """The catalogue table, one row per catalogued model, columns ``COLUMNS`` (a fresh copy)."""
    import pandas as pd

    with _csv_path().open() as f:
        table = pd.read_csv(f, keep_default_na=False, na_values={c: [""] for c in NUMERIC_COLUMNS})
    return table[COLUMNS]


def info(name: str) -> ModelInfo:
    """Metadata for ``name``: the catalogue row, or what torchvision or timm say about other names.

    A timm name that torchvision also has is ``timm/<name>`` (the bare name is torchvision's)."""
    row = _rows().get(name)
    if row is not None:
        return row
    from .sources import timm_models, torchvision_models

    if name in torchvision_models.names():
        return ModelInfo(name, "torchvision", **torchvision_models.metadata(name))
    bare = name.removeprefix("timm/")
    if timm_models.is_known(bare):
        return ModelInfo(_timm_name(bare, set(torchvision_models.names())), "timm", **timm_models.metadata(bare))
    raise InvalidInput(f"model: unknown model {name!r}{close_match_hint(name, _all_names())}", argument="model")


def _timm_name(bare: str, torchvision_names: set[str]) -> str:
    return f"timm/{bare}" if bare in torchvision_names else bare


def close_match_hint(name: str, candidates: list[str]) -> str:
    """'; did you mean a, b?' for the names in ``candidates`` closest to ``name`` (or a pointer)."""
    close = difflib.get_close_matches(name, list(dict.fromkeys(candidates)), n=3, cutoff=0.6)
    return (f"; did you mean {', '.join(close)}?" if close else
            "; `mouse-rsa models` lists them (model_zoo.list_models() in Python)")


def list_models(pattern: str | None = None, include_all: bool = False) -> pd.DataFrame:
    """Catalogue rows (``COLUMNS``) whose name matches the glob ``pattern`` (or, for a preset such as
    ``study:taskonomy``, its members in preset order); with ``include_all``, every other torchvision and
    timm name too, with what their libraries say (n_params and depth of timm models are left empty).
    Counts (``INTEGER_COLUMNS``) are integers, empty where unknown."""
    import pandas as pd

    from .presets import PRESETS

    table = catalogue()
    if pattern in PRESETS:
        table = table.set_index("name").loc[list(PRESETS[pattern])].reset_index()
    else:
        table = table[[_selected(n, pattern) for n in table["name"]]]
        if include_all:
            table = pd.concat([table, _library_models(pattern, set(table["name"]))], ignore_index=True)
    table[INTEGER_COLUMNS] = table[INTEGER_COLUMNS].round().astype("Int64")
    return table.reset_index(drop=True)


def _library_models(pattern: str | None, known: set[str]) -> pd.DataFrame:
    """torchvision and timm models matching ``pattern`` that are not in ``known``, as catalogue rows."""
    import pandas as pd

    from .sources import timm_models, torchvision_models

    tv_names = set(torchvision_models.names())
    rows = [{"name": n, "source": "torchvision", **torchvision_models.metadata(n)}
            for n in torchvision_models.names() if n not in known and _selected(n, pattern)]
    rows += [{"name": _timm_name(n, tv_names), "source": "timm", **timm_models.metadata(n)}
             for n in timm_models.names() if _timm_name(n, tv_names) not in known and _selected(n, pattern)]
    table = pd.DataFrame(rows, columns=COLUMNS)
    text = [c for c in COLUMNS if c not in NUMERIC_COLUMNS]
    table[text] = table[text].fillna("")
    return table


def _selected(name: str, pattern: str | None) -> bool:
    return not pattern or fnmatch.fnmatchcase(name, pattern)


def catalogued_names() -> list[str]:
    """Every catalogued model name, in catalogue order."""
    return list(_rows())


def _all_names() -> list[str]:
    from .sources import timm_models, torchvision_models

    return catalogued_names() + torchvision_models.names() + timm_models.names()


def offline_weights(name: str) -> str:
    """Weights that need no download: 'random', or the baseline's own kind."""
    kinds = info(name).weights_kinds
    return "random" if "random" in kinds else kinds[0]


def refresh(path: str | Path | None = None) -> pd.DataFrame:
    """Re-measure the measured columns of every catalogue row and rewrite catalogue.csv."""
    from .measure import measure

    table = catalogue()
    for i, name in enumerate(table["name"]):
        measured = measure(name)
        for column, value in measured.items():
            table.loc[i, column] = value
        print(f"{name}: {measured}", file=sys.stderr)
    table[INTEGER_COLUMNS] = table[INTEGER_COLUMNS].astype("Int64")
    table.to_csv(path or str(_csv_path()), index=False)
    _rows.cache_clear()
    return table
