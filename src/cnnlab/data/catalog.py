"""The datasets cnnlab knows, one record each: name, image shape, class names, sizes and,
for a built-in dataset, where its data comes from (its original files with their checksums,
the function that reads them, torchvision's class for the download). No I/O and no
PyTorch or numpy, so that the config checks and the report can use them at every start:
a record names its reader and its torchvision class, it imports neither. Adding a built-in
dataset is one record here (and its test); a user's image folder is added once listed
(``register_dataset``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    shape: tuple[int, int, int]  # C, H, W
    classes: tuple[str, ...]
    train_images: int  # in the whole training split
    test_images: int  # in the whole test split
    # Where a built-in dataset's data comes from (an image folder's record has none of it).
    # Its original files as the offline mirror holds them (MIRROR/<name>/<file>), each with
    # its official MD5, the one torchvision checks; None where none was published (CIFAR-10's
    # binary version): then the mirror's own SHA256SUMS checks the file, if it lists it.
    files: dict[str, str | None] = field(default_factory=dict)
    # The function of ``cnnlab.data.formats`` that reads those files, once checked.
    reader: str = ""
    # torchvision.datasets' class that downloads it, its arguments for the train and the
    # test split, and where its files land under the download root (a glob, for provenance).
    torchvision: str = ""
    torchvision_args: tuple[dict, dict] = ({"train": True}, {"train": False})
    downloaded: str = ""


def _idx_files(train_images: str, train_labels: str, test_images: str,
               test_labels: str) -> dict[str, str]:
    """The four gzipped IDX files of MNIST and its look-alikes, with their MD5s."""
    return {"train-images-idx3-ubyte.gz": train_images,
            "train-labels-idx1-ubyte.gz": train_labels,
            "t10k-images-idx3-ubyte.gz": test_images,
            "t10k-labels-idx1-ubyte.gz": test_labels}


MNIST = DatasetInfo(
    "mnist", (1, 28, 28), tuple(str(d) for d in range(10)), 60_000, 10_000,
    files=_idx_files("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                     "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
    reader="read_idx_folder", torchvision="MNIST", downloaded="MNIST/**/*")
CIFAR10 = DatasetInfo(
    "cifar10", (3, 32, 32),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    50_000, 10_000,
    # The binary version (torchvision downloads the python version instead).
    files=dict.fromkeys([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]),
    reader="read_cifar10_folder", torchvision="CIFAR10", downloaded="cifar-10-batches-py/**/*")
FASHION_MNIST = DatasetInfo(
    "fashion_mnist", (1, 28, 28),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
     "Bag", "Ankle boot"), 60_000, 10_000,
    files=_idx_files("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                     "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
    reader="read_idx_folder", torchvision="FashionMNIST", downloaded="FashionMNIST/**/*")
KMNIST = DatasetInfo(
    "kmnist", (1, 28, 28), ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    60_000, 10_000,
    files=_idx_files("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                     "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"),
    reader="read_idx_folder", torchvision="KMNIST", downloaded="KMNIST/**/*")
CIFAR100 = DatasetInfo(
    "cifar100", (3, 32, 32), tuple("""
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
    crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house
    kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
    mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree
    plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark
    shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table
    tank telephone television tiger tractor train trout tulip turtle wardrobe whale
    willow_tree wolf woman worm""".split()), 50_000, 10_000,
    # The python version, what torchvision reads; its fine labels.
    files={"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffe157b7ffb9bd",
           "meta": "7973b15100ade9c7d40fb424638fde48"},
    reader="read_cifar100_folder", torchvision="CIFAR100", downloaded="cifar-100-python/**/*")
SVHN = DatasetInfo(
    "svhn", (3, 32, 32), tuple(str(d) for d in range(10)), 73_257, 26_032,
    # The cropped digits.
    files={"train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
           "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"},
    # torchvision's SVHN takes a split name, and its download lands in the root itself,
    # beside other datasets' folders.
    reader="read_svhn_folder", torchvision="SVHN",
    torchvision_args=({"split": "train"}, {"split": "test"}), downloaded="*_32x32.mat")
_BUILTIN = (MNIST, CIFAR10, FASHION_MNIST, KMNIST, CIFAR100, SVHN)
BUILTIN = tuple(d.name for d in _BUILTIN)
DATASETS = {d.name: d for d in _BUILTIN}
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
