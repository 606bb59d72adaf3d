"""Model registry: every model is built by name plus keyword arguments from config.

Each builder takes the dataset's ``in_shape`` (C, H, W) and ``num_classes`` (supplied by
the workflow, never by config) and its own keyword arguments. ``models.arguments`` reads
this file's builders without importing it, so that the config is checked against their
signatures before any job starts. A user's own models register here too
(``cnnlab.register_model`` in a ``models_from`` file; ``models.user_models``).
"""

from __future__ import annotations

import inspect
from typing import Callable

import torch
from torch import nn

from cnnlab.models.architecture import widths_for_budget
from cnnlab.models.blocks import BLOCKS, BasicBlock
from cnnlab.models.layers import (GatedConv2d, GatedConv2dReference, GeMPool2d, GeMPool2dReference,
                           SqueezeExcite, SqueezeExciteReference, SwishBeta,
                           SwishBetaReference)
from cnnlab.models.arguments import DATA_ARGS
from cnnlab.models.user_models import TORCHVISION, check_source_unchanged, load_model_source

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Make ``fn`` a model config can name (``model: <its name>``): the built-in models below,
    and a user's own in a ``models_from`` file (``@cnnlab.register_model``). ``fn`` takes
    ``in_shape`` (C, H, W) and ``num_classes`` from the dataset and its own keyword arguments
    from config."""
    if fn.__name__ in MODELS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    MODELS[fn.__name__] = fn
    return fn


def build_model(name: str, in_shape, num_classes: int, **kwargs) -> nn.Module:
    """Model ``name``: a registered builder, or ``torchvision.<name>`` (any classifier of
    ``torchvision.models``, untrained: ``weights=None``, ``num_classes`` from the dataset)."""
    if name.startswith(TORCHVISION):
        import torchvision

        if problem := torchvision_problem(name):
            raise ValueError(problem)
        return torchvision.models.get_model(name.removeprefix(TORCHVISION), weights=None,
                                            num_classes=num_classes, **kwargs)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(MODELS)}")
    allowed = set(inspect.signature(MODELS[name]).parameters) - set(DATA_ARGS)
    if unknown := sorted(set(kwargs) - allowed):
        raise ValueError(f"model {name!r} has no argument {unknown[0]!r}; "
                         f"allowed: {sorted(allowed)}")
    return MODELS[name](in_shape=tuple(in_shape), num_classes=num_classes, **kwargs)


# torchvision.models' packages of models that are not image classifiers cnnlab can train:
# what each package's models are, in words.
NOT_CLASSIFIERS = {"detection": "an object detection model",
                   "segmentation": "a semantic segmentation model",
                   "video": "a video model", "optical_flow": "an optical flow model",
                   "quantization": "a quantized (inference-only) model"}


def torchvision_problem(name: str) -> str | None:
    """Why ``torchvision.<name>`` is not a model cnnlab can train (it is a detection,
    segmentation, video, optical flow or quantized model, or no torchvision model at all);
    None for one of torchvision's image classifiers. Asked before building anything."""
    import torchvision.models

    bare = name.removeprefix(TORCHVISION)
    if bare in torchvision.models.list_models(module=torchvision.models):
        return None
    for package, what in NOT_CLASSIFIERS.items():
        if bare in torchvision.models.list_models(module=getattr(torchvision.models, package)):
            return (f"{name} is {what} of torchvision.models.{package}, not an image "
                    f"classifier; cnnlab trains image classifiers (`cnnlab models "
                    f"--torchvision` lists torchvision's)")
    return (f"{name} is not a model of torchvision.models (`cnnlab models --torchvision` "
            f"lists its image classifiers)")


def build_for_spec(spec: dict, in_shape, num_classes: int) -> nn.Module:
    """A run's model; a model from the user's own file is imported (registered) first,
    refused where that file's code is no longer the code the spec recorded."""
    if "model_source" in spec:
        check_source_unchanged(spec["model_source"])
        load_model_source(spec["model_source"]["file"])
    return build_model(spec["model"], in_shape, num_classes, **spec["model_args"])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------- models


@register_model
def mlp(in_shape, num_classes, hidden=(512, 256), dropout=0.0) -> nn.Module:
    """Fully connected network: flatten, ``len(hidden)`` ReLU layers, linear classifier."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_shape[0] * in_shape[1] * in_shape[2]
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def conv_bn_relu(cin: int, cout: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


@register_model
def simple_cnn(in_shape, num_classes, channels=(32, 64), kernel_size=3, hidden=128,
               dropout=0.0) -> nn.Module:
    """Plain CNN: one conv-BN-ReLU + 2x2 max-pool stage per entry of ``channels``."""
    layers: list[nn.Module] = []
    cin, size = in_shape[0], in_shape[1]
    for c in channels:
        layers += [conv_bn_relu(cin, c, kernel_size), nn.MaxPool2d(2)]
        cin, size = c, size // 2
    layers += [nn.Flatten(), nn.Linear(cin * size * size, hidden), nn.ReLU(inplace=True)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, num_classes))
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """Stem conv, then stages of residual blocks (stride 2 between stages), global average
    pooling and a linear classifier. ``block`` is any block with an ``expansion`` attribute."""

    def __init__(self, in_channels, num_classes, block=BasicBlock, widths=(16, 32, 64),
                 blocks_per_stage=1, dropout=0.0, **block_kwargs):
        super().__init__()
        self.stem = conv_bn_relu(in_channels, widths[0])
        stages, cin = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(blocks_per_stage):
                stride = 2 if (i > 0 and j == 0) else 1
                stages.append(block(cin, w, stride=stride, **block_kwargs))
                cin = w * block.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x))).flatten(1)
        return self.fc(self.dropout(x))


@register_model
def resnet(in_shape, num_classes, block="basic", widths=(16, 32, 64), blocks_per_stage=2,
           widen=1, dropout=0.0) -> nn.Module:
    """Residual network of ``block`` ('basic' or 'bottleneck') blocks; ``widen`` multiplies
    every stage's width (a wide ResNet is ``block: basic, widen: 2``, not a copy)."""
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {sorted(BLOCKS)}, not {block!r}")
    return ResNet(in_shape[0], num_classes, BLOCKS[block], [w * widen for w in widths],
                  blocks_per_stage, dropout)


# Each custom layer and its twin written with built-in operations (same parameters, so the
# same seed gives both the same initial weights): ``attention_cnn(implementation=...)``.
_IMPLEMENTATIONS = {
    "custom": (GatedConv2d, SwishBeta, SqueezeExcite, GeMPool2d),
    "reference": (GatedConv2dReference, SwishBetaReference, SqueezeExciteReference,
                  GeMPool2dReference),
}


@register_model
def attention_cnn(in_shape, num_classes, channels=(32, 64, 128), reduction=4, gate=True,
                  swish=True, squeeze_excite=True, gem=True,
                  implementation="custom") -> nn.Module:
    """Conv-BN-activation stages (2x2 max-pool between them), global pooling, a linear
    classifier; four switches add the custom layers: ``gate`` (gated convolutions instead
    of ``nn.Conv2d``), ``swish`` (Swish-beta instead of ReLU), ``squeeze_excite`` (after
    each stage), ``gem`` (generalized-mean instead of average pooling). All off is the
    plain baseline an ablation starts from. ``implementation``: 'custom' uses the
    hand-written autograd Functions, 'reference' the same math from built-in operations
    (autograd's backward): the two train identically if the backward passes are right."""
    if implementation not in _IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {sorted(_IMPLEMENTATIONS)}, "
                         f"not {implementation!r}")
    gated_conv, swish_beta, se, gem_pool = _IMPLEMENTATIONS[implementation]
    layers: list[nn.Module] = []
    cin = in_shape[0]
    for i, c in enumerate(channels):
        layers += [(gated_conv if gate else nn.Conv2d)(cin, c, 3, padding=1, bias=False),
                   nn.BatchNorm2d(c), swish_beta() if swish else nn.ReLU(inplace=True)]
        if squeeze_excite:
            layers.append(se(c, reduction))
        if i < len(channels) - 1:
            layers.append(nn.MaxPool2d(2))
        cin = c
    pool = gem_pool() if gem else nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return nn.Sequential(*layers, pool, nn.Linear(cin, num_classes))


def _kernel_cnn(in_channels, num_classes, widths, kernel_size, factorized) -> nn.Module:
    layers: list[nn.Module] = []
    cin = in_channels
    for i, w in enumerate(widths):
        if factorized:  # a 1x1 convolution mixes channels, then a 3x3 one sees space
            layers += [conv_bn_relu(cin, w, 1), conv_bn_relu(w, w, 3)]
        else:
            layers.append(conv_bn_relu(cin, w, kernel_size))
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
        cin = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(cin, num_classes))


@register_model
def kernel_cnn(in_shape, num_classes, kernel_size=3, factorized=False, budget=60000,
               widths=None) -> nn.Module:
    """Three conv stages of one ``kernel_size`` convolution each (or, ``factorized``, a
    1x1 then a 3x3 convolution), with channel widths solved from the parameter
    ``budget`` so that different kernel sizes compare at equal cost. ``widths`` fixes
    them instead."""
    def build(ws):
        return _kernel_cnn(in_shape[0], num_classes, ws, kernel_size, factorized)

    return build(list(widths) if widths else widths_for_budget(build, budget))


@register_model
def deep_cnn(in_shape, num_classes, depth=4, widths=(16, 32, 64), residual=False,
             norm=True, init="default", zero_init_residual=False) -> nn.Module:
    """``depth`` 3x3 convolutions in units of two, spread over the stages (stride 2 where
    a stage begins); ``residual`` adds each unit's shortcut, ``norm=False`` removes batch
    norm. Same depth, same widths, with and without residual connections (give equal
    ``widths`` to keep the width constant across depths). ``init``: 'default' keeps
    PyTorch's initialization (weight variance 1/(3 fan-in): without normalization each
    layer shrinks the signal, so gradients vanish with depth); 'he' draws convolution
    weights with variance 2/fan-in, which keeps a plain ReLU network's signal size but makes
    every residual unit add to it, so an unnormalized residual network's outputs and
    gradients grow with depth (the exploding case). ``zero_init_residual`` (residual only,
    as torchvision's ResNet argument of that name) starts each unit's branch at zero: its
    last batch norm's scale, or without normalization its last convolution, so that every
    unit begins as the identity and the network trains as a shallow one at first, the
    initialization the literature trains deep unnormalized residual networks with (Goyal et
    al. 2017; Fixup, Zhang et al. 2019)."""
    if depth < 2 or depth % 2:
        raise ValueError(f"depth must be an even number >= 2, not {depth}")
    if init not in ("default", "he"):
        raise ValueError(f"init must be 'default' or 'he', not {init!r}")
    units, layers, cin, stage = depth // 2, [], in_shape[0], 0
    for i in range(units):
        s = min(i * len(widths) // units, len(widths) - 1)
        layers.append(BasicBlock(cin, widths[s], stride=2 if s > stage else 1,
                                 residual=residual, norm=norm))
        cin, stage = widths[s], s
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(cin, num_classes))
    if zero_init_residual and not residual:
        raise ValueError("zero_init_residual needs residual: true (a plain network has no "
                         "branch to start at zero)")
    if init == "he":
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    if zero_init_residual:
        for unit in layers:
            last = unit.bn2 if norm else unit.conv2
            nn.init.zeros_(last.weight)
            if last.bias is not None:
                nn.init.zeros_(last.bias)
    return model
