"""Taskonomy encoders (Zamir et al. 2018; weights as released with visualpriors): one ResNet-50-like
encoder architecture trained on 25 different vision tasks. Named ``taskonomy_<task>``.

The encoder is rebuilt here on torchvision's Bottleneck so its state dict matches the released
files key for key: a padded 7×7 stem, a ceil-mode max-pool, downsampling in the *last* block of
layer1 and layer2 (stride on the 3×3 conv, max-pool shortcut), and a 3×3 conv compressing 2048
channels to an 8 × 16 × 16 latent followed by an affine-free GroupNorm. Input: 256 px in [-1, 1].
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import Bottleneck

from ..errors import WeightsUnavailable
from ..network import downloads_to_stderr, reachable
from ..weights import load_into, load_weights_file
from .built import Built

URL_TEMPLATE = "https://github.com/alexsax/visual-prior/raw/networks/assets/pytorch/{task}_encoder-{sha}.pth"
# sha256 of each released encoder file (the file name carries it; torch.hub checks it on download)
ENCODER_SHA256 = {
    "autoencoding": "e35146c09253720e97c0a7f8ee4e896ac931f5faa1449df003d81e6089ac6307",
    "class_object": "4a4e42dad58066039a0d2f9d128bb32e93a7e4aa52edb2d2a07bcdd1a6536c18",
    "class_scene": "ad85764467cddafd98211313ceddebb98adf2a6bee2cedfe0b922a37ae65eaf8",
    "colorization": "5ed817acdd28d13e443d98ad15ebe1c3059a3252396a2dff6a2090f6f86616a5",
    "curvature": "3767cf5d06d9c6bca859631eb5a3c368d66abeb15542171b94188ffbe47d7571",
    "denoising": "b64cab95af4a2c565066a7e8effaf37d6586c3b9389b47fff9376478d849db38",
    "depth_euclidean": "88f18d41313de7dbc88314a7f0feec3023047303d94d73eb8622dc40334ef149",
    "depth_zbuffer": "cc343a8ed622fd7ee3ce54398be8682bbbbfb5d11fa80e8d03a56a5ae4e11b09",
    "edge_occlusion": "5ac3f3e918131f61e01fe95e49f462ae2fc56aa463f8d353ca84cd4e248b9c08",
    "edge_texture": "be2d686a6a4dfebe968d16146a17176eba37e29f736d5cd9a714317c93718810",
    "egomotion": "9aa647c34bf98f9e491e0b37890d77566f6ae35ccf41d9375c674511318d571c",
    "fixated_pose": "78cf321518abc16f9f4782b9e5d4e8f5d6966c373d951928a26f872e55297567",
    "inpainting": "bf96fbaaea9268a820a19a1d13dbf6af31798f8983c6d9203c00fab2d236a142",
    "jigsaw": "0c2b342c9080f8713c178b04aa6c581ed3a0112fecaf78edc4c04e0a90516e39",
    "keypoints2d": "6b77695acff4c84091c484a7b128a1e28a7e9c36243eda278598f582cf667fe0",
    "keypoints3d": "7e3f1ec97b82ae30030b7ea4fec2dc606b71497d8c0335d05f0be3dc909d000d",
    "nonfixated_pose": "3433a600ca9ff384b9898e55d86a186d572c2ebbe4701489a373933e3cfd5b8b",
    "normal": "f5e2c7737e4948e3b2a822f584892c342eaabbe66661576ba50db7cdd40561c5",
    "point_matching": "4bd2a6b2909d9998fabaf0278ab568f42f2b692a648e28555ede6c6cda5361f4",
    "reshading": "de456246e171dc8407fb2951539aa60d75925ae0f1dbb43f110b7768398b36a6",
    "room_layout": "1e1662f43b834261464b1825227a04efba59b50cc8883bee9adc3ddafd4796c1",
    "segment_semantic": "bb3007244520fc89cd111e099744a22b1e5c98cd83ed3f116fbff6376d220127",
    "segment_unsup25d": "7d12d2500c18c003ffc23943214f5dfd74932f0e3d03dde2c3a81ebc406e31a0",
    "segment_unsup2d": "b679053a920e8bcabf0cd454606098ae85341e054080f2be29473971d4265964",
    "vanishing_point": "afd2ae9b71d46a54efc5231b3e38ebc3e35bfab78cb0a78d9b75863a240b19a8",
}
PREFIX = "taskonomy_"


def names() -> list[str]:
    return [PREFIX + task for task in ENCODER_SHA256]


def url(task: str) -> str:
    return URL_TEMPLATE.format(task=task, sha=ENCODER_SHA256[task])


class TaskonomyEncoder(nn.Module):
    """The Taskonomy encoder; output: an 8 × 16 × 16 latent for a 256 px input."""

    def __init__(self):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)
        self.layer1 = self._make_layer(64, 3, stride=2)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.layer3 = self._make_layer(256, 6)
        self.layer4 = self._make_layer(512, 3)
        self.compress1 = nn.Conv2d(2048, 8, kernel_size=3, stride=1, padding=1, bias=False)
        self.compress_bn = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU(inplace=True)
        self.groupnorm = nn.GroupNorm(8, 8, affine=False)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        width = planes * Bottleneck.expansion
        project = nn.Sequential(nn.Conv2d(self.inplanes, width, kernel_size=1, bias=False), nn.BatchNorm2d(width))
        layers = [Bottleneck(self.inplanes, planes, downsample=project)]
        self.inplanes = width
        layers += [Bottleneck(width, planes) for _ in range(blocks - 2)]
        shortcut = nn.Sequential(nn.MaxPool2d(kernel_size=1, stride=stride)) if stride != 1 else None
        layers.append(Bottleneck(width, planes, stride, shortcut))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(F.pad(x, (3, 3, 3, 3))))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.groupnorm(self.relu1(self.compress_bn(self.compress1(x))))


def cached_file(name: str) -> Path:
    """Where torch.hub keeps (or would keep) the encoder of ``taskonomy_<task>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url(name.removeprefix(PREFIX))).name


def _unavailable(name: str, why: str) -> str:
    return (f"{name}: pretrained weights {cached_file(name)} {why}; connect once to fill the cache (TORCH_HOME) "
            "or pass weights_file=PATH")


def pretrained_problem(name: str, tag: str | None = None) -> str | None:
    """Why the pretrained encoder cannot be had now (not cached, host unreachable), or None; no download."""
    if cached_file(name).is_file() or reachable(URL_TEMPLATE):
        return None
    return _unavailable(name, f"are not cached and {urlparse(URL_TEMPLATE).hostname} cannot be reached (offline)")


def build(name: str, weights: str, seed: int, weights_file: str | None = None, tag: str | None = None) -> Built:
    task = name.removeprefix(PREFIX)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = TaskonomyEncoder()
    if weights == "random":
        source = f"seed {seed}"
    elif weights_file:
        source = load_weights_file(module, weights_file, name)
    else:
        source = url(task)
        problem = pretrained_problem(name)
        if problem:
            raise WeightsUnavailable(problem)
        try:
            with downloads_to_stderr():
                checkpoint = torch.hub.load_state_dict_from_url(source, progress=True, check_hash=True,
                                                                weights_only=True)
        except Exception as err:  # URLError/OSError offline, RuntimeError for a bad hash
            raise WeightsUnavailable(_unavailable(name, f"are not cached and could not be downloaded "
                                                        f"({type(err).__name__})")) from err
        load_into(module, checkpoint.get("state_dict", checkpoint), name, source)
    return Built(module.eval(), 256, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), source)
