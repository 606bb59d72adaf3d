"""Decode the built-in datasets' original file formats (MNIST's gzipped IDX, also
Fashion-MNIST's and KMNIST's; CIFAR-10's binary version; CIFAR-100's python version; SVHN's
.mat) into uint8 N x C x H x W images and int64 labels. Each ``read_*_folder`` is a
record's ``reader`` (``catalog.DatasetInfo``): it reads the files that record lists, after
``sources.read_folder`` checked them, so that a pickle (CIFAR-100's) is only ever opened
once its MD5 matched the official one."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


class DataError(RuntimeError):
    """A dataset file is missing, truncated or corrupt; the message names the file."""


# --------------------------------------------------------------------------- IDX (MNIST & co)


def read_idx(path: Path) -> np.ndarray:
    """Decode one gzipped IDX file (the format MNIST is distributed in)."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise DataError(f"corrupt dataset file {path}: not a complete gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"corrupt dataset file {path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"corrupt dataset file {path}: {len(raw)} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """MNIST's four IDX files (or Fashion-MNIST's or KMNIST's, laid out the same)."""
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
        if len(images) != len(labels):
            raise DataError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
        parts[f"{split}_images"] = images[:, None, :, :]
        parts[f"{split}_labels"] = labels.astype(np.int64)
    return parts


# --------------------------------------------------------------------------- CIFAR-10 (binary)

CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes


def read_cifar_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR10_RECORD:
        raise DataError(
            f"corrupt dataset file {path}: {raw.size} bytes is not a whole number of "
            f"{CIFAR10_RECORD}-byte CIFAR-10 records (truncated download?)"
        )
    records = raw.reshape(-1, CIFAR10_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"corrupt dataset file {path}: label {labels.max()} is not in 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_cifar10_folder(folder: Path) -> dict[str, np.ndarray]:
    """CIFAR-10's binary version: data_batch_1..5.bin, test_batch.bin."""
    train = [read_cifar_bin(folder / f"data_batch_{i}.bin") for i in range(1, 6)]
    test_images, test_labels = read_cifar_bin(folder / "test_batch.bin")
    return {
        "train_images": np.concatenate([im for im, _ in train]),
        "train_labels": np.concatenate([lb for _, lb in train]),
        "test_images": test_images,
        "test_labels": test_labels,
    }


# --------------------------------------------------------------------------- CIFAR-100, SVHN


def read_cifar100_folder(folder: Path) -> dict[str, np.ndarray]:
    """CIFAR-100's python version (``train``, ``test``; ``meta`` holds the names, which the
    record has): its fine labels, 100 classes."""
    import pickle

    parts = {}
    for split in ("train", "test"):
        try:
            with open(folder / split, "rb") as f:
                batch = pickle.load(f, encoding="latin1")
            images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(batch["fine_labels"], dtype=np.int64)
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError) as e:
            raise DataError(f"corrupt dataset file {folder / split}: {type(e).__name__}: {e}") \
                from None
        if len(images) != len(labels) or labels.max() > 99:
            raise DataError(f"corrupt dataset file {folder / split}: {len(images)} images, "
                            f"{len(labels)} labels, largest label {labels.max()}")
        parts[f"{split}_images"], parts[f"{split}_labels"] = images, labels
    return parts


def read_svhn_folder(folder: Path) -> dict[str, np.ndarray]:
    """SVHN's cropped digits (``train_32x32.mat``, ``test_32x32.mat``); label 10 is the
    digit 0, as torchvision maps it."""
    from scipy.io import loadmat  # imported here: only SVHN needs it

    parts = {}
    for split in ("train", "test"):
        path = folder / f"{split}_32x32.mat"
        try:
            mat = loadmat(path)
            images = np.ascontiguousarray(np.asarray(mat["X"], dtype=np.uint8).transpose(3, 2, 0, 1))
            labels = np.asarray(mat["y"], dtype=np.int64).reshape(-1) % 10
        except (ValueError, KeyError, OSError, TypeError) as e:
            raise DataError(f"corrupt dataset file {path}: {type(e).__name__}: {e}") from None
        if len(images) != len(labels):
            raise DataError(f"corrupt dataset file {path}: {len(images)} images but "
                            f"{len(labels)} labels")
        parts[f"{split}_images"], parts[f"{split}_labels"] = images, labels
    return parts
