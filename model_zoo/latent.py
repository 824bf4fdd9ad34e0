"""Each model family's final encoder representation, as layer names (the ``latent`` layer set).

* classifiers (torchvision, timm): the pooled pre-classifier vector, i.e. the classifier head's
  input — ``<head>:input`` (MobileNetV2 ``classifier:input``, DenseNet ``classifier:input``) or the
  layer already holding it (ResNet ``avgpool``, VGG and AlexNet ``avgpool``, SqueezeNet
  ``features.12``); see ``layers``;
* Taskonomy encoders: the encoder's output, the 8 × 16 × 16 latent the decoders read (``output``);
* baselines: their single layer.

In general: the head's input where the model has a classifier head, otherwise its last layer.
"""
from __future__ import annotations

import itertools

import torch

from .build import ZooModel
from .layers import LayerTap


def latent_layers(model: ZooModel) -> list[str]:
    """Names of ``model``'s final encoder representation (one name), found by one forward pass of a
    blank image at the model's input size; pass them as the ``pattern`` of ``LayerTap``."""
    module = model.module
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    device = first.device if first is not None else torch.device("cpu")
    names: list[str] = []
    tap = LayerTap(module, lambda name, output: names.append(name))
    with torch.no_grad(), tap:
        module(torch.zeros(1, 3, model.input_size, model.input_size, device=device))
    return [tap.head_input] if tap.head_input else names[-1:]
