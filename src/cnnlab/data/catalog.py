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
CIFAR100 = DatasetInfo("cifar100", (3, 32, 32), tuple("""
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
    crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house
    kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
    mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree
    plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark
    shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table
    tank telephone television tiger tractor train trout tulip turtle wardrobe whale
    willow_tree wolf woman worm""".split()), 50_000, 10_000)
SVHN = DatasetInfo("svhn", (3, 32, 32), tuple(str(d) for d in range(10)), 73_257, 26_032)
BUILTIN = (MNIST.name, CIFAR10.name, FASHION_MNIST.name, KMNIST.name, CIFAR100.name, SVHN.name)
DATASETS = {d.name: d for d in (MNIST, CIFAR10, FASHION_MNIST, KMNIST, CIFAR100, SVHN)}
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
