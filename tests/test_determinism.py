"""``training.deterministic``: a run trains under PyTorch's deterministic algorithms (and
cuDNN's and cuBLAS's settings for a GPU) and records that it did, for the report. Only the
CPU is tested here; what the settings do on a GPU is PyTorch's."""

import io
import json
import os

import pytest
import torch
from torch import nn

from cnnlab.analysis.summary import build_summary
from cnnlab.models import registry
from cnnlab.training.device import CUBLAS_WORKSPACE
from cnnlab.training.loop import run_training
from conftest import smoke_spec

SEEN = []  # what each forward pass saw: were deterministic algorithms enforced?


class Watching(nn.Module):
    def __init__(self, in_shape, num_classes):
        super().__init__()
        self.conv = nn.Conv2d(in_shape[0], 4, 3, padding=1)
        self.head = nn.Linear(4, num_classes)

    def forward(self, x):
        if self.training:
            SEEN.append((torch.are_deterministic_algorithms_enabled(),
                         torch.backends.cudnn.deterministic))
        return self.head(self.conv(x).mean(dim=(2, 3)))


def watching(in_shape, num_classes):
    return Watching(in_shape, num_classes)


@pytest.fixture
def train(config, synthetic_mnist, tmp_path, monkeypatch):
    monkeypatch.setitem(registry.MODELS, "watching", watching)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)

    def run(deterministic: bool, name: str):
        SEEN.clear()
        spec = smoke_spec(config, "mnist", "mlp", deterministic=deterministic)
        spec.update(model="watching", model_args={})
        return run_training(spec, synthetic_mnist, tmp_path / name, progress=io.StringIO())

    yield run, tmp_path
    torch.use_deterministic_algorithms(False)  # whatever a failed test left behind
    torch.backends.cudnn.deterministic = False


def test_a_deterministic_run_trains_under_deterministic_algorithms_and_says_so(train):
    run, root = train
    metrics = run(True, "on")
    assert SEEN and all(seen == (True, True) for seen in SEEN)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    on_disk = json.loads((root / "on" / "metrics.json").read_text())
    assert on_disk["deterministic"] is True and metrics["spec"]["training"]["deterministic"]
    assert bool(build_summary([root / "on" / "metrics.json"]).iloc[0]["deterministic"])

    # The next run in the same process (a job trains a variant's seeds in turn) is back to
    # PyTorch's defaults when it asks for them.
    metrics = run(False, "off")
    assert SEEN and not any(enforced for enforced, _ in SEEN)
    assert metrics["deterministic"] is False

