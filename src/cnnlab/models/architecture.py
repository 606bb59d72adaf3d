"""Facts about an architecture computed from the architecture itself: channel widths that
meet a parameter budget, the theoretical receptive field of every layer, and the layer
counts that say what kind of network it is."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


def parameter_count(build: Callable[[list[int]], nn.Module], widths: list[int]) -> int:
    """Parameters of ``build(widths)``, built on the meta device (no memory is touched)."""
    with torch.device("meta"):
        return sum(p.numel() for p in build(widths).parameters())


def widths_for_budget(build: Callable[[list[int]], nn.Module], budget: int,
                      ratios=(1, 2, 4)) -> list[int]:
    """Stage widths whose network has as close to ``budget`` parameters as integers allow.

    First the largest base width w with ``ratios * w`` within budget (parameters grow
    monotonically with w, so bisection finds it); then the last stage's width, the finest
    knob since it feeds only the classifier and no further convolution, is tuned to the
    budget. Kernel sizes that differ 5x in cost per channel end up within about 1%."""
    def widths(w: int) -> list[int]:
        return [max(1, r * w) for r in ratios]

    lo, hi = 1, 2
    while parameter_count(build, widths(hi)) <= budget:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if parameter_count(build, widths(mid)) <= budget else (lo, mid)
    best = widths(lo)

    def count_with_last(c: int) -> int:
        return parameter_count(build, best[:-1] + [c])

    # Parameters grow with the last width too: the count closest to the budget is at the
    # first width that reaches it or the one before (the lower on a tie).
    lasts = range(max(1, best[-2]), 4 * best[-1] + 8)
    first_over = bisect.bisect_left(lasts, budget, key=count_with_last)
    near = lasts[max(0, first_over - 1):first_over + 1]
    return best[:-1] + [min(near, key=lambda c: abs(count_with_last(c) - budget))]


@dataclass(frozen=True)
class FieldStep:
    layer: str
    kernel: int
    stride: int
    receptive_field: int
    jump: int  # distance in input pixels between neighbouring outputs of this layer


def receptive_fields(model: nn.Module) -> list[FieldStep]:
    """Theoretical receptive field after every convolution and pooling layer, along the
    network's main path (shortcut projections run in parallel and are skipped):
    rf += (kernel - 1) * dilation * jump; jump *= stride. Modules are visited in
    definition order, which is forward order for the models in this package."""
    steps, rf, jump = [], 1, 1
    for name, module in model.named_modules():
        if "shortcut" in name.split("."):
            continue
        if isinstance(module, nn.Conv2d):
            k, s, d = module.kernel_size[0], module.stride[0], module.dilation[0]
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            s = module.stride if isinstance(module.stride, int) else module.stride[0]
            d = 1
        else:
            continue
        rf += (k - 1) * d * jump
        jump *= s
        steps.append(FieldStep(name, k, s, rf, jump))
    return steps


def kind_facts(model: nn.Module) -> dict[str, int]:
    """What ``analysis.model_kind``'s rule reads of a model: its convolutions whose kernel
    is larger than their stride in some direction (windows that overlap: a CNN's feature
    extractor), its other convolutions (1x1, or patches cut with stride = kernel, as a
    vision transformer's patch embedding), and its attention layers
    (``nn.MultiheadAttention``, or a module whose class is named ``...Attention``, as
    torchvision's Swin has). Counts, not a verdict: the rule can change without retraining."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    sliding = sum(any(k > s for k, s in zip(m.kernel_size, m.stride)) for m in convs)
    attention = sum(isinstance(m, nn.MultiheadAttention) or type(m).__name__.endswith("Attention")
                    for m in model.modules())
    return {"sliding_convolutions": sliding, "patch_convolutions": len(convs) - sliding,
            "attention_layers": attention}


def describe(model: nn.Module) -> str:
    """A model's layers in one line: convolutions on the main path (shortcut projections
    left out) with their kernel sizes and the channel widths in order of appearance
    (widths solved from a parameter budget show here), normalization, linear layers."""
    convs = [m for name, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and "shortcut" not in name.split(".")]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    parts = []
    if convs:
        kernels = sorted({f"{m.kernel_size[0]}x{m.kernel_size[1]}" for m in convs})
        widths = list(dict.fromkeys(m.out_channels for m in convs))
        parts.append(f"{len(convs)} conv ({', '.join(kernels)}; widths "
                     f"{', '.join(map(str, widths))})")
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        parts.append("batch norm")
    if any("shortcut" in name.split(".") for name, _ in model.named_modules()):
        parts.append("shortcuts")
    parts.append(f"{len(linears)} linear ({', '.join(str(m.out_features) for m in linears)})")
    return "; ".join(parts)
