"""torchvision's classification zoo: pretrained weights through torchvision's own cache (TORCH_HOME)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torchvision
from torchvision.models import get_model, get_model_weights

from ..errors import WeightsUnavailable
from ..network import downloads_to_stderr, reachable
from ..weights import load_weights_file
from .built import IMAGENET_MEAN, IMAGENET_STD, Built

# Builders whose pretrained form differs from the default constructor (torchvision sets these when
# weights are given); a local weights file needs the same constructor arguments.
_PRETRAINED_KWARGS = {
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
    "googlenet": {"transform_input": True, "aux_logits": True, "init_weights": False},
}
_RANDOM_KWARGS = {"inception_v3": {"init_weights": True}, "googlenet": {"init_weights": True}}


def names() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def pretrained_weights(name: str, tag: str | None = None) -> Any:
    """The weights enum entry used for ``pretrained``: ``tag`` (e.g. IMAGENET1K_V1) or DEFAULT."""
    enum = get_model_weights(name)
    return enum[tag] if tag and tag in enum.__members__ else enum.DEFAULT


def metadata(name: str, tag: str | None = None) -> dict[str, Any]:
    """What the weights enum says offline: training, tag, input size, n_params, ImageNet-1k top-1 and
    top-5 (%), GFLOPs. SWAG weights (weakly supervised on Instagram hashtags, then fine-tuned on
    ImageNet-1k) are not labelled plain ImageNet training."""
    w = pretrained_weights(name, tag)
    metrics = w.meta.get("_metrics", {}).get("ImageNet-1K", {})
    return {"training": "weakly-supervised:swag+imagenet" if "SWAG" in w.name else "imagenet",
            "weights_tag": w.name, "input_size": w.transforms().crop_size[0], "n_params": w.meta["num_params"],
            "top1": metrics.get("acc@1", float("nan")), "top5": metrics.get("acc@5", float("nan")),
            "gflops": w.meta.get("_ops", float("nan"))}


def cached_file(weights: Any) -> Path:
    """Where torch.hub keeps (or would keep) this checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def unavailable(name: str, target: Path, why: str) -> str:
    """The one line that says pretrained weights cannot be had, and what to do."""
    return (f"{name}: pretrained weights {target} {why}; connect once to fill the cache (TORCH_HOME) "
            "or pass weights_file=PATH")


def pretrained_problem(name: str, tag: str | None = None) -> str | None:
    """Why the pretrained weights cannot be had now (not cached, host unreachable), or None; no download."""
    w = pretrained_weights(name, tag)
    target = cached_file(w)
    if target.is_file() or reachable(w.url):
        return None
    return unavailable(name, target, f"are not cached and {urlparse(w.url).hostname} cannot be reached (offline)")


def build(name: str, weights: str, seed: int, weights_file: str | None = None, tag: str | None = None) -> Built:
    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = get_model(name, weights=None, **_RANDOM_KWARGS.get(name, {}))
        size = pretrained_weights(name, tag).transforms().crop_size[0]
        return Built(module.eval(), size, IMAGENET_MEAN, IMAGENET_STD, f"seed {seed}")
    w = pretrained_weights(name, tag)
    transforms = w.transforms()
    size, mean, std = transforms.crop_size[0], tuple(transforms.mean), tuple(transforms.std)
    if weights_file:
        kwargs = dict(_PRETRAINED_KWARGS.get(name, {}), num_classes=len(w.meta["categories"]))
        module = get_model(name, weights=None, **kwargs)
        return Built(module.eval(), size, mean, std, load_weights_file(module, weights_file, name))
    target = cached_file(w)
    problem = pretrained_problem(name, tag)
    if problem:
        raise WeightsUnavailable(problem)
    try:
        with downloads_to_stderr():
            module = get_model(name, weights=w)
    except Exception as err:  # urllib/requests/OSError offline, RuntimeError for a corrupt file
        what = "are corrupt (delete the file)" if target.exists() else "are not cached and could not be downloaded"
        raise WeightsUnavailable(unavailable(name, target, f"{what} ({type(err).__name__})")) from err
    return Built(module.eval(), size, mean, std, w.url)
