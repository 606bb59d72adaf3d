"""Look inside trained models: effective receptive field, first-layer filters and
activations, feature maps at several depths. Everything runs in eval mode on a few
fixed test images."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.architecture import receptive_fields


def probe_problem(model: nn.Module) -> str | None:
    """Why the probes cannot look inside ``model`` (None when they can): they follow an
    ``nn.Sequential`` stage by stage to its spatial feature maps, from a first convolution.
    The workflow asks this of every model of a study with ``probes:`` before any job."""
    if not isinstance(model, nn.Sequential):
        return f"probes need an nn.Sequential model, not {type(model).__name__}"
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return "probes need a convolutional model: it has no nn.Conv2d"
    return None


def feature_stages(model: nn.Module) -> list[nn.Module]:
    """The model's top-level stages up to (not including) global pooling or flattening:
    their outputs are the spatial feature maps at increasing depth."""
    if (problem := probe_problem(model)) is not None:
        raise TypeError(problem)
    children = list(model.children())
    stages = []
    for child in children:
        if isinstance(child, (nn.AdaptiveAvgPool2d, nn.Flatten)):
            break
        stages.append(child)
    return stages


def feature_maps(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """Output of every stage (pooling layers left out), N x C x H x W each."""
    model.eval()
    maps, x = [], images
    with torch.no_grad():
        for stage in feature_stages(model):
            x = stage(x)
            if not isinstance(stage, (nn.MaxPool2d, nn.AvgPool2d)):
                maps.append(x)
    return maps


def effective_receptive_field(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """|d (central unit of the last feature map, summed over channels) / d input|,
    summed over input channels, averaged over images, scaled to a maximum of 1 (Luo et
    al. 2016). H x W, the input's size."""
    model.eval()
    x = images.clone().requires_grad_()
    out = x
    for stage in feature_stages(model):
        out = stage(out)
    h, w = out.shape[2] // 2, out.shape[3] // 2
    out[:, :, h, w].sum().backward()
    field = x.grad.abs().sum(dim=1).mean(dim=0)
    return field / field.max().clamp_min(1e-12)


def first_conv(model: nn.Module) -> nn.Conv2d:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d))


def first_layer(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first convolution's weights (C_out x C_in x k x k) and its activations after
    normalization and ReLU for ``images`` (N x C_out x H x W)."""
    return first_conv(model).weight.detach(), feature_maps(model, images)[0]


def probe(kind: str, model: nn.Module, images: torch.Tensor) -> tuple:
    """What the probe figure ``kind`` shows of one model, as the row its plot function
    (``plots.probe_figure``) takes after the label; ``images``: normalized test images."""
    if kind == "receptive_field":
        return (effective_receptive_field(model, images).numpy(),
                receptive_fields(model)[-1].receptive_field)
    if kind == "first_layer":
        weights, acts = first_layer(model, images[:1])
        return weights.numpy(), acts[0].numpy()
    if kind == "feature_maps":
        return ([m[0].abs().mean(0).numpy() for m in feature_maps(model, images[:1])],)
    raise ValueError(f"unknown probe {kind!r}")
