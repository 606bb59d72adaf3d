"""The prepared dataset: one ``.npz`` file (no pickled objects) holding
``train_images``/``test_images`` as uint8 N x C x H x W, ``train_labels``/``test_labels``
as int64 and ``classes`` as a fixed-width unicode array, written once from a source
(``sources.py``) and loaded fast. Training keeps it in memory as tensors, so there is no
per-image PIL work anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.catalog import dataset_info
from cnnlab.data.sources import DataError, file_digest, make_synthetic, read_mirror, read_torchvision
from cnnlab.files import atomic_path


def save_prepared(parts: dict[str, np.ndarray], name: str, path: Path, info=None) -> None:
    """Write atomically (``files.atomic_path``): never a half-written file under ``path``.
    ``info``: the dataset's ``catalog.DatasetInfo`` (default: the catalog's entry)."""
    info = info or dataset_info(name)
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if images.shape[1:] != info.shape or images.dtype != np.uint8:
            raise DataError(f"{name} {split} images have shape {images.shape[1:]} "
                            f"{images.dtype}, expected {info.shape} uint8")
        if len(images) != len(labels):
            raise DataError(f"{name} {split}: {len(images)} images but {len(labels)} labels")
    with atomic_path(path) as tmp:
        np.savez(tmp, classes=np.array(info.classes), **parts)


@dataclass
class Prepared:
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]


def load_prepared(path: Path) -> Prepared:
    with np.load(path, allow_pickle=False) as z:
        return Prepared(
            train_images=z["train_images"],
            train_labels=z["train_labels"],
            test_images=z["test_images"],
            test_labels=z["test_labels"],
            classes=[str(c) for c in z["classes"]],
        )


def subset_indices(labels: np.ndarray, size: int | None, seed: int = 0) -> np.ndarray:
    """A fixed, class-balanced-in-expectation subset: the same for every run and seed, so
    runs differ only in what the study varies."""
    if size is None or size >= len(labels):
        return np.arange(len(labels))
    return np.sort(np.random.default_rng(seed).permutation(len(labels))[:size])


def prepare(name: str, out: Path, source: str, mirror: Path | None = None,
            download_root: Path | None = None) -> dict:
    """Read dataset ``name`` from ``source`` (``mirror``, ``download`` or ``synthetic``) and
    write the prepared file. Returns its provenance: where the data came from, the sha256
    of every source file read and of the prepared file, and the split sizes."""
    if source == "mirror":
        parts = read_mirror(name, Path(mirror))
        origin, files = f"mirror {Path(mirror).resolve()}", sorted((Path(mirror) / name).glob("*"))
    elif source == "download":
        parts = read_torchvision(name, Path(download_root), download=True)
        files = sorted(Path(download_root).glob(dataset_info(name).downloaded))
        origin = "torchvision download"
    elif source == "synthetic":
        parts = make_synthetic(name)
        origin, files = "synthetic (cnnlab.data.make_synthetic)", []
    else:
        raise ValueError(f"unknown data source {source!r}: mirror, download or synthetic")
    save_prepared(parts, name, out)
    return {"dataset": name, "source": origin,
            "source_sha256": {f.name: file_digest(f, "sha256") for f in files if f.is_file()},
            "prepared_sha256": file_digest(Path(out), "sha256"),
            "train": len(parts["train_labels"]), "test": len(parts["test_labels"])}
