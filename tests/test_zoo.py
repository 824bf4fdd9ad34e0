import hashlib
import math
import os

import numpy as np
import pytest
import torch
from torch import nn

import model_zoo
from model_zoo.layers import LayerTap, layer_names
from model_zoo.sources import baselines, timm_models, torchvision_models
from mouse_rsa.errors import InvalidInput, WeightsUnavailable

STUDY_MODELS = """alexnet vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn resnet18 resnet34 resnet50
resnet101 resnet152 resnext50_32x4d resnext101_32x8d wide_resnet50_2 wide_resnet101_2 densenet121 densenet161
densenet169 densenet201 googlenet inception_v3 squeezenet1_0 squeezenet1_1 mobilenet_v2 mnasnet0_5 mnasnet1_0
shufflenet_v2_x0_5 shufflenet_v2_x1_0""".split()


def test_catalogue_has_the_model_zoology_study():
    table = model_zoo.list_models()
    assert set(STUDY_MODELS) <= set(table["name"])
    extra = {"taskonomy_segment_unsup2d", "taskonomy_class_object", "gabor", "pixels", "random_features"}
    assert extra <= set(table["name"])
    assert len(table[table["source"] == "taskonomy"]) == 25
    row = table[table["name"] == "mobilenet_v2"].iloc[0]
    assert row["n_params"] == 3504872 and row["input_size"] == 224 and row["training"] == "imagenet"


def test_list_models_pattern_and_all():
    assert list(model_zoo.list_models("vgg1?_bn")["name"]) == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    everything = model_zoo.list_models("convnext_tiny*", include_all=True)
    assert {"convnext_tiny"} <= set(everything["name"])
    assert set(everything["source"]) == {"torchvision", "timm"}


@pytest.mark.parametrize("name", STUDY_MODELS)
def test_every_study_architecture_builds_and_yields_its_layers(name):
    model = model_zoo.create(name, weights="random", seed=0)
    size = 75 if name == "inception_v3" else 64  # small input keeps the suite fast; layers do not depend on it
    names = layer_names(model.module, torch.zeros(2, 3, size, size))
    assert len(names) == model.info.depth == len(set(names))
    assert model.info.n_params == sum(p.numel() for p in model.module.parameters())


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "squeezenet1_1"])
def test_full_size_features(name):
    model = model_zoo.create(name, weights="random", seed=0)
    x = model.preprocess(np.random.default_rng(0).integers(0, 255, (2, 60, 80), dtype=np.uint8))
    assert x.shape == (2, 3, 224, 224)
    outs = []
    with torch.no_grad(), LayerTap(model.module, lambda n, o: outs.append((n, o.shape))):
        model.module(x)
    assert len(outs) == model.info.depth and outs[-1][1] == (2, 1000)


def test_layer_order_follows_the_forward_pass():
    names = layer_names(model_zoo.create("resnet18", "random").module, torch.zeros(1, 3, 64, 64))
    assert names[:3] == ["conv1", "relu", "maxpool"]
    # the block's shared ReLU is called twice; the block output is that second call's tensor
    assert names[3:8] == ["layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.relu:2", "layer1.1.conv1"]
    assert names.index("layer2.0.downsample.0") < names.index("layer2.0.relu:2")
    assert names[-2:] == ["avgpool", "fc"]
    assert "bn1" not in names and "layer1" not in names  # no norms, no plain containers


def test_inplace_relu_does_not_overwrite_captured_conv_output():
    model = model_zoo.create("alexnet", "random", seed=0)
    captured = {}
    with torch.no_grad(), LayerTap(model.module, lambda n, o: captured.setdefault(n, o.clone()), "features.[01]"):
        model.module(torch.randn(1, 3, 64, 64))
    assert (captured["features.0"] < 0).any()     # conv output keeps its negative values
    assert (captured["features.1"] >= 0).all()     # the in-place ReLU's own output


def test_pattern_selects_layers():
    model = model_zoo.create("mobilenet_v2", "random")
    # features.18 is conv-norm-ReLU6: its output is its ReLU6's tensor, reported once as features.18.2
    assert layer_names(model.module, torch.zeros(1, 3, 64, 64), "features.1?") == \
        [f"features.{i}" for i in range(10, 18)]


def test_same_seed_same_weights_different_seed_different():
    a = model_zoo.create("resnet18", "random", seed=3).module.state_dict()
    b = model_zoo.create("resnet18", "random", seed=3).module.state_dict()
    c = model_zoo.create("resnet18", "random", seed=4).module.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_random_build_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    model_zoo.create("squeezenet1_1", "random", seed=9)
    assert torch.equal(torch.rand(1), expected)


def test_pretrained_from_a_local_file_is_named_by_its_content(tmp_path):
    source = model_zoo.create("squeezenet1_1", "random", seed=5).module
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    model = model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert model.weights == "pretrained" and model.weights_source == f"file:weights.pth:sha256:{digest}"
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in model.module.state_dict().items())
    (tmp_path / "elsewhere").mkdir()
    moved = path.rename(tmp_path / "elsewhere" / "weights.pth")
    assert model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(moved)).weights_source == \
        model.weights_source
    torch.save(model_zoo.create("squeezenet1_1", "random", seed=6).module.state_dict(), path)
    assert model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(path)).weights_source != \
        model.weights_source


def test_pretrained_from_safetensors_and_wrapped_checkpoint(tmp_path):
    from safetensors.torch import save_file

    source = model_zoo.create("squeezenet1_1", "random", seed=6).module.state_dict()
    save_file(source, tmp_path / "w.safetensors")
    torch.save({"state_dict": source, "epoch": 3}, tmp_path / "ckpt.pth")
    for name in ("w.safetensors", "ckpt.pth"):
        model = model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(tmp_path / name))
        assert torch.equal(model.module.features[0].weight, source["features.0.weight"])
        assert model.weights_source.startswith(f"file:{name}:sha256:")


def test_mismatched_or_corrupt_weights_file(tmp_path):
    torch.save(model_zoo.create("resnet18", "random").module.state_dict(), tmp_path / "r18.pth")
    with pytest.raises(InvalidInput, match="do not fit squeezenet1_1"):
        model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(tmp_path / "r18.pth"))
    (tmp_path / "junk.pth").write_bytes(b"\x00garbage")
    with pytest.raises(InvalidInput, match="not a readable state dict"):
        model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(tmp_path / "junk.pth"))


def test_pretrained_from_the_torchvision_cache(monkeypatch, no_download):
    weights = torchvision_models.pretrained_weights("squeezenet1_1", "IMAGENET1K_V1")
    target = torchvision_models.cached_file(weights)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = model_zoo.create("squeezenet1_1", "random", seed=8).module.state_dict()
    torch.save(source, target)
    try:
        model = model_zoo.create("squeezenet1_1", "pretrained")
        assert torch.equal(model.module.features[0].weight, source["features.0.weight"])
        assert model.weights_source == weights.url
    finally:
        target.unlink()


def test_offline_pretrained_is_one_line_naming_model_file_and_cache(no_download):
    with pytest.raises(WeightsUnavailable) as err:
        model_zoo.create("mobilenet_v2", "pretrained")
    message = str(err.value)
    assert "\n" not in message and "mobilenet_v2" in message and "mobilenet_v2-b0353104.pth" in message
    assert str(torch.hub.get_dir()) in message and "weights_file" in message


def test_offline_taskonomy_pretrained(no_download):
    with pytest.raises(WeightsUnavailable, match="taskonomy_normal.*normal_encoder-f5e2c773"):
        model_zoo.create("taskonomy_normal", "pretrained")


def test_unknown_model_suggests_close_names():
    with pytest.raises(InvalidInput, match="unknown model 'mobilenet_v22'.*mobilenet_v2"):
        model_zoo.create("mobilenet_v22")
    with pytest.raises(InvalidInput, match="cannot carry weights 'pretrained'"):
        model_zoo.create("gabor", "pretrained")


def test_timm_and_newer_torchvision_models_work_by_name():
    timm_model = model_zoo.create("resnet10t", "random", seed=0)
    assert timm_model.info.source == "timm"
    assert len(layer_names(timm_model.module, torch.zeros(1, 3, 64, 64))) > 10
    tv = model_zoo.create("efficientnet_b0", "random", seed=0)
    assert tv.info.source == "torchvision" and tv.input_size == 224


def test_taskonomy_encoder_shapes():
    model = model_zoo.create("taskonomy_class_object", "random", seed=0)
    assert model.input_size == 256 and model.mean == (0.5, 0.5, 0.5)
    out = model.module(model.preprocess(np.zeros((1, 40, 50), np.uint8)))
    assert out.shape == (1, 8, 16, 16)
    assert model.info.n_params == 23655504


def test_preprocess_gray_to_normalised_three_channels():
    model = model_zoo.create("alexnet", "random")
    x = model.preprocess(np.full((1, 10, 20), 255, np.uint8))
    expected = (1.0 - torch.tensor(model.mean)) / torch.tensor(model.std)
    torch.testing.assert_close(x[0, :, 5, 5], expected)


def _grating(theta: float, wavelength: float, size: int = 128) -> torch.Tensor:
    y, x = np.mgrid[0:size, 0:size]
    img = 0.5 + 0.5 * np.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / wavelength)
    return torch.tensor(img, dtype=torch.float32)[None, None].expand(1, 3, size, size)


def test_gabor_unit_prefers_its_own_orientation():
    bank = baselines.GaborEnergy()
    n_filters = len(bank.filters)
    for k in (0, 3, 6):
        theta, wavelength, _ = bank.filters[k]  # wavelength 4 px, small envelope
        responses = []
        for j in range(baselines.ORIENTATIONS):
            energy = bank(_grating(math.pi * j / baselines.ORIENTATIONS, wavelength))
            responses.append(energy.view(n_filters, -1)[k].mean().item())
        assert int(np.argmax(responses)) == k
    # phase invariance: a shifted grating gives the same energy (away from the borders)
    a = bank(_grating(0.0, 8.0)).view(n_filters, baselines.GRID, baselines.GRID)
    b = bank(torch.roll(_grating(0.0, 8.0), 2, dims=3)).view(n_filters, baselines.GRID, baselines.GRID)
    torch.testing.assert_close(a[:, 2:-2, 2:-2], b[:, 2:-2, 2:-2], rtol=0.05, atol=1e-3)


def test_baselines_shapes_and_seeds():
    x = torch.rand(2, 3, 128, 128)
    assert model_zoo.create("pixels", "fixed").module(x).shape == (2, 1024)
    assert model_zoo.create("gabor", "fixed").module(x).shape == (2, 4096)
    a = model_zoo.create("random_features", "random", seed=1).module(x)
    b = model_zoo.create("random_features", "random", seed=2).module(x)
    assert a.shape == (2, 4096) and (a >= 0).all() and not torch.equal(a, b)


def test_layer_tap_on_a_hand_built_model():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Dropout(), nn.Linear(8, 3))
    assert layer_names(model, torch.zeros(1, 1, 4, 4)) == ["0", "2", "5"]


@pytest.fixture
def hub_must_not_be_asked(monkeypatch):
    import timm.models._hub as hub

    def asked(*args, **kwargs):
        raise AssertionError("the hub was asked")

    monkeypatch.setattr(hub, "hf_hub_download", asked)


def test_offline_timm_pretrained_fails_at_once_in_one_line(monkeypatch, hub_must_not_be_asked):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable) as err:
        model_zoo.create("resnet10t", "pretrained")
    message = str(err.value)
    assert "\n" not in message and "resnet10t" in message and "hf-hub:timm/resnet10t.c3_in1k" in message
    assert timm_models._hub_cache() in message and "offline" in message and "weights_file" in message


def test_unreachable_hub_fails_at_once(monkeypatch, hub_must_not_be_asked):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(timm_models, "_reachable", lambda url: False)
    with pytest.raises(WeightsUnavailable, match="resnet10t.*cannot be reached"):
        model_zoo.create("resnet10t", "pretrained")


def test_timm_pretrained_from_the_hub_cache_without_the_network(monkeypatch, hub_must_not_be_asked):
    from safetensors.torch import save_file

    monkeypatch.setattr(timm_models, "_reachable", lambda url: pytest.fail("the network was probed"))
    source = model_zoo.create("resnet10t", "random", seed=3).module.state_dict()
    repo = f"{timm_models._hub_cache()}/models--timm--resnet10t.c3_in1k"
    snapshot = f"{repo}/snapshots/{'0' * 40}"
    os.makedirs(snapshot, exist_ok=True)
    os.makedirs(f"{repo}/refs", exist_ok=True)
    with open(f"{repo}/refs/main", "w") as f:
        f.write("0" * 40)
    save_file(source, f"{snapshot}/model.safetensors")
    model = model_zoo.create("resnet10t", "pretrained")
    assert model.weights_source == "timm:resnet10t"
    assert all(torch.equal(v, source[k]) for k, v in model.module.state_dict().items())


@pytest.mark.network
def test_real_pretrained_download():
    model = model_zoo.create("squeezenet1_1", "pretrained")
    assert model.weights_source.startswith("https://") and torchvision_models.cached_file(
        torchvision_models.pretrained_weights("squeezenet1_1", "IMAGENET1K_V1")).exists()
