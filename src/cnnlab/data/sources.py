"""The three sources of a prepared dataset (``prepared.py``):
  * ``download``  - torchvision's real download (for online machines),
  * ``mirror``    - a local folder with the original files (offline machines), each file
                    checked against its checksum before it is read,
  * ``synthetic`` - learnable random data of the same shapes (tests, smoke scale).
Nothing here is particular to one dataset: which files, checksums, reader and torchvision
class a built-in dataset has is its record (``catalog.DatasetInfo``), so that a dataset is
added there alone; the file formats are read by ``formats.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from cnnlab.data import formats
from cnnlab.data.catalog import (BUILTIN, CIFAR10, SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES,
                                 DatasetInfo, dataset_info)
from cnnlab.data.formats import DataError
from cnnlab.files import path_problem

# --------------------------------------------------------------------------- file checks


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_digest(path: Path, expected: str, algorithm: str, hint: str) -> None:
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DataError(
            f"corrupt dataset file {path}: {algorithm} is {actual}, expected {expected}. {hint}"
        )


def read_sha256sums(mirror: Path) -> dict[str, str]:
    """The mirror's own ``SHA256SUMS`` (``<hex>  <relative path>`` lines), if it has one."""
    sums_file = mirror / "SHA256SUMS"
    if not sums_file.is_file():
        return {}
    sums = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*").removeprefix("./")] = digest
    return sums


def check_files(info: DatasetInfo, folder: Path, sha256: dict[str, str] | None = None) -> None:
    """Each of the record's files is in ``folder`` and matches its official MD5, or where
    the record has none, the ``sha256`` the mirror lists for it (if it lists it)."""
    hint = f"put {info.name}'s original files ({', '.join(info.files)}) there (docs/data.md)"
    sha256 = sha256 or {}
    for name, md5 in info.files.items():
        path = folder / name
        if problem := path_problem(path, "file"):
            raise DataError(f"dataset file {path} {problem}: {hint}")
        if md5:
            _check_digest(path, md5, "md5", "download it again.")
        elif name in sha256:
            _check_digest(path, sha256[name], "sha256", "copy it again.")


# --------------------------------------------------------------------------- mirror


def reader_of(info: DatasetInfo) -> Callable[[Path], dict[str, np.ndarray]]:
    """The function of ``formats`` that the record names as the reader of its files."""
    # Only its readers (read_*), not whatever else the module holds (numpy, DataError).
    reader = getattr(formats, info.reader, None) if info.reader.startswith("read_") else None
    if not callable(reader):
        raise KeyError(f"dataset {info.name!r} has no reader of its original files "
                       f"(cnnlab.data.formats has no {info.reader!r})")
    return reader


def read_folder(info: DatasetInfo, folder: Path,
                sha256: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read dataset ``info``'s original files from ``folder``, checked first (``check_files``)."""
    check_files(info, Path(folder), sha256)
    return reader_of(info)(Path(folder))


def read_mirror(name: str, mirror: Path) -> dict[str, np.ndarray]:
    """Read dataset ``name`` from ``mirror/<name>/``, verifying checksums on the way."""
    mirror = Path(mirror)
    if problem := path_problem(mirror, "folder"):
        raise DataError(f"dataset mirror {mirror} {problem} (set data_mirror or "
                        "CNNLAB_DATA_MIRROR to a folder holding a subfolder of original files "
                        f"per dataset: {', '.join(BUILTIN)})")
    sums = {k.split("/", 1)[1]: v for k, v in read_sha256sums(mirror).items()
            if k.startswith(f"{name}/")}
    return read_folder(dataset_info(name), mirror / name, sums)


def read_cifar10_mirror(folder: Path, sha256: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """CIFAR-10's binary version from ``folder`` (``sha256``: digests to check, by file)."""
    return read_folder(CIFAR10, folder, sha256)


# --------------------------------------------------------------------------- torchvision


def read_torchvision(name: str, root: Path, download: bool = True) -> dict[str, np.ndarray]:
    """torchvision's own download and checks, through the class and arguments the record
    names; the tensors are taken as they are, no transforms."""
    from torchvision import datasets as tvd  # imported here: only the download path needs it

    info = dataset_info(name)
    cls = getattr(tvd, info.torchvision)
    parts = {}
    for split, arguments in zip(("train", "test"), info.torchvision_args):
        ds = cls(root=str(root), download=download, **arguments)
        images = np.asarray(ds.data, dtype=np.uint8)
        if images.ndim == 3:  # grey N x H x W
            images = images[:, None]
        elif images.shape[1:] != info.shape:  # N x H x W x C (SVHN's is already N x C x H x W)
            images = images.transpose(0, 3, 1, 2)
        labels = ds.targets if hasattr(ds, "targets") else ds.labels  # SVHN's name for them
        parts[f"{split}_images"] = np.ascontiguousarray(images)
        parts[f"{split}_labels"] = np.asarray(labels, dtype=np.int64)
    return parts


# --------------------------------------------------------------------------- synthetic


def make_synthetic(name: str, train_size: int = SYNTHETIC_TRAIN_IMAGES,
                   test_size: int = SYNTHETIC_TEST_IMAGES, seed: int = 0):
    """Learnable random data in the real dataset's shapes: each class is a fixed, smooth
    random pattern (a 4x4 grid upsampled), each image that pattern plus pixel noise, so
    MLPs and CNNs alike can (and must) learn it."""
    import torch
    import torch.nn.functional as F

    info = dataset_info(name)
    rng = np.random.default_rng(seed)
    c, h, w = info.shape
    coarse = torch.from_numpy(rng.uniform(0, 1, size=(len(info.classes), c, 4, 4))).float()
    templates = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False).numpy()
    parts = {}
    for split, n in (("train", train_size), ("test", test_size)):
        labels = np.arange(n, dtype=np.int64) % len(info.classes)
        rng.shuffle(labels)
        noisy = templates[labels] + rng.normal(0, 0.25, size=(n, c, h, w))
        parts[f"{split}_images"] = (np.clip(noisy, 0, 1) * 255).astype(np.uint8)
        parts[f"{split}_labels"] = labels
    return parts
