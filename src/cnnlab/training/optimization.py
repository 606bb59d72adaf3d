"""The optimizer and learning-rate schedule of a run, from its training settings.

``momentum`` is SGD's (Nesterov) momentum or AdamW's beta1. With the one-cycle schedule it
cycles against the learning rate between ``momentum - momentum_cycle`` and ``momentum +
momentum_cycle`` (0.9 and 0.05: OneCycleLR's own 0.95 -> 0.85 -> 0.95); ``momentum_cycle:
0`` keeps it constant, and ``momentum: 0`` trains without momentum, cycling included."""

from __future__ import annotations

import torch


def make_optimizer(model, t: dict) -> torch.optim.Optimizer:
    """Fused implementations: one pass over each parameter instead of several, which
    matters for wide fully connected models (measured: `git show bd084b1:BENCHMARKS.md`, "Where the time went")."""
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"],
                               nesterov=t["momentum"] > 0, weight_decay=t["weight_decay"],
                               fused=fused)
    if t["optimizer"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"],
                                 betas=(t["momentum"], 0.999), fused=fused)
    raise ValueError(f"training.optimizer: unknown optimizer {t['optimizer']!r}")


def momentum_range(t: dict) -> tuple[float, float]:
    """The lowest and highest momentum the schedule sets (equal when it stays constant)."""
    cycle = t.get("momentum_cycle", 0.0) if t["schedule"] == "onecycle" and t["momentum"] > 0 \
        else 0.0
    # Rounded: 0.9 - 0.05 is 0.8500000000000001 in binary floating point.
    return round(t["momentum"] - cycle, 10), round(t["momentum"] + cycle, 10)


def make_scheduler(optimizer, t: dict, total_steps: int):
    """Stepped once per batch."""
    if t["schedule"] == "onecycle":
        low, high = momentum_range(t)
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=t["lr"], total_steps=total_steps, pct_start=0.25,
            # Without this, OneCycleLR overwrites the optimizer's momentum with its own
            # defaults (0.85-0.95) whatever the config says.
            cycle_momentum=high > low, base_momentum=low, max_momentum=high)
    if t["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if t["schedule"] == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    raise ValueError(f"training.schedule: unknown schedule {t['schedule']!r}")


def current_momentum(optimizer) -> float:
    """The momentum (SGD) or beta1 (AdamW) the optimizer steps with now."""
    group = optimizer.param_groups[0]
    return float(group["momentum"] if "momentum" in group else group["betas"][0])
