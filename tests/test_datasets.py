import gzip
import hashlib
from dataclasses import replace

import numpy as np
import pytest

from cnnlab.data import catalog, formats, prepared, sources


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def mnist_mirror(tmp_path):
    """A mirror folder holding MNIST's four files in the original IDX format, with
    synthetic content, and the MD5s of those files."""
    parts = sources.make_synthetic("mnist", 50, 20)
    folder = tmp_path / "mirror" / "mnist"
    folder.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", parts[f"{split}_images"][:, 0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", parts[f"{split}_labels"])
    md5 = {name: hashlib.md5((folder / name).read_bytes()).hexdigest()
           for name in catalog.MNIST.files}
    return folder, md5, parts


def test_mnist_mirror_round_trip(mnist_mirror):
    folder, md5, parts = mnist_mirror
    read = sources.read_folder(replace(catalog.MNIST, files=md5), folder)
    for key in parts:
        np.testing.assert_array_equal(read[key], parts[key])
    assert read["train_images"].shape == (50, 1, 28, 28)
    assert read["train_labels"].dtype == np.int64


def test_mnist_mirror_is_checked_against_official_md5s(mnist_mirror):
    folder, _, _ = mnist_mirror
    # Synthetic files cannot match the official checksums: the default check must say so.
    with pytest.raises(sources.DataError, match=r"corrupt dataset file .*train-images-idx3-ubyte.gz"):
        sources.read_folder(catalog.MNIST, folder)


def test_mnist_missing_file_is_named(mnist_mirror):
    folder, md5, _ = mnist_mirror
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(sources.DataError, match=r"dataset file .*t10k-labels-idx1-ubyte.gz does not exist"):
        sources.read_folder(replace(catalog.MNIST, files=md5), folder)


def test_truncated_idx_is_rejected(mnist_mirror):
    folder, _, _ = mnist_mirror
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(sources.DataError, match="train-images-idx3-ubyte.gz"):
        formats.read_idx(path)


def test_missing_mirror_folder(tmp_path):
    with pytest.raises(sources.DataError, match="mirror .*nowhere does not exist"):
        sources.read_mirror("mnist", tmp_path / "nowhere")


def test_mirror_and_dataset_paths_say_what_is_wrong(tmp_path):
    (tmp_path / "archive.tar").write_text("a file, not a folder")
    with pytest.raises(sources.DataError, match="mirror .*archive.tar is not a folder"):
        sources.read_mirror("mnist", tmp_path / "archive.tar")
    folder = tmp_path / "mirror" / "cifar10"
    (folder / "data_batch_1.bin").mkdir(parents=True)
    with pytest.raises(sources.DataError, match="data_batch_1.bin is a folder, not a file"):
        sources.read_mirror("cifar10", tmp_path / "mirror")


def write_cifar_bin(path, images, labels):
    records = np.concatenate([labels.astype(np.uint8)[:, None],
                              images.reshape(len(images), -1)], axis=1)
    path.write_bytes(records.tobytes())


@pytest.fixture
def cifar_mirror(tmp_path):
    parts = sources.make_synthetic("cifar10", 50, 10)
    folder = tmp_path / "mirror" / "cifar10"
    folder.mkdir(parents=True)
    *train_files, test_file = catalog.CIFAR10.files  # as the mirror holds them
    for i, name in enumerate(train_files):
        sl = slice(10 * i, 10 * (i + 1))
        write_cifar_bin(folder / name, parts["train_images"][sl], parts["train_labels"][sl])
    write_cifar_bin(folder / test_file, parts["test_images"], parts["test_labels"])
    return folder, parts


def test_cifar_binary_round_trip(cifar_mirror):
    folder, parts = cifar_mirror
    read = sources.read_mirror("cifar10", folder.parent)
    for key in parts:
        np.testing.assert_array_equal(read[key], parts[key])


def test_cifar_truncated_file_is_named(cifar_mirror):
    folder, _ = cifar_mirror
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(sources.DataError, match="data_batch_3.bin.*truncated"):
        sources.read_mirror("cifar10", folder.parent)


def test_cifar_checksum_from_mirror_sha256sums(cifar_mirror):
    folder, _ = cifar_mirror
    (folder.parent / "SHA256SUMS").write_text(f"{'0' * 64}  cifar10/test_batch.bin\n")
    with pytest.raises(sources.DataError, match="test_batch.bin: sha256"):
        sources.read_mirror("cifar10", folder.parent)


def test_torchvision_path_reads_its_own_layout(tmp_path):
    """The download path, without a network: torchvision finds its files already in
    place (as after a download) and cnnlab converts its tensors."""
    parts = sources.make_synthetic("mnist", 30, 10)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        for kind, array in (("images-idx3", parts[f"{split}_images"][:, 0]),
                            ("labels-idx1", parts[f"{split}_labels"])):
            gz = raw / f"{prefix}-{kind}-ubyte.gz"
            write_idx(gz, array)
            (raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    read = sources.read_torchvision("mnist", tmp_path, download=True)
    for key in parts:
        np.testing.assert_array_equal(read[key], parts[key])


def test_prepared_file_round_trip_without_pickle(tmp_path):
    path = tmp_path / "cifar10.npz"
    parts = sources.make_synthetic("cifar10", 40, 20)
    prepared.save_prepared(parts, "cifar10", path)
    data = prepared.load_prepared(path)  # loads with allow_pickle=False
    np.testing.assert_array_equal(data.train_images, parts["train_images"])
    assert data.classes == list(catalog.CIFAR10.classes)
    assert not list(tmp_path.glob("*.partial*"))


def test_prepared_file_rejects_wrong_shapes(tmp_path):
    parts = sources.make_synthetic("mnist", 10, 10)
    with pytest.raises(sources.DataError, match="expected"):
        prepared.save_prepared(parts, "cifar10", tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_a_run_s_subsets_are_fixed_and_independent_of_its_seed(config, synthetic_mnist):
    """Runs of different seeds train and are measured on the same images (only the order
    and the initial weights differ), a subset is a sample of the whole split, not its head,
    and a size of null is the whole split."""
    import torch

    from cnnlab.data.run_subsets import load_run_data
    from conftest import smoke_spec

    spec = smoke_spec(config, "mnist", "mlp")
    spec["data"].update(train_size=400, test_size=100)
    runs = [load_run_data(synthetic_mnist, {**spec, "seed": seed}, torch.device("cpu"),
                          torch.Generator().manual_seed(seed)) for seed in (0, 1)]
    for split in ("train", "validation", "test", "curve"):
        a, b = (getattr(rd, split) for rd in runs)
        np.testing.assert_array_equal(a.labels.numpy(), b.labels.numpy())
        torch.testing.assert_close(a.images, b.images)
    test_index = prepared.subset_indices(synthetic_mnist.test_labels, 100)
    assert len(np.unique(test_index)) == 100 and test_index.max() > 100  # not the first 100
    np.testing.assert_array_equal(runs[0].test.labels.numpy(),
                                  synthetic_mnist.test_labels[test_index])
    whole = load_run_data(synthetic_mnist, {**spec, "data": {**spec["data"], "test_size": None}},
                          torch.device("cpu"), torch.Generator())
    assert len(whole.test.labels) == len(synthetic_mnist.test_labels)


def test_the_validation_split_is_held_out_of_training_stratified_and_the_same_for_every_run():
    """Learning curves and sweeps read images no run trains on, chosen by the labels and
    the size alone: the same for every seed, variant and train size."""
    from cnnlab.data.run_subsets import split_training, validation_indices

    # 80% of one class, as a user's folder may be: the validation split keeps the shares.
    labels = np.array([0] * 800 + [1] * 150 + [2] * 50)
    train, validation = split_training(labels, 300, 100)
    assert len(validation) == 100 and len(np.unique(validation)) == 100
    assert not set(train) & set(validation) and len(train) == 300
    assert np.bincount(labels[validation]).tolist() == [80, 15, 5]
    # Every train size (null: all the rest) holds out the very same validation images.
    for size in (None, 50, 900):
        again, same = split_training(labels, size, 100)
        np.testing.assert_array_equal(same, validation)
        assert not set(again) & set(validation)
    assert len(split_training(labels, None, 100)[0]) == 900
    # Not the first images of the split: a sample from all of it (a folder is stored class
    # by class, so the head would be one class).
    assert validation.max() > 900
    with pytest.raises(ValueError, match="validation size 1000 must be between 1 and 999"):
        validation_indices(labels, 1000)


def test_the_learning_curve_reads_validation_images_of_every_class(config):
    """A folder prepared class by class: the curve's images are a stratified part of the
    validation split, never test images."""
    import torch

    from cnnlab.data.run_subsets import load_run_data
    from conftest import smoke_spec

    rng = np.random.default_rng(0)
    by_class = prepared.Prepared(
        train_images=rng.integers(0, 255, (1000, 1, 28, 28), dtype=np.uint8),
        train_labels=np.repeat(np.arange(10), 100),
        test_images=np.zeros((300, 1, 28, 28), dtype=np.uint8),  # all black: not read
        test_labels=np.repeat(np.arange(10), 30), classes=[str(c) for c in range(10)])
    spec = smoke_spec(config, "mnist", "mlp", curve_size=50)
    rd = load_run_data(by_class, spec, torch.device("cpu"), torch.Generator())
    assert np.bincount(rd.curve.labels.numpy()).tolist() == [5] * 10
    validation = {tuple(x.flatten().tolist()) for x in rd.validation.images}
    assert all(tuple(x.flatten().tolist()) in validation for x in rd.curve.images)
    assert len(rd.validation.labels) == spec["data"]["validation_size"]


def test_synthetic_data_is_deterministic_and_shaped():
    a, b = sources.make_synthetic("cifar10", 20, 10), sources.make_synthetic("cifar10", 20, 10)
    np.testing.assert_array_equal(a["train_images"], b["train_images"])
    assert a["train_images"].shape == (20, 3, 32, 32)
    assert set(a["train_labels"]) == set(range(10))


def test_unknown_dataset():
    with pytest.raises(KeyError, match="unknown dataset 'imagenet'"):
        catalog.dataset_info("imagenet")


def test_unreadable_path_is_named_as_such(tmp_path, monkeypatch):
    """Permissions cannot be taken away from root (CI runs as root): os.access answers."""
    from cnnlab import files

    monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    assert files.path_problem(tmp_path, "folder") == "is not readable (check its permissions)"


@pytest.mark.parametrize("name", ["fashion_mnist", "kmnist"])
def test_fashion_mnist_and_kmnist_are_read_from_their_idx_files_checked_by_their_md5s(
        tmp_path, monkeypatch, name):
    """Their real files are not on this machine (no network): files in the original IDX
    format with synthetic content, checked against the official MD5s (which they fail),
    then against their own (round trip), and a truncated one."""
    parts = sources.make_synthetic(name, 40, 20)
    assert parts["train_images"].shape == (40, 1, 28, 28)
    folder = tmp_path / "mirror" / name
    folder.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", parts[f"{split}_images"][:, 0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", parts[f"{split}_labels"])
    official = catalog.DATASETS[name]
    with pytest.raises(sources.DataError, match=rf"corrupt dataset file .*{name}/.*md5 is .*, "
                                                rf"expected {official.files['train-images-idx3-ubyte.gz']}"):
        sources.read_mirror(name, tmp_path / "mirror")
    own = {f: hashlib.md5((folder / f).read_bytes()).hexdigest() for f in official.files}
    monkeypatch.setitem(catalog.DATASETS, name, replace(official, files=own))
    read = sources.read_mirror(name, tmp_path / "mirror")
    for key in parts:
        np.testing.assert_array_equal(read[key], parts[key])
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-5])
    own["t10k-labels-idx1-ubyte.gz"] = hashlib.md5(labels.read_bytes()).hexdigest()
    monkeypatch.setitem(catalog.DATASETS, name, replace(official, files=own))
    with pytest.raises(sources.DataError, match="t10k-labels-idx1-ubyte.gz"):
        sources.read_mirror(name, tmp_path / "mirror")
    assert catalog.DATASETS[name].classes[0] in ("T-shirt/top", "o")


def write_cifar100(folder, parts, classes):
    import pickle

    folder.mkdir(parents=True)
    for split in ("train", "test"):
        batch = {"data": parts[f"{split}_images"].reshape(len(parts[f"{split}_images"]), -1),
                 "fine_labels": parts[f"{split}_labels"].tolist(),
                 "coarse_labels": [0] * len(parts[f"{split}_labels"])}
        with open(folder / split, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": list(classes)}, f)


def write_svhn(folder, parts):
    from scipy.io import savemat

    folder.mkdir(parents=True)
    for split in ("train", "test"):
        labels = parts[f"{split}_labels"].copy()
        labels[labels == 0] = 10  # SVHN's file says 10 for the digit 0
        savemat(folder / f"{split}_32x32.mat",
                {"X": parts[f"{split}_images"].transpose(2, 3, 1, 0), "y": labels[:, None]})


@pytest.mark.parametrize("name", ["cifar100", "svhn"])
def test_cifar100_and_svhn_are_read_from_their_files_checked_by_their_md5s(tmp_path, name):
    """Their real files are not on this machine: files in the original formats (CIFAR-100's
    python version, SVHN's .mat) with synthetic content; the official MD5s refuse them
    (and a file that is not the official one is never unpickled), their own MD5s read them
    back exactly, and a truncated file is named."""
    parts = sources.make_synthetic(name, 120, 40)
    assert parts["train_images"].shape == (120, 3, 32, 32)
    assert set(parts["train_labels"]) == set(range(len(catalog.DATASETS[name].classes)))
    folder = tmp_path / "mirror" / name
    if name == "cifar100":
        write_cifar100(folder, parts, catalog.DATASETS[name].classes)
        first = "train"
    else:
        write_svhn(folder, parts)
        first = "train_32x32.mat"
    with pytest.raises(sources.DataError,
                       match=rf"corrupt dataset file .*{name}/{first}: md5 is .*, "
                             rf"expected {catalog.DATASETS[name].files[first]}"):
        sources.read_mirror(name, tmp_path / "mirror")
    own = {f: hashlib.md5((folder / f).read_bytes()).hexdigest()
           for f in catalog.DATASETS[name].files}
    read = sources.read_folder(replace(catalog.DATASETS[name], files=own), folder)
    for key in parts:
        np.testing.assert_array_equal(read[key], parts[key])
    test_file = folder / ("test" if name == "cifar100" else "test_32x32.mat")
    test_file.write_bytes(test_file.read_bytes()[:-200])
    own[test_file.name] = hashlib.md5(test_file.read_bytes()).hexdigest()
    with pytest.raises(sources.DataError, match=rf"corrupt dataset file .*{test_file.name}"):
        sources.read_folder(replace(catalog.DATASETS[name], files=own), folder)
