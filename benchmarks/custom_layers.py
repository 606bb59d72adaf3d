"""Forward+backward time of each custom autograd layer as a ratio to its built-in
analogue, measured side by side (interleaved) in one process; medians of many repeats.

    python benchmarks/custom_layers.py [--threads 2] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from cnnlab.models.layers import GatedConv2d, GeMPool2d, SqueezeExcite, SqueezeExciteReference, SwishBeta


def pairs(channels: int):
    """(name, custom layer, built-in analogue) at the values where they compute the same."""
    conv = nn.Conv2d(channels, channels, 3, padding=1)
    gated = GatedConv2d(channels, channels, 3, padding=1)
    se_ref = SqueezeExciteReference(channels)
    se = SqueezeExcite(channels)
    se.load_state_dict(se_ref.state_dict())
    return [
        ("gated conv vs nn.Conv2d", gated, conv),
        ("squeeze-excite (Function) vs nn ops", se, se_ref),
        ("Swish-beta vs nn.SiLU", SwishBeta(1.0), nn.SiLU()),
        ("GeM pooling vs nn.AdaptiveAvgPool2d", GeMPool2d(3.0),
         nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())),
    ]


def step_time(layer: nn.Module, x: torch.Tensor) -> float:
    x = x.detach().requires_grad_()
    start = time.perf_counter()
    layer(x).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, args.channels, args.size, args.size).abs()
    x = x.contiguous(memory_format=torch.channels_last)
    print(f"input {tuple(x.shape)} channels_last, {args.threads} threads, "
          f"median of {args.repeats} interleaved forward+backward passes")
    print(f"{'layer':40s} {'custom ms':>10s} {'built-in ms':>12s} {'ratio':>7s}")
    for name, custom, builtin in pairs(args.channels):
        for _ in range(3):  # warm-up
            step_time(custom, x), step_time(builtin, x)
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(step_time(custom, x))
            theirs.append(step_time(builtin, x))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:40s} {1e3 * a:10.2f} {1e3 * b:12.2f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
