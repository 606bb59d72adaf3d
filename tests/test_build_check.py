"""The model check before any job, as the model will train: training mode, a batch of two,
output a floating tensor of shape (batch, classes), one backward pass; each problem named
with variant, model and file; re-checked when a dataset's shape or classes change."""

from __future__ import annotations

import copy

import pytest

from cnnlab.models import build_check as model_check
from cnnlab.models.build_check import check_models, checked_models, model_key
from cnnlab.plan.config import check_config, expand_runs, expand_sweeps, folder_datasets, run_dir
from test_image_folder import write_images
from test_user_models import with_user_model

# A builder as a user writes it, with the forward pass ``{forward}`` returns from.
MODEL_FILE = '''import torch
from torch import nn

import cnnlab


class Net(nn.Module):
    def __init__(self, in_shape, num_classes, width):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_shape[0], 4, 3, padding=1),
                                      nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4, width)
        self.aux = nn.Linear(4, width)

    def forward(self, x):
        h = self.features(x)
        {forward}


@cnnlab.register_model
def {name}(in_shape, num_classes):
    return Net(in_shape, num_classes, {width})
'''


@pytest.fixture(autouse=True, scope="module")
def registry_as_it_was():
    """The models these tests' files register are gone afterwards: later test files see
    cnnlab's own registry."""
    from cnnlab.models import registry

    before = dict(registry.MODELS)
    yield
    registry.MODELS.clear()
    registry.MODELS.update(before)


def user_model(tmp_path, config, name, forward, width="num_classes", dataset="cifar10"):
    """The runs of ``config`` with a variant 'mine' of model ``name`` (``MODEL_FILE``)."""
    model_file = tmp_path / f"{name}.py"
    model_file.write_text(MODEL_FILE.format(name=name, forward=forward, width=width))
    return model_file, with_user_model(config, model_file, model=name, dataset=dataset)


def test_a_model_returning_a_tuple_in_training_mode_is_refused_naming_its_file(config,
                                                                               tmp_path):
    """A tensor in eval mode, (logits, aux) in training mode, as googlenet does: the
    check in eval mode passed it, and the first training step failed."""
    model_file, runs = user_model(
        tmp_path, config, "aux_net",
        "return (self.head(h), self.aux(h)) if self.training else self.head(h)")
    _, problems = check_models(runs)
    assert problems == [
        f"studies.task1.datasets.cifar10, variant 'mine' (model aux_net), built by "
        f"{model_file}, cannot be trained on cifar10: in training mode it returns a tuple of "
        f"2, not a tensor; cnnlab needs one tensor of logits, shape (batch, classes)"]
    with pytest.raises(ValueError, match="models that cannot be built:\n  .*variant 'mine'"):
        checked_models(runs, tmp_path / "cache")


@pytest.mark.parametrize("name, forward, width, got", [
    ("wide_net", "return self.head(h)", "num_classes + 2",
     "its output has shape (2, 12) for 2 images; cnnlab needs (batch, classes) = (2, 10)"),
    ("int_net", "return self.head(h).argmax(1, keepdim=True).expand(-1, 10)", "num_classes",
     "its output is of dtype torch.int64; cnnlab needs floating-point logits"),
])
def test_logits_of_the_wrong_width_or_dtype_are_refused(config, tmp_path, name, forward, width,
                                                        got):
    """Cross-entropy takes logits wider than the classes without a word; the confusion
    matrix then counts predictions of classes that do not exist."""
    model_file, runs = user_model(tmp_path, config, name, forward, width)
    [problem] = check_models(runs)[1]
    assert problem.startswith("studies.task1.datasets.cifar10, variant 'mine' (model "
                              f"{name}), built by {model_file}, cannot be trained")
    assert problem.endswith(got)


def test_googlenet_s_auxiliary_logits_are_named_with_the_argument_that_leaves_them_out(config):
    variants = config["studies"]["task1"]["datasets"]["cifar10"]["variants"]
    variants.append({"name": "gnet", "model": "torchvision.googlenet"})
    variants.append({"name": "gnet_plain", "model": "torchvision.googlenet",
                     "args": {"aux_logits": False, "init_weights": False}})
    expanded = expand_sweeps(config)
    check_config(expanded)
    runs = {k: v for k, v in expand_runs(expanded).items() if "/gnet" in k}
    flops, problems = check_models(runs)
    assert problems == [
        "studies.task1.datasets.cifar10, variant 'gnet' (model torchvision.googlenet) cannot "
        "be trained on cifar10: in training mode it returns a named tuple "
        "GoogLeNetOutputs(logits, aux_logits2, aux_logits1), not a tensor; cnnlab needs one "
        "tensor of logits, shape (batch, classes); torchvision's aux_logits=False leaves its "
        "auxiliary logits out: give the variant `args: {aux_logits: false}`"]
    assert list(flops.values())[0]["flops"] > 0  # gnet_plain: checked, counted


def test_a_torchvision_model_that_is_no_classifier_is_named_before_it_is_built(config,
                                                                              monkeypatch):
    import torchvision.models

    monkeypatch.setattr(torchvision.models, "get_model",
                        lambda *a, **k: pytest.fail("built a model that is no classifier"))
    variants = config["studies"]["task1"]["datasets"]["cifar10"]["variants"]
    variants += [{"name": "det", "model": "torchvision.fasterrcnn_resnet50_fpn"},
                 {"name": "seg", "model": "torchvision.deeplabv3_resnet50"},
                 {"name": "nope", "model": "torchvision.no_such_net"}]
    runs = {k: v for k, v in expand_runs(expand_sweeps(config)).items()
            if any(f"/{name}/" in k for name in ("det", "seg", "nope"))}
    problems = check_models(runs)[1]
    assert problems == [
        "studies.task1.datasets.cifar10, variant 'det' (model "
        "torchvision.fasterrcnn_resnet50_fpn): torchvision.fasterrcnn_resnet50_fpn is an "
        "object detection model of torchvision.models.detection, not an image classifier; "
        "cnnlab trains image classifiers (`cnnlab models --torchvision` lists torchvision's)",
        "studies.task1.datasets.cifar10, variant 'seg' (model torchvision.deeplabv3_resnet50): "
        "torchvision.deeplabv3_resnet50 is a semantic segmentation model of "
        "torchvision.models.segmentation, not an image classifier; cnnlab trains image "
        "classifiers (`cnnlab models --torchvision` lists torchvision's)",
        "studies.task1.datasets.cifar10, variant 'nope' (model torchvision.no_such_net): "
        "torchvision.no_such_net is not a model of torchvision.models (`cnnlab models "
        "--torchvision` lists its image classifiers)"]


def test_a_model_that_reads_its_values_is_checked_on_the_cpu(config, tmp_path):
    """The meta device has no values (``.item()`` raises there): such a model takes the
    same step on a real batch of two on the CPU instead of being refused."""
    _, runs = user_model(tmp_path, config, "reads_values",
                         "return self.head(h) * (2.0 if h.sum().item() > 0 else 1.0)")
    flops, problems = check_models(runs)
    assert problems == []
    [key] = [model_key(s) for s in runs.values() if s["model"] == "reads_values"][:1]
    assert flops[key]["flops"] > 0
    # Its memory is counted in the same step (on the CPU), not a traceback at the start.
    assert flops[key]["parameters"] > 0 and flops[key]["saved_per_image"] > 0


def folder_runs(config, tmp_path, channels, image_size, model="fixed_rgb"):
    """The runs of a study of image folder ``bc_shapes`` (``tmp_path/images``, converted to
    ``channels`` and ``image_size``) with a variant of ``model``."""
    config = copy.deepcopy(config)
    config["datasets"] = {**(config.get("datasets") or {}), "bc_shapes": {
        "folder": str(tmp_path / "images"), "image_size": image_size, "channels": channels,
        "test_fraction": 0.5}}
    config["studies"] = {"task1": config["studies"]["task1"]}
    config["studies"]["task1"]["datasets"] = {
        "bc_shapes": {"variants": [{"name": "mine", "model": model}]}}
    folder_datasets(config, tmp_path / "cache")
    expanded = expand_sweeps(config)
    check_config(expanded)
    return expand_runs(expanded)


def test_a_folder_s_channels_or_image_size_changed_re_checks_its_models(config, tmp_path):
    """The cache keys on the dataset's shape and classes: a model built for three channels
    passes on an RGB folder and is refused, naming the variant, once the folder says
    ``channels: 1``; a new ``image_size`` is a new key too."""
    write_images(tmp_path / "images", {"a": 4, "b": 4})
    model_file = tmp_path / "fixed_rgb.py"
    # Three input channels whatever the dataset's: a slip a user's file can make.
    model_file.write_text(MODEL_FILE.format(name="fixed_rgb", forward="return self.head(h)",
                                            width="num_classes")
                          .replace("nn.Conv2d(in_shape[0],", "nn.Conv2d(3,"))
    config["models_from"] = [str(model_file)]
    mine = run_dir("task1", "bc_shapes", "mine", 0)
    rgb = folder_runs(config, tmp_path, channels=3, image_size=16)
    keys = {model_key(rgb[mine])}
    assert checked_models(rgb, tmp_path / "cache")
    grey = folder_runs(config, tmp_path, channels=1, image_size=16)
    keys.add(model_key(grey[mine]))
    with pytest.raises(ValueError, match=r"variant 'mine' \(model fixed_rgb\) cannot be "
                                         r"built for bc_shapes's 1x16x16 images"):
        checked_models(grey, tmp_path / "cache")
    keys.add(model_key(folder_runs(config, tmp_path, channels=3, image_size=24)[mine]))
    assert len(keys) == 3


def test_the_check_s_cache_keys_on_its_own_code_and_torchvision_s_version(config, tmp_path,
                                                                        monkeypatch):
    """The training step is the check's code, and torchvision's code builds its models:
    a change to either re-checks."""
    one = run_dir("task1", "mnist", "mlp", 0)
    runs = {one: expand_runs(config)[one]}
    digested = []
    digest = model_check.library_digest
    monkeypatch.setattr(model_check, "library_digest",
                        lambda *modules: digested.extend(modules) or digest(*modules))
    checked_models(runs, tmp_path)
    assert {"cnnlab.models.training_step", "cnnlab.models.build_check"} <= set(digested)
    monkeypatch.setattr(model_check, "_version", lambda package: "0.0-other")
    checked_models(runs, tmp_path)
    assert len(list(tmp_path.glob("models-*.json"))) == 2


def test_the_step_counts_the_same_on_the_cpu_as_on_meta(monkeypatch):
    """A small model on small images takes its step on the CPU (faster there), any other on
    the meta device (no memory): the FLOPs, parameters and saved activations are the same."""
    spec = {"dataset": "cifar10", "model": "resnet", "model_args": {}}
    devices = []
    first = model_check.on_meta_else_cpu
    monkeypatch.setattr(model_check, "on_meta_else_cpu",
                        lambda work, cpu_first=False: devices.append(cpu_first)
                        or first(work, cpu_first))
    on_cpu = model_check.model_facts(spec)
    monkeypatch.setattr(model_check, "CPU_PARAMETERS", 0)
    on_meta = model_check.model_facts(spec)
    assert devices == [True, False]
    assert on_cpu == on_meta and on_cpu["flops"] > 0 and on_cpu["saved_per_image"] > 0


@pytest.mark.parametrize("model, args", [("mlp", {}), ("simple_cnn", {}), ("resnet", {}),
                                         ("kernel_cnn", {"kernel_size": 5}),
                                         ("deep_cnn", {"depth": 8})])
def test_the_layer_flops_are_pytorch_s_count_for_a_cnn(model, args):
    """The check counts the FLOPs of the convolution and linear layers (hooks, no dispatch
    mode): for the built-in networks that is all PyTorch's FlopCounterMode counts."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from cnnlab.models.registry import build_model
    from cnnlab.models.training_step import LayerFlops

    net = build_model(model, (3, 32, 32), 10, **args).train()
    x = torch.rand(2, 3, 32, 32)
    with FlopCounterMode(display=False) as pytorch, LayerFlops(net) as layers:
        net(x)
    assert layers.total == pytorch.get_total_flops() > 0
