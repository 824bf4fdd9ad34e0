"""The study's model sets as presets, and turning what a user typed into model names.

``study:zoo`` — the 30 ImageNet architectures of the PyTorch model zoo that the study compares
(seed 001, 2.2 and 3.1: "30 model architectures"; 28 of 30 beat their random twin). torchvision's
2020 zoo held 31 pretrained classifiers; the one left out is ``inception_v3``. The authors' own
model tables (github.com/ColinConwell/DeepMouseTrap, ``model_opts/model_typology.csv`` and
``model_metadata.csv``, 2020) list exactly the 30 below as ``imagenet`` models and give
``inception_v3`` a type of its own (``inception``: 299 px input with its own transform) that is
absent from the metadata behind the parameter-count and depth correlations. The paper's statistics
agree: r = -0.346 with p = 0.061 is the two-sided p of 30 models (28 degrees of freedom).

``study:taskonomy`` — the 21 Taskonomy tasks (seed 001, 2.3): the task bank's 21 single-image
tasks (StanfordVL/taskonomy, ``taskbank/README.md``: "21 single image input tasks and 4 quadratic
(2 input image) tasks"), the same 21 that Wang et al. (2019), whom the study follows, used. Left
out are the four multi-image tasks: egomotion, fixated_pose, nonfixated_pose and point_matching.

``study:all`` — both, the study's 51 networks.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from .errors import InvalidInput
from .registry import catalogued_names, close_match_hint, info

STUDY_ZOO = (
    "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "wide_resnet50_2", "wide_resnet101_2", "densenet121", "densenet161", "densenet169", "densenet201",
    "googlenet", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mnasnet0_5", "mnasnet1_0",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
)
MULTI_IMAGE_TASKS = ("egomotion", "fixated_pose", "nonfixated_pose", "point_matching")
STUDY_TASKS = (
    "autoencoding", "class_object", "class_scene", "colorization", "curvature", "denoising", "depth_euclidean",
    "depth_zbuffer", "edge_occlusion", "edge_texture", "inpainting", "jigsaw", "keypoints2d", "keypoints3d",
    "normal", "reshading", "room_layout", "segment_semantic", "segment_unsup25d", "segment_unsup2d",
    "vanishing_point",
)
STUDY_TASKONOMY = tuple(f"taskonomy_{task}" for task in STUDY_TASKS)
PRESETS: dict[str, tuple[str, ...]] = {
    "study:zoo": STUDY_ZOO,
    "study:taskonomy": STUDY_TASKONOMY,
    "study:all": STUDY_ZOO + STUDY_TASKONOMY,
}
_GLOB = set("*?[")


def resolve_models(names: str | Sequence[str]) -> list[str]:
    """Model names from what a user typed: presets (``study:zoo``, ``study:taskonomy``, ``study:all``),
    shell globs over the catalogue names (``resnet*``) and plain names (catalogued, torchvision or
    timm), expanded in order with duplicates dropped. Raises InvalidInput (argument ``model``) for
    an unknown name or preset, or a glob that matches nothing, with the closest names as a hint.
    """
    resolved: dict[str, None] = {}
    for item in [names] if isinstance(names, str) else names:
        resolved.update(dict.fromkeys(_expand(str(item).strip())))
    if not resolved:
        raise InvalidInput("model: no model given", argument="model")
    return list(resolved)


def _expand(item: str) -> list[str]:
    if not item:
        raise InvalidInput("model: empty model name", argument="model")
    if item in PRESETS:
        return list(PRESETS[item])
    if item.startswith("study:"):
        raise InvalidInput(f"model: unknown preset {item!r}{close_match_hint(item, list(PRESETS))}",
                           argument="model")
    if _GLOB & set(item):
        matched = fnmatch.filter(catalogued_names(), item)
        if not matched:
            raise InvalidInput(f"model: no catalogued model matches {item!r}"
                               f"{close_match_hint(item, catalogued_names())}", argument="model")
        return matched
    return [info(item).name]
