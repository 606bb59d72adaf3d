"""Read the original distribution files (MNIST's IDX, CIFAR-10's binary version) from a
mirror folder, checked against their checksums, or through torchvision's download; or make
learnable synthetic data in the same shapes. These are the three sources of a prepared
dataset (``prepared.py``):
  * ``download``  - torchvision's real download (for online machines),
  * ``mirror``    - a local folder with the original files (offline machines),
  * ``synthetic`` - learnable random data of the same shapes (tests, smoke scale).
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from cnnlab.data.catalog import DATASETS, SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES, dataset_info
from cnnlab.files import path_problem


class DataError(RuntimeError):
    """A dataset file is missing, truncated or corrupt; the message names the file."""


# The official MD5s of the original MNIST files (the same list torchvision checks).
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Fashion-MNIST and Kuzushiji-MNIST come in MNIST's four IDX files, with their own official
# MD5s (the ones torchvision checks).
IDX_MD5 = {
    "mnist": MNIST_MD5,
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "kmnist": {
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    },
}
# CIFAR-100's python version and SVHN's cropped digits: the files and official MD5s that
# torchvision checks.
CIFAR100_MD5 = {"train": "16019d7e3df5f24257cddd939b257f8d",
                "test": "f0ef6b0ae62326f3e7ffe157b7ffb9bd",
                "meta": "7973b15100ade9c7d40fb424638fde48"}
SVHN_MD5 = {"train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
            "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"}
# torchvision's dataset class and the folder its download lands in, per dataset.
TORCHVISION = {"mnist": ("MNIST", "MNIST"), "fashion_mnist": ("FashionMNIST", "FashionMNIST"),
               "kmnist": ("KMNIST", "KMNIST"), "cifar10": ("CIFAR10", "cifar-10-batches-py"),
               "cifar100": ("CIFAR100", "cifar-100-python"), "svhn": ("SVHN", "")}
CIFAR10_BIN_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR10_BIN_TEST = "test_batch.bin"
CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes


# --------------------------------------------------------------------------- file checks


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _require(path: Path, hint: str) -> Path:
    if problem := path_problem(path, "file"):
        raise DataError(f"dataset file {path} {problem}: {hint}")
    return path


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


# --------------------------------------------------------------------------- MNIST (IDX)


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


def read_mnist_mirror(folder: Path, md5: dict[str, str] = MNIST_MD5) -> dict[str, np.ndarray]:
    """Read the four original IDX files (MNIST's, or Fashion-MNIST's or KMNIST's with their
    ``md5``), each checked against its official MD5 first."""
    hint = "put the four original IDX .gz files there (see README, 'Offline mirror')"
    for name, digest in md5.items():
        _check_digest(_require(folder / name, hint), digest, "md5", "download it again.")
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


def read_cifar10_mirror(folder: Path, sha256: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read CIFAR-10's binary version. ``sha256`` maps file names to digests to verify, when
    the mirror publishes them (no official per-file checksums exist for the binary version)."""
    hint = "put CIFAR-10's binary version (data_batch_1..5.bin, test_batch.bin) there"
    sha256 = sha256 or {}
    names = CIFAR10_BIN_TRAIN + [CIFAR10_BIN_TEST]
    for name in names:
        path = _require(folder / name, hint)
        if name in sha256:
            _check_digest(path, sha256[name], "sha256", "copy it again.")
    train = [read_cifar_bin(folder / n) for n in CIFAR10_BIN_TRAIN]
    test_images, test_labels = read_cifar_bin(folder / CIFAR10_BIN_TEST)
    return {
        "train_images": np.concatenate([im for im, _ in train]),
        "train_labels": np.concatenate([lb for _, lb in train]),
        "test_images": test_images,
        "test_labels": test_labels,
    }


# --------------------------------------------------------------------------- CIFAR-100, SVHN


def read_cifar100_mirror(folder: Path, md5: dict[str, str] = CIFAR100_MD5) -> dict[str, np.ndarray]:
    """CIFAR-100's python version (``train``, ``test``, ``meta``: what torchvision reads), each
    checked against its official MD5 before it is unpickled (a file that is not the official
    one is never loaded). Fine labels, 100 classes."""
    import pickle

    hint = "put CIFAR-100's python version (train, test, meta) there"
    for name, digest in md5.items():
        _check_digest(_require(folder / name, hint), digest, "md5", "download it again.")
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


def read_svhn_mirror(folder: Path, md5: dict[str, str] = SVHN_MD5) -> dict[str, np.ndarray]:
    """SVHN's cropped digits (``train_32x32.mat``, ``test_32x32.mat``), checked against their
    official MD5s; label 10 is the digit 0, as torchvision maps it."""
    from scipy.io import loadmat

    hint = "put SVHN's train_32x32.mat and test_32x32.mat there"
    for name, digest in md5.items():
        _check_digest(_require(folder / name, hint), digest, "md5", "download it again.")
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


def read_mirror(name: str, mirror: Path) -> dict[str, np.ndarray]:
    """Read dataset ``name`` from ``mirror/<name>/``, verifying checksums on the way."""
    mirror = Path(mirror)
    if problem := path_problem(mirror, "folder"):
        raise DataError(f"dataset mirror {mirror} {problem} (set data_mirror or "
                        "CNNLAB_DATA_MIRROR to a folder holding mnist/ and cifar10/)")
    folder = mirror / name
    sums = {k.split("/", 1)[1]: v for k, v in read_sha256sums(mirror).items()
            if k.startswith(f"{name}/")}
    if name in IDX_MD5:
        return read_mnist_mirror(folder, IDX_MD5[name])
    if name == "cifar10":
        return read_cifar10_mirror(folder, sums)
    if name == "cifar100":
        return read_cifar100_mirror(folder)
    if name == "svhn":
        return read_svhn_mirror(folder)
    raise KeyError(f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")


# --------------------------------------------------------------------------- torchvision


def read_torchvision(name: str, root: Path, download: bool = True) -> dict[str, np.ndarray]:
    """torchvision's own download and checks; the tensors are taken as they are, no transforms."""
    from torchvision import datasets as tvd  # imported here: only the download path needs it

    cls = getattr(tvd, TORCHVISION[name][0])
    parts = {}
    for split, train in (("train", True), ("test", False)):
        if name == "svhn":  # its own split argument, images already N x C x H x W
            ds = cls(root=str(root), split=split, download=download)
            images, labels = np.asarray(ds.data, dtype=np.uint8), ds.labels
        else:
            ds = cls(root=str(root), train=train, download=download)
            images = np.asarray(ds.data, dtype=np.uint8)
            images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
            labels = ds.targets
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
