"""Measuring a catalogue model: parameters, depth (layers with weights) and tapped layers.

``depth`` follows the study (seed 001, 3.1): the number of layers with weights, i.e. convolution
(``nn.Conv1d/2d/3d`` and transposed) and linear (``nn.Linear``) modules that a forward pass in eval
mode runs, each counted once however often it is called. ``n_layers`` is what the extractor yields:
the number of tapped layers (``layers.layer_names``).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .layers import layer_names

WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def weight_layers(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Qualified names of the convolution and linear modules one forward pass of ``example`` runs."""
    ran: dict[str, None] = {}
    handles = [m.register_forward_hook(lambda *_, name=name: ran.setdefault(name))
               for name, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return list(ran)


def measure(name: str) -> dict[str, Any]:
    """The measured catalogue columns of ``name`` (random weights, one blank image at its input size)."""
    from .build import create
    from .registry import info, offline_weights

    model = create(name, weights=offline_weights(name), seed=0)
    example = torch.zeros(1, 3, model.input_size, model.input_size)
    measured: dict[str, Any] = {
        "input_size": model.input_size, "n_params": sum(p.numel() for p in model.module.parameters()),
        "depth": len(weight_layers(model.module, example)), "n_layers": len(layer_names(model.module, example))}
    meta = info(name)
    if meta.source == "torchvision":
        from .sources.torchvision_models import metadata

        tv = metadata(name, meta.weights_tag or None)
        measured.update(top1=tv["top1"], top5=tv["top5"], gflops=tv["gflops"])
    return measured
