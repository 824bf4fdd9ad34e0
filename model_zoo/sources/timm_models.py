"""Any timm model by its timm name (``arch`` or ``arch.tag``); pretrained weights through the
Hugging Face hub cache (HF_HOME) or torch.hub's (TORCH_HOME), read without the network when cached.

What a checkpoint was trained on is read from timm's pretrained config (its tag and hub id): a
DINO or CLIP checkpoint is not labelled ImageNet-supervised. Labels: ``imagenet`` (supervised
ImageNet-1k only), ``self-supervised:<method>`` (dino, dinov2, dinov3, mae, mim),
``image-text:<method>`` (clip, siglip), ``semi-supervised:<data>``, ``semi-weakly-supervised:ig1b``,
``weakly-supervised:instagram``, ``imagenet-21k`` / ``imagenet-12k``, with ``+imagenet`` when the
checkpoint was then fine-tuned on ImageNet-1k; ``timm:<tag>`` when the tag says nothing known.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import timm
import torch
from timm.data import resolve_model_data_config
from timm.models import get_pretrained_cfg

from ..errors import WeightsUnavailable
from ..network import OFFLINE_VARIABLES, downloads_to_stderr, reachable
from ..weights import load_weights_file
from .built import Built

# (tokens of the name, tag or hub id that mark the pretraining, label); the first match wins
_PRETRAINING = (
    ({"dinov3"}, "self-supervised:dinov3"),
    ({"dinov2"}, "self-supervised:dinov2"),
    ({"dino"}, "self-supervised:dino"),
    ({"mae", "fcmae"}, "self-supervised:mae"),
    ({"mim"}, "self-supervised:mim"),
    ({"siglip", "siglip2", "webli"}, "image-text:siglip"),
    ({"clip", "openai", "laion2b", "laion400m", "datacomp1b", "datacompxl", "metaclip", "dfn2b", "dfn5b"},
     "image-text:clip"),
    ({"swsl"}, "semi-weakly-supervised:ig1b"),
    ({"ssl"}, "semi-supervised:yfcc100m"),
    ({"wsl", "ig1b", "ig3b", "swag"}, "weakly-supervised:instagram"),
    ({"jft"}, "semi-supervised:jft"),
    ({"in21k", "in22k"}, "imagenet-21k"),
    ({"in12k"}, "imagenet-12k"),
)


def names() -> list[str]:
    return timm.list_models()


def is_known(name: str) -> bool:
    """A timm architecture, with a pretrained tag that exists if one is given."""
    return timm.is_model(name) and ("." not in name or get_pretrained_cfg(name) is not None)


def training_label(name: str, cfg: Any) -> str:
    """What ``name``'s pretrained weights were trained on (see the module docstring)."""
    tag = getattr(cfg, "tag", "") or ""
    tokens = set(re.split(r"[^a-z0-9]+", f"{name} {tag} {getattr(cfg, 'hf_hub_id', '') or ''}".lower()))
    label = next((label for marks, label in _PRETRAINING if marks & tokens), None)
    if label is None:
        return "imagenet" if "in1k" in tokens or getattr(cfg, "num_classes", 0) == 1000 else f"timm:{tag}"
    return f"{label}+imagenet" if "in1k" in tokens else label


def metadata(name: str) -> dict[str, Any]:
    """Training label, pretrained tag and input size from timm's pretrained config of ``name``."""
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return {"training": "unknown"}
    return {"training": training_label(name, cfg), "weights_tag": cfg.tag or "", "input_size": cfg.input_size[-1]}


def _hub_cache() -> str:
    home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
    return os.environ.get("HF_HUB_CACHE", os.path.join(home, "hub"))


def _hub_files(cfg: Any) -> list[str]:
    return [cfg.hf_hub_filename] if getattr(cfg, "hf_hub_filename", None) else ["model.safetensors",
                                                                                 "pytorch_model.bin"]


def cached_weights(cfg: Any) -> str | None:
    """The cached checkpoint of a pretrained config (hub cache, then torch.hub's), or None."""
    from huggingface_hub import try_to_load_from_cache

    if cfg.hf_hub_id:
        repo, _, revision = cfg.hf_hub_id.partition("@")
        for filename in _hub_files(cfg):
            path = try_to_load_from_cache(repo, filename, cache_dir=_hub_cache(), revision=revision or None)
            if isinstance(path, str):
                return path
    if cfg.url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(cfg.url).path)
        return str(path) if path.is_file() else None
    return None


def _where(cfg: Any) -> str:
    return f"hf-hub:{cfg.hf_hub_id}" if cfg.hf_hub_id else str(cfg.url)


def pretrained_problem(name: str, tag: str | None = None) -> str | None:
    """Why timm's pretrained ``name`` cannot be had now (none exist, not cached and the hub unreachable), or
    None; no download."""
    from huggingface_hub import constants

    name = name.removeprefix("timm/")
    cfg = get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        return f"{name}: timm has no pretrained weights for it; use random weights or weights_file=PATH"
    if cached_weights(cfg) or reachable(constants.ENDPOINT if cfg.hf_hub_id else str(cfg.url), OFFLINE_VARIABLES):
        return None
    return str(_unavailable(name, _where(cfg), "the hub cannot be reached (offline)"))


def _pretrained(name: str) -> torch.nn.Module:
    """timm's pretrained ``name``, from the cache without the network when cached, else downloaded;
    one WeightsUnavailable line, at once, when neither is possible."""
    problem = pretrained_problem(name)
    if problem:
        raise WeightsUnavailable(problem)
    cfg = get_pretrained_cfg(name)
    cached = cached_weights(cfg)
    if cached:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": cached, "source": ""})
    try:
        with downloads_to_stderr():
            return timm.create_model(name, pretrained=True)
    except Exception as err:  # huggingface_hub / requests / OSError
        raise _unavailable(name, _where(cfg), f"could not be downloaded ({type(err).__name__})") from err


def _unavailable(name: str, where: str, why: str) -> WeightsUnavailable:
    return WeightsUnavailable(f"{name}: pretrained weights ({where}) are not in the cache {_hub_cache()} and {why}; "
                              "connect once to fill it or pass weights_file=PATH")


def build(name: str, weights: str, seed: int, weights_file: str | None = None, tag: str | None = None) -> Built:
    name = name.removeprefix("timm/")
    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = timm.create_model(name, pretrained=False)
        source = f"seed {seed}"
    elif weights_file:
        module = timm.create_model(name, pretrained=False)
        source = load_weights_file(module, weights_file, name)
    else:
        module = _pretrained(name)
        source = f"timm:{name}"
    config = resolve_model_data_config(module)
    return Built(module.eval(), int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"]), source)
