"""Settings of a benchmark run: one frozen dataclass, validated once, whose defaults the CLI shows.

Three independent random streams, each with its own seed (each written into every row):

* ``model_seed``: random weights and the count-sketch of large layers (the model's features);
* ``cv_seed``: the cross-validation folds and repeats over stimuli (the scoring);
* ``target_seed``: the random split-halves of the reliability of cells and site RDMs (the target).

So every model seed of a sweep is scored against the very same sites, RDMs and folds. The other
fields fall in four groups by what they change:

* the neural target (which cells, sites and RDMs): ``dataset`` or ``stimuli`` + ``neural_rdms``,
  ``reliability_threshold``, ``min_cells``, ``reliability_splits``, ``target_seed``;
* the model's features: ``layers`` (``all``, ``latent`` or a glob), ``max_dim``, ``weights_file``,
  ``precision``, ``bn_calibration`` (random weights only), ``model_seed``, ``image_size`` (and the
  device kind they were computed on);
* the scoring: ``folds``, ``repeats``, ``cv_seed``, ``permutations`` (of the chance level; by default
  each method's own number), ``ridge_criterion`` (how encoding chooses its penalties);
* the run only (never the numbers): ``batch_size``, ``device`` (which GPU), ``use_cache``.

Everything in the first three groups is part of a unit's key (``mouse_rsa.units``).

``image_size`` is the side in pixels the stimuli are resized to before the network sees them: None
for each model's own input size, one size, or several (a tuple): one unit that scores every size's
layers together, so that its method chooses the size where it chooses the layer, on training stimuli
only (``plan`` adds it when asked for several sizes).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInput

DEVICES = ("auto", "cpu", "cuda")  # and cuda:N
PRECISIONS = ("float32", "tf32", "bfloat16", "float64")  # mouse_rsa.features.placement says what each computes
MAX_SEED = 2**32 - 1
SEEDS = ("model_seed", "cv_seed", "target_seed")
MAX_PERMUTATIONS = 100_000
RIDGE_CRITERIA = ("loo", "gcv")
# fields only some methods read (``Method.settings_used``); other methods' units key them as None
METHOD_SETTINGS = ("ridge_criterion",)
IMAGE_SIZES = (8, 4096)  # the smallest and largest image side (px) accepted
BOOTSTRAP_RESAMPLES = 1000  # stimulus resamples of the readers' intervals (leaderboard, compare), a reader's option
MAX_REPEATS = 10_000  # repeats and reliability splits: ten times what anyone runs; beyond, a typo that never ends


@dataclass(frozen=True)
class Settings:
    """Every option of a benchmark run (see the module docstring for which ones change numbers)."""

    dataset: str = "allen"
    stimuli: str | None = None
    neural_rdms: str | None = None
    model_seed: int = 0
    cv_seed: int = 0
    target_seed: int = 0
    folds: int = 6
    repeats: int = 1
    permutations: int | None = None  # None: each method's own default (``Method.permutations``)
    ridge_criterion: str = "loo"
    layers: str = "all"
    max_dim: int = 4096
    image_size: int | tuple[int, ...] | None = None  # None: each model's own input size
    weights_file: str | None = None
    reliability_threshold: float = 0.75
    min_cells: int = 10
    reliability_splits: int = 10
    precision: str = "float32"
    bn_calibration: bool = False
    batch_size: int = 16  # vgg16 at 224 px stays near 2 GB (features.DEFAULT_BATCH)
    device: str = "auto"
    use_cache: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, (str, Path)):
            raise InvalidInput("dataset must be a name (allen, demo) or the path of a dataset file", argument="dataset")
        for name in SEEDS:
            _check_int(name, getattr(self, name), 0, MAX_SEED)
        _check_int("folds", self.folds, 2)
        _check_int("repeats", self.repeats, 1, MAX_REPEATS)
        self._check_scoring()
        _check_int("max_dim", self.max_dim, 1)
        self._check_image_size()
        _check_int("min_cells", self.min_cells, 2)
        _check_int("reliability_splits", self.reliability_splits, 1, MAX_REPEATS)
        _check_int("batch_size", self.batch_size, 1)
        threshold = self.reliability_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not -1 <= threshold <= 1:
            raise InvalidInput(f"reliability_threshold must be a number in [-1, 1], not {threshold!r}",
                               argument="reliability_threshold")
        if not isinstance(self.device, str) or not (self.device in DEVICES or re.fullmatch(r"cuda:\d+", self.device)):
            raise InvalidInput(f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}", argument="device")
        if self.precision not in PRECISIONS:
            raise InvalidInput(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}",
                               argument="precision")
        if not isinstance(self.layers, str) or not self.layers.strip():
            raise InvalidInput("layers must be 'all', 'latent' or a glob such as 'features.*'", argument="layers")
        if (self.stimuli is None) != (self.neural_rdms is None):
            raise InvalidInput("stimuli and neural_rdms go together: give both or neither", argument="stimuli")
        if self.weights_file is not None and not Path(self.weights_file).is_file():
            raise InvalidInput(f"weights_file {self.weights_file} does not exist", argument="weights_file")

    def _check_scoring(self) -> None:
        """The chance level's permutations, the ridge criterion and batch-norm calibration."""
        if self.permutations is not None:
            _check_int("permutations", self.permutations, 0, MAX_PERMUTATIONS)
        if self.ridge_criterion not in RIDGE_CRITERIA:
            raise InvalidInput(f"ridge_criterion must be one of {', '.join(RIDGE_CRITERIA)}, not "
                               f"{self.ridge_criterion!r}", argument="ridge_criterion")
        if not isinstance(self.bn_calibration, bool):
            raise InvalidInput(f"bn_calibration must be True or False, not {self.bn_calibration!r}",
                               argument="bn_calibration")

    def _check_image_size(self) -> None:
        """None, one size, or several distinct sizes (a list, e.g. read back from JSON, becomes a tuple)."""
        size = self.image_size
        if size is None or isinstance(size, numbers.Integral) and not isinstance(size, bool):
            sizes = [] if size is None else [size]
        elif isinstance(size, (tuple, list)) and len(size) > 1 and len(set(size)) == len(size):
            sizes = list(size)
            object.__setattr__(self, "image_size", tuple(int(v) for v in size))
        else:
            raise InvalidInput(f"image_size must be one size in pixels or several different ones, not {size!r}",
                               argument="image_size")
        for value in sizes:
            _check_int("image_size", value, *IMAGE_SIZES)

    @property
    def image_size_label(self) -> str:
        """How rows name the image size: ``native`` (each model's own), ``64``, or ``64+224`` for several."""
        size = self.image_size
        return "native" if size is None else "+".join(map(str, size)) if isinstance(size, tuple) else str(size)

    def replace(self, **changes) -> Settings:
        """A copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)

    @property
    def layer_pattern(self) -> str | None:
        """The glob handed to the extractor: None for 'all'; 'latent' is resolved per model."""
        return None if self.layers == "all" else self.layers

    def target_fields(self) -> dict:
        """The fields that decide the neural target (and nothing else): no model or cross-validation seed."""
        return {"dataset": str(self.dataset), "stimuli": self.stimuli, "neural_rdms": self.neural_rdms,
                "reliability_threshold": float(self.reliability_threshold), "min_cells": self.min_cells,
                "reliability_splits": self.reliability_splits, "target_seed": self.target_seed}


def _check_int(name: str, value, low: int, high: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        bound = f"at least {low}" if high == math.inf else f"between {low} and {high}"
        raise InvalidInput(f"{name} must be an integer {bound}, not {value!r}", argument=name)
