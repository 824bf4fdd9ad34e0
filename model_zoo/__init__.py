"""model_zoo: build any catalogued network (or timm/torchvision name) pretrained or random, in one call.

>>> model = model_zoo.create("mobilenet_v2", weights="random", seed=0)
>>> x = model.preprocess(images)            # uint8 grayscale (N, H, W) -> normalised (N, 3, S, S)
>>> model.module(x)

It knows nothing about neurons: the feature extractor in mouse_rsa taps its layers.

Importing the package is cheap: the catalogue (``info``, ``catalogue``, ``list_models``,
``resolve_models``) needs no torch; ``create``, ``ZooModel``, the layer taps and ``latent_layers``
load torch when first used (PEP 562 module ``__getattr__``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InvalidInput, UserError, WeightsUnavailable
from .lazy import lazy_exports
from .presets import PRESETS, resolve_models
from .registry import ModelInfo, catalogue, info, list_models, offline_weights

if TYPE_CHECKING:
    from .build import ZooModel, check_weights_file, create, layer_candidates, pretrained_problem
    from .latent import latent_layers
    from .layers import LayerTap, layer_names

_LAZY = {"create": "build", "ZooModel": "build", "LayerTap": "layers", "layer_names": "layers",
         "latent_layers": "latent", "pretrained_problem": "build", "check_weights_file": "build",
         "layer_candidates": "build"}

__all__ = [
    "PRESETS",
    "InvalidInput",
    "LayerTap",
    "ModelInfo",
    "UserError",
    "WeightsUnavailable",
    "ZooModel",
    "catalogue",
    "check_weights_file",
    "create",
    "info",
    "latent_layers",
    "layer_candidates",
    "layer_names",
    "list_models",
    "offline_weights",
    "pretrained_problem",
    "resolve_models",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
