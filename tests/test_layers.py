"""Layer taps: which modules are layers, their names, the classifier head's input, patterns, latent layers."""
import fnmatch
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import model_zoo
from model_zoo.globs import can_select
from model_zoo.layers import LayerTap, find_head, layer_names

FIXTURES = Path(__file__).parent / "fixtures"
TORCHVISION = [n for n in model_zoo.catalogue().query("source == 'torchvision'")["name"]]


def _size(name: str) -> int:
    return 75 if name == "inception_v3" else 64  # small inputs keep the suite fast; names do not depend on them


def _taps(module: nn.Module, x: torch.Tensor, pattern=None) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad(), LayerTap(module, lambda n, o: out.setdefault(n, o.clone()), pattern):
        module(x)
    return out


def _first_weights(head: nn.Module) -> nn.Module:
    return next(m for m in head.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))


def _widths(head: nn.Module, carried: torch.Tensor) -> tuple[int, int]:
    """(width of the tensor carrying the head's input, what the head's first weights layer takes)."""
    first = _first_weights(head)
    if isinstance(first, nn.Conv2d):  # SqueezeNet: a conv classifier on the feature map
        return carried.shape[1], first.in_channels
    return carried.flatten(1).shape[1], first.in_features


def test_mobilenet_v2_keeps_every_previous_layer_name_in_order():
    old = list(dict.fromkeys(pd.read_csv(FIXTURES / "mobilenet_v2_random_seed0_demo_layers.csv")["layer"]))
    new = layer_names(model_zoo.create("mobilenet_v2", "random").module, torch.zeros(1, 3, 64, 64))
    assert len(old) == 105 and [n for n in new if n in set(old)] == old
    assert sorted(set(new) - set(old)) == ["classifier:input"]
    assert new[-3:] == ["features.18.2", "classifier:input", "classifier.1"]


def test_densenet_exposes_its_dense_block_and_transition_outputs():
    module = model_zoo.create("densenet121", "random", seed=0).module
    features = module.features
    truth: dict[str, torch.Tensor] = {}
    blocks = {f"features.{n}": m for n, m in features.named_children() if n.startswith(("denseblock", "transition"))}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: truth.__setitem__(n, o.clone())) for n, m in blocks.items()]
    hooks.append(features.register_forward_hook(lambda m, i, o: truth.__setitem__("features", o.clone())))
    x = torch.randn(2, 3, 64, 64)
    taps = _taps(module, x)
    for h in hooks:
        h.remove()
    # a dense block concatenates its input with 32 channels per dense layer (6, 12, 24, 16 layers);
    # a transition halves the channels with a 1x1 conv, then average-pools
    for i, width in enumerate((64 + 6 * 32, 128 + 12 * 32, 256 + 24 * 32, 512 + 16 * 32), start=1):
        assert taps[f"features.denseblock{i}"].shape[1] == width
        torch.testing.assert_close(taps[f"features.denseblock{i}"], truth[f"features.denseblock{i}"])
    for i in (1, 2, 3):  # the transition's output is its pool's tensor, reported once under the pool's name
        torch.testing.assert_close(taps[f"features.transition{i}.pool"], truth[f"features.transition{i}"])
        assert f"features.transition{i}" not in taps
    pooled = F.adaptive_avg_pool2d(F.relu(truth["features"]), 1).flatten(1)  # DenseNet.forward, by hand
    torch.testing.assert_close(taps["classifier:input"], pooled)
    assert list(taps)[-3:] == ["features.denseblock4", "classifier:input", "classifier"]


@pytest.mark.parametrize("name", TORCHVISION)
def test_every_torchvision_classifier_exposes_its_head_input(name):
    model = model_zoo.create(name, weights="random", seed=0)
    module = model.module
    head = module.get_submodule(find_head(module))
    seen = {}
    hook = head.register_forward_pre_hook(lambda m, args: seen.__setitem__("input", args[0].clone()))
    tap = LayerTap(module, lambda n, o: seen.setdefault(n, o.clone()))
    with torch.no_grad(), tap:
        module(torch.randn(1, 3, _size(name), _size(name)))
    hook.remove()
    carried = seen[tap.head_input]
    width, in_features = _widths(head, carried)
    assert width == in_features
    torch.testing.assert_close(carried.reshape(seen["input"].shape), seen["input"])
    names = [n for n in seen if n != "input"]
    assert len(names) == len(set(names)) == model.info.n_layers


@pytest.mark.parametrize("name, latent", [
    ("mobilenet_v2", "classifier:input"), ("densenet121", "classifier:input"), ("shufflenet_v2_x0_5", "fc:input"),
    ("mnasnet0_5", "classifier:input"), ("resnet18", "avgpool"), ("alexnet", "avgpool"),
    ("squeezenet1_1", "features.12"), ("taskonomy_normal", "output"), ("pixels", "pixels"), ("gabor", "energy"),
    ("random_features", "random_relu"), ("resnet10t", "global_pool"),
])
def test_latent_layers_are_each_family_final_representation(name, latent):
    model = model_zoo.create(name, model_zoo.offline_weights(name), seed=0)
    assert model_zoo.latent_layers(model) == [latent]
    x = model.preprocess(torch.randint(0, 255, (2, 40, 50), dtype=torch.uint8).numpy())
    taps = _taps(model.module, x, [latent])
    assert list(taps) == [latent]
    head = find_head(model.module)
    if name == "taskonomy_normal":
        assert taps[latent].shape[1:] == (8, 16, 16) and head is None  # the encoder's latent
    elif head is not None:
        width, in_features = _widths(model.module.get_submodule(head), taps[latent])
        assert width == in_features


@pytest.mark.parametrize("name, patterns", [
    ("resnet18", ["layer1.0.relu:2"]), ("resnet18", ["*2"]), ("resnet18", ["layer2.*", "fc"]),
    ("resnet18", ["fc:input"]), ("resnet18", ["avgpool"]), ("mobilenet_v2", ["classifier:input"]),
    ("mobilenet_v2", ["features.1?"]), ("densenet121", ["features.denseblock*"]),
    ("densenet121", ["features.transition?"]), ("squeezenet1_1", ["output"]), ("taskonomy_normal", ["output"]),
])
def test_a_pattern_gives_the_names_of_the_unfiltered_run(name, patterns):
    module = model_zoo.create(name, "random", seed=0).module
    x = torch.zeros(1, 3, 64, 64)
    everything = layer_names(module, x)
    expected = [n for n in everything if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    assert layer_names(module, x, patterns) == expected


def _hooked(module: nn.Module, pattern=None) -> int:
    with LayerTap(module, lambda n, o: None, pattern):
        return sum(len(m._forward_hooks) for m in module.modules())


def test_a_pattern_hooks_only_modules_that_can_match_and_their_descendants():
    module = model_zoo.create("mobilenet_v2", "random", seed=0).module
    everything = _hooked(module)
    # features.10 ... features.17: 8 inverted residuals, each 8 layers: the block, its expanding and its
    # depthwise conv-norm-ReLU6 (block, conv, ReLU6 each) and its projecting conv; features.18: a
    # conv-norm-ReLU6 (reported as features.18.2 only, since the block repeats its ReLU6's output)
    assert _hooked(module, "features.1?") == 8 * (1 + 3 + 3 + 1) + 3 < everything
    assert _hooked(module, "features.18.2") == 1
    assert _hooked(module, "classifier:input") == everything  # whether it repeats a layer depends on all


def test_can_select_sees_later_calls():
    assert can_select("relu", "relu") and can_select("relu:2", "relu") and can_select("*2", "layer1.0.relu")
    assert can_select("relu?2", "relu") and can_select("relu:[2-3]", "relu") and can_select("relu:1*", "relu")
    assert not can_select("relu:x", "relu") and not can_select("relu:[!0-9]", "relu")
    assert not can_select("layer1.*", "layer2.relu") and not can_select("conv", "relu")


class _Block(nn.ModuleDict):
    """A container subclass with its own forward, like DenseNet's _DenseBlock."""

    def __init__(self):
        super().__init__({"a": nn.Conv2d(2, 2, 1), "b": nn.Conv2d(2, 2, 1)})

    def forward(self, x):
        return torch.cat([self["a"](x), self["b"](x)], 1)


class _PassThrough(nn.Module):
    def forward(self, x):
        return x


class _Net(nn.Module):
    def __init__(self, pool: bool):
        super().__init__()
        self.block = _Block()
        self.skip = _PassThrough()
        self.parts = nn.ModuleDict({"relu": nn.ReLU()})
        self.pool = nn.AdaptiveAvgPool2d(1) if pool else None
        self.classifier = nn.Linear(4, 3)

    def forward(self, x):
        x = self.parts["relu"](self.skip(self.block(x) * 2))
        x = self.pool(x) if self.pool is not None else x.mean((2, 3), keepdim=True)
        return self.classifier(torch.flatten(x, 1))


def test_blocks_pass_throughs_and_the_head_input_on_hand_built_models():
    x = torch.randn(2, 2, 5, 5)
    tap = LayerTap(_Net(pool=False), lambda n, o: None)
    assert layer_names(_Net(pool=False), x) == ["block.a", "block.b", "block", "parts.relu", "classifier:input",
                                                 "classifier"]
    with torch.no_grad(), tap:
        tap.model(x)
    assert tap.head_input == "classifier:input"
    # a pooling module already holds the head's input (flattening only reshapes it): no extra tap
    pooled = LayerTap(_Net(pool=True), lambda n, o: None)
    with torch.no_grad(), pooled:
        pooled.model(x)
    assert layer_names(_Net(pool=True), x)[-2:] == ["pool", "classifier"] and pooled.head_input == "pool"


def test_layer_tap_on_a_hand_built_sequential():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Dropout(), nn.Linear(8, 3))
    assert layer_names(model, torch.zeros(1, 1, 4, 4)) == ["0", "2", "5"]
    assert find_head(model) is None


def test_timm_head_is_its_classifier():
    model = model_zoo.create("resnet10t", "random", seed=0).module
    assert find_head(model) == "fc" == model.pretrained_cfg["classifier"]
