"""What a run trains and is measured on: its train, validation and test subsets as batch
iterators, normalized with the training subset's channel statistics.

The validation images are carved from the training split before the training subset is
drawn from the rest: they are never trained on, and they are the same images for every run
of a dataset at a scale (they depend only on the labels and ``validation_size``), so the
learning curves and sweep figures that read them compare like with like, and the test
split is left to be evaluated once, at the end of each run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnnlab.data.batches import Batches, channel_stats
from cnnlab.data.prepared import Prepared, subset_indices

# Not a run's seed: every run of a dataset at a scale holds out the same validation images.
VALIDATION_SEED = 20_240_607


@dataclass
class RunData:
    """The run's subsets as batch iterators, plus what the model needs."""
    train: Batches
    train_eval: Batches
    validation: Batches
    test: Batches
    curve: Batches
    in_shape: tuple[int, int, int]
    classes: list[str]
    mean: torch.Tensor
    std: torch.Tensor


def validation_indices(labels: np.ndarray, size: int, seed: int = VALIDATION_SEED) -> np.ndarray:
    """``size`` indices of ``labels``, stratified: each class holds its share of the split
    (largest remainders round), drawn at random within the class with a fixed seed; sorted."""
    if not 0 < size < len(labels):
        raise ValueError(f"validation size {size} must be between 1 and {len(labels) - 1} "
                         f"(the training split holds {len(labels)} images)")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    take = np.floor(exact).astype(int)
    # The images left by rounding down go to the classes with the largest remainders.
    take[np.argsort(-(exact - take), kind="stable")[:size - take.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:n] for c, n in zip(classes, take)]
    return np.sort(np.concatenate(picked))


def split_training(labels: np.ndarray, train_size: int | None, validation_size: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` indices into the training split: disjoint; the training
    subset drawn from what validation leaves (``subset_indices``; None: all of it)."""
    validation = validation_indices(labels, validation_size)
    rest = np.setdiff1d(np.arange(len(labels)), validation, assume_unique=True)
    return rest[subset_indices(labels[rest], train_size)], validation


def load_run_data(data: Prepared, spec: dict, device, generator) -> RunData:
    t, d = spec["training"], spec["data"]
    tr, va = split_training(data.train_labels, d["train_size"], d["validation_size"])
    te = subset_indices(data.test_labels, d["test_size"])
    train_images, train_labels = data.train_images[tr], data.train_labels[tr]
    mean, std = channel_stats(train_images)
    ev = subset_indices(train_labels, len(te), seed=1)
    common = dict(device=device, mean=mean, std=std)
    validation_images, validation_labels = data.train_images[va], data.train_labels[va]
    # The learning curve's fixed images: a stratified part of the validation subset (its
    # first images would be one class where a folder's images are stored class by class).
    curve = (validation_indices(validation_labels, t["curve_size"])
             if t["curve_size"] < len(va) else slice(None))
    return RunData(
        train=Batches(train_images, train_labels, t["batch_size"], shuffle=True,
                      augment=t["augment"], generator=generator, drop_last=True, **common),
        # Train accuracy for the overfitting gap, on as many training images as the test
        # set has: an unbiased estimate at a fraction of a full pass over the data.
        train_eval=Batches(train_images[ev], train_labels[ev], t["eval_batch_size"], **common),
        validation=Batches(validation_images, validation_labels, t["eval_batch_size"],
                           **common),
        test=Batches(data.test_images[te], data.test_labels[te], t["eval_batch_size"], **common),
        curve=Batches(validation_images[curve], validation_labels[curve], t["eval_batch_size"],
                      **common),
        in_shape=tuple(train_images.shape[1:]),
        classes=data.classes,
        mean=mean,
        std=std,
    )
