"""The datasets cnnlab knows: names, image shapes, class names, sizes. No I/O and no
PyTorch, so that the config checks and the report can use them. The built-in datasets are
here; a user's image folder is added once listed (``register_dataset``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    shape: tuple[int, int, int]  # C, H, W
    classes: tuple[str, ...]
    train_images: int  # in the whole training split
    test_images: int  # in the whole test split


MNIST = DatasetInfo("mnist", (1, 28, 28), tuple(str(d) for d in range(10)), 60_000,
                    10_000)
CIFAR10 = DatasetInfo(
    "cifar10", (3, 32, 32),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    50_000, 10_000)
FASHION_MNIST = DatasetInfo(
    "fashion_mnist", (1, 28, 28),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
     "Bag", "Ankle boot"), 60_000, 10_000)
KMNIST = DatasetInfo("kmnist", (1, 28, 28),
                     ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"), 60_000, 10_000)
BUILTIN = (MNIST.name, CIFAR10.name, FASHION_MNIST.name, KMNIST.name)
DATASETS = {d.name: d for d in (MNIST, CIFAR10, FASHION_MNIST, KMNIST)}
SYNTHETIC_TRAIN_IMAGES = 2000  # per dataset, as the synthetic data job writes them
SYNTHETIC_TEST_IMAGES = 500


def register_dataset(info: DatasetInfo) -> None:
    """Add a dataset of the user's (an image folder, listed by ``plan.config.folder_datasets``)
    to the catalog of this process."""
    if info.name in BUILTIN and DATASETS.get(info.name) != info:
        raise ValueError(f"dataset {info.name!r} is a built-in dataset; name yours otherwise")
    DATASETS[info.name] = info


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}") from None
