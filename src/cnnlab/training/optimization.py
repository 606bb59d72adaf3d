"""The optimizer and learning-rate schedule of a run, from its training settings."""

from __future__ import annotations

import torch


def make_optimizer(model, t: dict) -> torch.optim.Optimizer:
    """Fused implementations: one pass over each parameter instead of several, which
    matters for wide fully connected models (measured in BENCHMARKS.md)."""
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"],
                               nesterov=t["momentum"] > 0, weight_decay=t["weight_decay"],
                               fused=fused)
    if t["optimizer"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"],
                                 fused=fused)
    raise ValueError(f"training.optimizer: unknown optimizer {t['optimizer']!r}")


def make_scheduler(optimizer, t: dict, total_steps: int):
    """Stepped once per batch."""
    if t["schedule"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=t["lr"],
                                                   total_steps=total_steps, pct_start=0.25)
    if t["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if t["schedule"] == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    raise ValueError(f"training.schedule: unknown schedule {t['schedule']!r}")
