"""Any timm model by its timm name; pretrained weights through timm's own hub cache (HF_HOME)."""
from __future__ import annotations

import os

import timm
import torch
from timm.data import resolve_model_data_config

from ..errors import WeightsUnavailable

from ..weights import load_into, read_state_dict
from .built import Built


def names() -> list[str]:
    return timm.list_models()


def is_known(name: str) -> bool:
    return timm.is_model(name)


def _hub_cache() -> str:
    home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
    return os.environ.get("HF_HUB_CACHE", os.path.join(home, "hub"))


def build(name: str, weights: str, seed: int, weights_file: str | None = None, tag: str | None = None) -> Built:
    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = timm.create_model(name, pretrained=False)
        source = f"seed {seed}"
    elif weights_file:
        module = timm.create_model(name, pretrained=False)
        load_into(module, read_state_dict(weights_file), name, str(weights_file))
        source = str(weights_file)
    else:
        try:
            module = timm.create_model(name, pretrained=True)
        except Exception as err:  # huggingface_hub / requests / OSError when offline
            cfg = timm.models.get_pretrained_cfg(name)
            hub_id = getattr(cfg, "hf_hub_id", None) or getattr(cfg, "url", None) or name
            raise WeightsUnavailable(
                f"{name}: pretrained weights ({hub_id}) are not in the cache {_hub_cache()} and could not "
                f"be downloaded ({type(err).__name__}); connect once or pass --weights-file PATH"
            ) from err
        source = f"timm:{name}"
    config = resolve_model_data_config(module)
    return Built(module.eval(), int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"]), source)
