"""model_zoo: build any catalogued network (or timm/torchvision name) pretrained or random, in one call.

>>> model = model_zoo.create("mobilenet_v2", weights="random", seed=0)
>>> x = model.preprocess(images)            # uint8 grayscale (N, H, W) -> normalised (N, 3, S, S)
>>> model.module(x)

It knows nothing about neurons: the feature extractor in mouse_rsa taps its layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidInput

from .catalogue import SOURCES, ModelInfo, catalogue, info, list_models, offline_weights
from .layers import LayerTap, layer_names

__all__ = ["create", "ZooModel", "ModelInfo", "info", "list_models", "catalogue", "offline_weights",
           "LayerTap", "layer_names"]


@dataclass
class ZooModel:
    """A built network in eval mode, with what is needed to feed it and to record where it came from."""

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

    def preprocess(self, images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
        """uint8 grayscale images (N, H, W) → float (N, 3, S, S) on ``device``.

        The whole image is resized (bilinear, antialiased) to the model's square input, without
        cropping, so the network sees the full scene the mouse saw; gray is copied to three
        channels and normalised with the weights' mean and std.
        """
        x = torch.as_tensor(np.asarray(images), device=device).to(torch.float32).div_(255.0)[:, None]
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                          align_corners=False, antialias=True)
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
        raise InvalidInput(f"{meta.name} cannot carry weights {weights!r}; it has {', '.join(meta.weights_kinds)}")
    if weights_file and weights != "pretrained":
        raise InvalidInput("--weights-file applies to pretrained weights only")
    built = SOURCES[meta.source].build(meta.name, weights, seed, weights_file=weights_file,
                                       tag=meta.weights_tag or None)
    for p in built.module.parameters():
        p.requires_grad_(False)
    return ZooModel(meta, weights, seed, built.module, built.input_size, built.mean, built.std, built.weights_source)
