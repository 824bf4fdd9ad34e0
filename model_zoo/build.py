"""Building a zoo model: ``create(name, weights, seed)`` → a ``ZooModel`` ready to be fed images.

The source module that builds each kind of model (torchvision, timm, taskonomy, baselines) is
imported only when a model of that source is built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidInput
from .registry import ModelInfo, info

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
    source = importlib.import_module(f".sources.{SOURCE_MODULES[meta.source]}", __package__)
    built = source.build(meta.name, weights, seed, weights_file=weights_file, tag=meta.weights_tag or None)
    for p in built.module.parameters():
        p.requires_grad_(False)
    return ZooModel(meta, weights, seed, built.module, built.input_size, built.mean, built.std, built.weights_source)
