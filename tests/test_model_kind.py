"""Which variants the report compares as "CNN vs MLP": the stated rule on what each run
recorded of its layers, or the config's ``kind`` where the rule is wrong for a model. A
vision transformer has a convolution (its patch embedding) and is not a CNN."""

import io

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.analysis.findings import conv_over_mlp
from cnnlab.analysis.model_kind import KINDS, kind_by_rule
from cnnlab.analysis.summary import build_summary, over_seeds
from cnnlab.models import registry
from cnnlab.models.architecture import kind_facts
from cnnlab.plan.config import expand_runs, run_dir, shown_as, trained_spec
from cnnlab.plan.shared_runs import shared_runs
from cnnlab.training.loop import run_training
from conftest import smoke_spec
from test_what_retrains import SCHEMA


class TinyViT(nn.Module):
    """A vision transformer in miniature: 7x7 patches cut by a Conv2d with stride = kernel
    (as torchvision's vit_b_16 does at 16x16), one encoder layer of self-attention, a
    linear head on the mean token."""

    def __init__(self, in_shape, num_classes, dim=16):
        super().__init__()
        self.patches = nn.Conv2d(in_shape[0], dim, 7, stride=7)
        self.encoder = nn.TransformerEncoderLayer(dim, nhead=2, dim_feedforward=32,
                                                  batch_first=True)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        tokens = self.patches(x).flatten(2).transpose(1, 2)  # N, patches, dim
        return self.head(self.encoder(tokens).mean(dim=1))


def tiny_vit(in_shape, num_classes):
    return TinyViT(in_shape, num_classes)


def test_the_rule_reads_overlapping_convolutions_patches_and_attention():
    assert kind_by_rule(kind_facts(TinyViT((1, 28, 28), 10))) == "other"
    with torch.device("meta"):  # torchvision's own, built without memory
        vit, swin, resnet = (torchvision.models.vit_b_16(), torchvision.models.swin_t(),
                             torchvision.models.resnet18())
    assert kind_facts(vit) == {"sliding_convolutions": 0, "patch_convolutions": 1,
                               "attention_layers": 12}
    assert kind_by_rule(kind_facts(vit)) == "other"
    assert kind_by_rule(kind_facts(swin)) == "other"  # 4x4 patches, windowed attention
    assert kind_by_rule(kind_facts(resnet)) == "cnn"
    assert kind_by_rule(kind_facts(registry.build_model("mlp", (1, 28, 28), 10))) == "mlp"
    # 1x1 convolutions only mix channels at each pixel: not a CNN, not an MLP either.
    pointwise = nn.Sequential(nn.Conv2d(1, 4, 1), nn.Flatten(), nn.Linear(4 * 28 * 28, 10))
    assert kind_by_rule(kind_facts(pointwise)) == "other"
    # What was not recorded is not claimed.
    assert kind_by_rule(None) == "other"


def test_the_config_s_kinds_are_the_rule_s():
    variant = SCHEMA["properties"]["studies"]["additionalProperties"]["properties"][
        "datasets"]["additionalProperties"]["properties"]["variants"]["items"]
    assert tuple(variant["properties"]["kind"]["enum"]) == KINDS


@pytest.fixture
def two_runs(config, synthetic_mnist, tmp_path, monkeypatch):
    """metrics.json of a trained MLP and a trained tiny ViT (one smoke epoch each)."""
    monkeypatch.setitem(registry.MODELS, "tiny_vit", tiny_vit)
    files = []
    for name, model in (("mlp", "mlp"), ("vit", "tiny_vit")):
        spec = smoke_spec(config, "mnist", "mlp")
        spec.update(variant=name, label=name.upper(), model=model,
                    model_args={"hidden": [32]} if model == "mlp" else {})
        run_training(spec, synthetic_mnist, tmp_path / name, progress=io.StringIO())
        files.append(tmp_path / name / "metrics.json")
    return files


def test_a_vision_transformer_is_no_cnn_unless_the_config_says_so(two_runs):
    by_rule = over_seeds(build_summary(two_runs))
    assert list(by_rule["kind"]) == ["mlp", "other"]
    assert conv_over_mlp(by_rule) is None  # no CNN here: no "CNN vs MLP"

    # kind: cnn on the ViT's variant, given as the config shows its runs (no retraining).
    said = over_seeds(build_summary(two_runs, shown=[{"label": "MLP"},
                                                     {"label": "ViT", "kind": "cnn"}]))
    assert list(said["kind_from"]) == ["rule", "config"]
    _, sentence, _, _ = conv_over_mlp(said)
    assert sentence.startswith("CNN vs fully connected (each kind's best by validation accuracy, "
                               "compared on the test split): the best convolutional model (ViT, ")
    assert "; its kind set in the config)" in sentence


def test_a_variant_s_kind_is_shown_not_trained(config):
    config["studies"]["task1"]["datasets"]["mnist"]["variants"][0]["kind"] = "other"
    runs = expand_runs(config)
    spec = runs[run_dir("task1", "mnist", "mlp", 0)]
    assert shown_as(spec)["kind"] == "other" and "kind" not in trained_spec(spec)
    # The same network shown as another kind elsewhere is still trained once.
    twin = {**spec, "study": "other", "kind": "mlp"}
    assert shared_runs({"a": spec, "b": twin}) == {"b": "a"}
