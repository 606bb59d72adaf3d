"""What a run trains and is measured on: its train and test subsets as batch iterators,
normalized with the training subset's channel statistics."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlab.data.batches import Batches, channel_stats
from cnnlab.data.prepared import Prepared, subset_indices


@dataclass
class RunData:
    """The run's train and test subsets as batch iterators, plus what the model needs."""
    train: Batches
    train_eval: Batches
    test: Batches
    curve: Batches
    in_shape: tuple[int, int, int]
    classes: list[str]
    mean: torch.Tensor
    std: torch.Tensor


def load_run_data(data: Prepared, spec: dict, device, generator) -> RunData:
    t, d = spec["training"], spec["data"]
    tr = subset_indices(data.train_labels, d["train_size"])
    te = subset_indices(data.test_labels, d["test_size"])
    train_images, train_labels = data.train_images[tr], data.train_labels[tr]
    mean, std = channel_stats(train_images)
    ev = subset_indices(train_labels, len(te), seed=1)
    common = dict(device=device, mean=mean, std=std)
    return RunData(
        train=Batches(train_images, train_labels, t["batch_size"], shuffle=True,
                      augment=t["augment"], generator=generator, drop_last=True, **common),
        # Train accuracy for the overfitting gap, on as many training images as the test
        # set has: an unbiased estimate at a fraction of a full pass over the data.
        train_eval=Batches(train_images[ev], train_labels[ev], t["eval_batch_size"], **common),
        test=Batches(data.test_images[te], data.test_labels[te], t["eval_batch_size"], **common),
        # The learning curve's fixed test images: the first of the test subset.
        curve=Batches(data.test_images[te[:t["curve_test_size"]]],
                      data.test_labels[te[:t["curve_test_size"]]], t["eval_batch_size"],
                      **common),
        in_shape=tuple(train_images.shape[1:]),
        classes=data.classes,
        mean=mean,
        std=std,
    )
