"""The zoo: catalogue and its metadata, presets, building models, weights and their sources, baselines."""
import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import model_zoo
from model_zoo.errors import InvalidInput, WeightsUnavailable
from model_zoo.layers import LayerTap, layer_names
from model_zoo.measure import weight_layers
from model_zoo.presets import MULTI_IMAGE_TASKS, PRESETS
from model_zoo.registry import CLUSTERS, COLUMNS
from model_zoo.sources import baselines, timm_models, torchvision_models

TASKS = ["autoencoding", "class_object", "class_scene", "colorization", "curvature", "denoising", "depth_euclidean",
         "depth_zbuffer", "edge_occlusion", "edge_texture", "egomotion", "fixated_pose", "inpainting", "jigsaw",
         "keypoints2d", "keypoints3d", "nonfixated_pose", "normal", "point_matching", "reshading", "room_layout",
         "segment_semantic", "segment_unsup25d", "segment_unsup2d", "vanishing_point"]


def test_catalogue_has_the_model_zoology_study():
    table = model_zoo.list_models()
    assert list(table.columns) == COLUMNS
    assert len(table[table["source"] == "torchvision"]) == 31
    assert sorted(table[table["source"] == "taskonomy"]["name"]) == [f"taskonomy_{t}" for t in TASKS]
    assert {"gabor", "pixels", "random_features"} <= set(table["name"])
    row = table[table["name"] == "mobilenet_v2"].iloc[0]
    assert row["n_params"] == 3504872 and row["input_size"] == 224 and row["training"] == "imagenet"


# depth = conv + linear modules run, n_layers = taps, both counted by hand:
# alexnet: 5 convs + 3 linears; taps 13 in features, avgpool, 2 linear + 2 ReLU + 1 linear in the classifier
# resnet18: stem conv + 8 blocks x 2 convs + 3 downsampling convs + fc; taps: conv1, relu, maxpool, 4 per block
#   (conv1, relu, conv2, relu:2) + 3 downsampling convs, avgpool, fc
# mobilenet_v2: the paper's 53 (stem, 2 + 16 x 3 in the inverted residuals, last conv, linear); taps: stem 2,
#   first block 4, 16 blocks x 6, last conv-norm-ReLU6 2, classifier:input, classifier.1
# densenet121: its name's 121 (stem, 58 dense layers x 2, 3 transitions, linear); taps: stem 3, 58 x 4,
#   3 transitions x 3, 4 dense blocks, classifier:input, classifier
# taskonomy: stem, 16 bottlenecks x 3, 4 projections, the compressing conv; taps: stem 3, 16 bottlenecks x 6
#   (3 convs, 3 ReLU calls), 4 projections, 2 max-pool shortcuts, compressing conv and ReLU, output (GroupNorm)
# baselines: no weights layer, one tap
HAND_COUNTS = {"alexnet": (8, 13 + 1 + 5), "resnet18": (1 + 16 + 3 + 1, 3 + 8 * 4 + 3 + 2),
               "mobilenet_v2": (1 + 2 + 16 * 3 + 1 + 1, 2 + 4 + 16 * 6 + 2 + 2),
               "densenet121": (1 + 58 * 2 + 3 + 1, 3 + 58 * 4 + 3 * 3 + 4 + 2),
               "taskonomy_normal": (1 + 16 * 3 + 4 + 1, 3 + 16 * 6 + 4 + 2 + 2 + 1), "pixels": (0, 1)}


@pytest.mark.parametrize("name", HAND_COUNTS)
def test_depth_and_layer_count_match_a_count_by_hand(name):
    depth, n_layers = HAND_COUNTS[name]
    meta = model_zoo.info(name)
    assert (meta.depth, meta.n_layers) == (depth, n_layers)
    model = model_zoo.create(name, model_zoo.offline_weights(name), seed=0)
    x = torch.zeros(1, 3, 64, 64)
    assert len(weight_layers(model.module, x)) == depth and len(layer_names(model.module, x)) == n_layers
    assert meta.n_params == sum(p.numel() for p in model.module.parameters())


def test_googlenet_depth_leaves_out_the_auxiliary_classifiers_that_do_not_run():
    module = model_zoo.create("googlenet", "random").module
    ran = weight_layers(module, torch.zeros(1, 3, 64, 64))
    assert not any(n.startswith("aux") for n in ran) and any(n.startswith("aux") for n, _ in module.named_modules())
    assert len(ran) == 3 + 9 * 6 + 1 == model_zoo.info("googlenet").depth  # stem, 9 inception blocks, fc


def test_catalogue_metadata():
    table = model_zoo.catalogue()
    tasks = table[table["source"] == "taskonomy"]
    assert len(tasks) == 25 and set(tasks["cluster"]) == set(CLUSTERS) and len(CLUSTERS) == 5
    assert (table[table["source"] != "taskonomy"]["cluster"] == "").all()
    cluster = dict(zip(tasks["name"].str.removeprefix("taskonomy_"), tasks["cluster"]))
    # the paper's Figure 1: 2D tasks include 2D edges and 2D segmentation; semantic ones object
    # classification and semantic segmentation
    assert cluster["edge_texture"] == cluster["segment_unsup2d"] == "2D"
    assert cluster["class_object"] == cluster["segment_semantic"] == "semantic"
    assert cluster["depth_zbuffer"] == "3D" and cluster["room_layout"] == "geometric"
    assert list(tasks["training"]) == [f"taskonomy:{t}" for t in tasks["name"].str.removeprefix("taskonomy_")]
    tv = table[table["source"] == "torchvision"]
    assert tv["top1"].between(0, 100, inclusive="neither").all() and (tv["top5"] > tv["top1"]).all()
    assert (tv["top5"] < 100).all() and (tv["gflops"] > 0).all() and (tv["training"] == "imagenet").all()
    assert table[table["source"] != "torchvision"][["top1", "top5", "gflops"]].isna().all().all()
    resnet50 = table.set_index("name").loc["resnet50"]  # torchvision's published IMAGENET1K_V1 numbers
    assert (resnet50["top1"], resnet50["top5"], resnet50["gflops"]) == (76.13, 92.862, 4.089)


def test_list_models_pattern_and_all():
    assert list(model_zoo.list_models("vgg1?_bn")["name"]) == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    everything = model_zoo.list_models("convnext_tiny*", include_all=True).set_index("name")
    assert everything.loc["convnext_tiny", "source"] == "torchvision"
    assert everything.loc["convnext_tiny", "top1"] == 82.52 and everything.loc["convnext_tiny", "training"] == "imagenet"
    assert set(everything["source"]) == {"torchvision", "timm"}
    assert model_zoo.info("vit_h_14").training == "weakly-supervised:swag+imagenet"


@pytest.mark.parametrize("name, training", [
    ("resnet10t", "imagenet"), ("vit_small_patch16_224.dino", "self-supervised:dino"),
    ("vit_base_patch16_224.mae", "self-supervised:mae"), ("vit_base_patch16_clip_224.openai", "image-text:clip"),
    ("vit_base_patch16_clip_224.openai_ft_in1k", "image-text:clip+imagenet"),
    ("vit_base_patch16_224.augreg2_in21k_ft_in1k", "imagenet-21k+imagenet"),
    ("convnext_tiny.fb_in22k", "imagenet-21k"), ("vit_small_patch14_dinov2.lvd142m", "self-supervised:dinov2"),
    ("resnet50.fb_swsl_ig1b_ft_in1k", "semi-weakly-supervised:ig1b+imagenet"),
    ("resnet50.fb_ssl_yfcc100m_ft_in1k", "semi-supervised:yfcc100m+imagenet"),
    ("resnet50.a1_in1k", "imagenet"),
])
def test_timm_training_label_follows_the_pretrained_config(name, training):
    assert model_zoo.info(name).training == training


def test_importing_the_zoo_and_reading_the_catalogue_load_no_torch():
    code = ("import sys, model_zoo; model_zoo.info('alexnet'); model_zoo.catalogue(); model_zoo.list_models('vgg*'); "
            "model_zoo.resolve_models(['study:all', 'resnet*']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'timm', 'mouse_rsa'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_study_presets():
    zoo, tasks, both = (model_zoo.resolve_models([p]) for p in ("study:zoo", "study:taskonomy", "study:all"))
    torchvision_rows = list(model_zoo.list_models().query("source == 'torchvision'")["name"])
    assert len(zoo) == 30 and [n for n in torchvision_rows if n not in zoo] == ["inception_v3"]
    assert len(tasks) == 21 and sorted(set(TASKS) - {t.removeprefix("taskonomy_") for t in tasks}) == \
        sorted(MULTI_IMAGE_TASKS) == ["egomotion", "fixated_pose", "nonfixated_pose", "point_matching"]
    assert both == zoo + tasks and set(PRESETS) == {"study:zoo", "study:taskonomy", "study:all"}
    clusters = {model_zoo.info(t).cluster for t in tasks}
    assert clusters == set(CLUSTERS)


def test_resolve_models_expands_globs_and_drops_duplicates_in_order():
    assert model_zoo.resolve_models(["resnet1*", "pixels", "resnet18", "timm/resnet10t"]) == \
        ["resnet18", "resnet101", "resnet152", "pixels", "resnet10t"]
    assert model_zoo.resolve_models("vgg1[16]") == ["vgg11", "vgg16"]
    assert model_zoo.resolve_models(["alexnet", "study:zoo"])[:2] == ["alexnet", "vgg11"]


@pytest.mark.parametrize("names, message", [
    (["study:zo"], r"unknown preset 'study:zo'; did you mean study:zoo"),
    (["resnot*"], r"no catalogued model matches 'resnot\*'"),
    (["alexnt"], r"unknown model 'alexnt'; did you mean alexnet"),
    ([], "no model given"),
])
def test_resolve_models_errors_are_one_line_with_a_hint(names, message):
    with pytest.raises(InvalidInput, match=message) as err:
        model_zoo.resolve_models(names)
    assert err.value.argument == "model" and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "squeezenet1_1"])
def test_full_size_features(name):
    model = model_zoo.create(name, weights="random", seed=0)
    x = model.preprocess(np.random.default_rng(0).integers(0, 255, (2, 60, 80), dtype=np.uint8))
    assert x.shape == (2, 3, 224, 224)
    outs = []
    with torch.no_grad(), LayerTap(model.module, lambda n, o: outs.append((n, o.shape))):
        model.module(x)
    assert len(outs) == model.info.n_layers and outs[-1][1][:2] == (2, 1000)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS["study:zoo"] + ("inception_v3",))
def test_every_study_architecture_at_full_size(name):
    model = model_zoo.create(name, weights="random", seed=0)
    x = torch.zeros(1, 3, model.input_size, model.input_size)
    assert len(layer_names(model.module, x)) == model.info.n_layers
    assert len(weight_layers(model.module, x)) == model.info.depth


def test_layer_order_follows_the_forward_pass():
    names = layer_names(model_zoo.create("resnet18", "random").module, torch.zeros(1, 3, 64, 64))
    assert names[:3] == ["conv1", "relu", "maxpool"]
    # the block's shared ReLU is called twice; the block output is that second call's tensor
    assert names[3:8] == ["layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.relu:2", "layer1.1.conv1"]
    assert names.index("layer2.0.downsample.0") < names.index("layer2.0.relu:2")
    assert names[-2:] == ["avgpool", "fc"]  # fc's input is avgpool's output, flattened: no extra tap
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
    with pytest.raises(InvalidInput, match="do not fit squeezenet1_1") as err:
        model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(tmp_path / "r18.pth"))
    assert err.value.argument == "weights_file"
    (tmp_path / "junk.pth").write_bytes(b"\x00garbage")
    with pytest.raises(InvalidInput, match="not a readable state dict"):
        model_zoo.create("squeezenet1_1", "pretrained", weights_file=str(tmp_path / "junk.pth"))
    with pytest.raises(InvalidInput, match="weights_file applies to pretrained weights only"):
        model_zoo.create("squeezenet1_1", "random", weights_file=str(tmp_path / "junk.pth"))


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
    with pytest.raises(InvalidInput, match="unknown model 'mobilenet_v22'.*mobilenet_v2") as err:
        model_zoo.create("mobilenet_v22")
    assert err.value.argument == "model"
    with pytest.raises(InvalidInput, match="cannot carry weights 'pretrained'") as err:
        model_zoo.create("gabor", "pretrained")
    assert err.value.argument == "weights"


def test_timm_and_newer_torchvision_models_work_by_name():
    timm_model = model_zoo.create("resnet10t", "random", seed=0)
    assert timm_model.info.source == "timm" and timm_model.weights_source == "seed 0"
    assert len(layer_names(timm_model.module, torch.zeros(1, 3, 64, 64))) > 10
    tv = model_zoo.create("efficientnet_b0", "random", seed=0)
    assert tv.info.source == "torchvision" and tv.input_size == 224


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
    monkeypatch.setattr(timm_models, "reachable", lambda url, offline_variables=(): False)
    with pytest.raises(WeightsUnavailable, match="resnet10t.*cannot be reached"):
        model_zoo.create("resnet10t", "pretrained")


def test_timm_pretrained_from_the_hub_cache_without_the_network(monkeypatch, hub_must_not_be_asked):
    from safetensors.torch import save_file

    monkeypatch.setattr(timm_models, "reachable", lambda *a: pytest.fail("the network was probed"))
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
        _, wavelength, _ = bank.filters[k]  # wavelength 4 px, small envelope
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


@pytest.mark.network
def test_real_pretrained_download():
    model = model_zoo.create("squeezenet1_1", "pretrained")
    assert model.weights_source.startswith("https://") and torchvision_models.cached_file(
        torchvision_models.pretrained_weights("squeezenet1_1", "IMAGENET1K_V1")).exists()
