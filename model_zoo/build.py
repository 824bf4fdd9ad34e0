"""Building a zoo model: ``create(name, weights, seed)`` → a ``ZooModel`` ready to be fed images.

The source module that builds each kind of model (torchvision, timm, taskonomy, baselines) is
imported only when a model of that source is built.
"""
from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidInput
from .layers import possible_layer_names
from .registry import ModelInfo, info, offline_weights

SOURCE_MODULES = {"torchvision": "torchvision_models", "timm": "timm_models", "taskonomy": "taskonomy",
                  "baseline": "baselines"}


@dataclass
class ZooModel:
    """A built network in eval mode, with what is needed to feed it and to record where it came from.

    ``weights_source`` is the weights' URL, ``timm:<name>``, ``file:<name>:sha256:<12 hex>`` for a
    weights file, ``seed <n>`` for random weights or ``fixed`` for the fixed baselines.
    """

    info: ModelInfo
    weights: str
    seed: int
    module: nn.Module
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_source: str

    @property
    def name(self) -> str:
        return self.info.name

    def preprocess(self, images: np.ndarray, device: str | torch.device = "cpu",
                   size: int | None = None) -> torch.Tensor:
        """uint8 grayscale images (N, H, W) → float (N, 3, S, S) on ``device``, S = ``size`` or the model's
        own input size.

        The whole image is resized (bilinear, antialiased) to the square input, without cropping, so the
        network sees the full scene the mouse saw; gray is copied to three channels and normalised with
        the weights' mean and std.
        """
        side = size or self.input_size
        x = torch.as_tensor(np.asarray(images), device=device).to(torch.float32).div_(255.0)[:, None]
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(self.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, 3, 1, 1)
        return (x.expand(-1, 3, -1, -1) - mean) / std


def _source(meta: ModelInfo) -> Any:
    """The module under ``sources`` that builds models of ``meta.source`` (imported on first use)."""
    return importlib.import_module(f".sources.{SOURCE_MODULES[meta.source]}", __package__)


def create(name: str, weights: str = "pretrained", seed: int = 0, weights_file: str | None = None) -> ZooModel:
    """Build ``name`` with ``weights`` 'pretrained' (standard weights via the source's own cache, or
    ``weights_file``), 'random' (the library's default initialisation under ``seed``) or, for the
    fixed baselines, 'fixed'. Raises InvalidInput for unknown names or weights, WeightsUnavailable
    when pretrained weights are neither cached nor downloadable.
    """
    meta = info(name)
    if weights not in meta.weights_kinds:
        raise InvalidInput(f"weights: {meta.name} cannot carry weights {weights!r}; it has "
                           f"{', '.join(meta.weights_kinds)}", argument="weights")
    if weights_file and weights != "pretrained":
        raise InvalidInput("weights_file applies to pretrained weights only", argument="weights_file")
    built = _source(meta).build(meta.name, weights, seed, weights_file=weights_file, tag=meta.weights_tag or None)
    for p in built.module.parameters():
        p.requires_grad_(False)
    return ZooModel(meta, weights, seed, built.module, built.input_size, built.mean, built.std, built.weights_source)


def pretrained_problem(name: str) -> str | None:
    """Why ``name``'s standard pretrained weights cannot be had now (neither cached nor downloadable: the
    download host does not answer), or None. Nothing is downloaded; it takes at most a few seconds."""
    meta = info(name)
    if "pretrained" not in meta.weights_kinds:
        return None
    return _source(meta).pretrained_problem(meta.name, meta.weights_tag or None)


def _on_meta(name: str, weights: str, weights_file: str | None = None) -> ZooModel:
    """``create`` with every tensor on the meta device: the structure without memory or initialisation
    (loading a weights file into it checks its keys and shapes, and copies nothing)."""
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "copying ... to a meta parameter ... is a no-op"
        return create(name, weights=weights, seed=0, weights_file=weights_file)


def check_weights_file(name: str, weights_file: str) -> None:
    """Read ``weights_file`` and check that it fits ``name`` (InvalidInput naming weights_file if not),
    without building the network for real."""
    _on_meta(name, "pretrained", weights_file)


def layer_candidates(name: str) -> list[str]:
    """Every layer name a forward pass of ``name`` can report (``layers.possible_layer_names``), from its
    structure alone: no forward pass, no weights."""
    return possible_layer_names(_on_meta(name, offline_weights(name)).module)
