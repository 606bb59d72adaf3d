"""The checkpoint a finished run leaves: self-describing, so that any later step (figures,
probes, a user's notebook) rebuilds the model from the file alone."""

from __future__ import annotations

import torch

from cnnlab.models.registry import build_for_spec
from cnnlab.models.user_models import ModelSourceError

CHECKPOINT_FORMAT = "cnnlab-checkpoint-1"


def checkpoint(model, spec: dict, in_shape, classes: list[str], mean, std) -> dict:
    """Only tensors and plain Python values, so ``torch.load(weights_only=True)`` accepts it."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model": spec["model"],
        "model_args": spec["model_args"],
        "in_shape": list(in_shape),
        "classes": classes,
        "mean": mean.cpu(),
        "std": std.cpu(),
        "spec": spec,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
    }


def load_checkpoint(path, device="cpu"):
    """Rebuild the model from a checkpoint; ``weights_only`` refuses anything but tensors
    and plain values, so an untrusted file cannot run code. A model from a user's file is
    refused, naming both files, where that file's code is not what the spec recorded."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    try:
        model = build_for_spec(ckpt["spec"], ckpt["in_shape"], len(ckpt["classes"]))
    except ModelSourceError as e:
        raise ModelSourceError(f"{path}: cannot rebuild its model: {e}") from None
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device, memory_format=torch.channels_last), ckpt


def normalize(images_uint8: torch.Tensor, ckpt: dict) -> torch.Tensor:
    """uint8 NCHW images as the checkpoint's model saw them in training."""
    x = images_uint8.float() / 255
    return (x - ckpt["mean"].view(1, -1, 1, 1)) / ckpt["std"].view(1, -1, 1, 1)
