"""What every builder returns: a network in eval mode plus how to feed it."""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Built:
    module: nn.Module
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_source: str  # URL, file or 'seed N': where the parameters came from
