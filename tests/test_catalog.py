"""Each built-in dataset is one complete record (``catalog.DatasetInfo``), and the data
sources read through that record, not beside it: its files and their checksums, its reader,
its torchvision class and that class's arguments."""

import hashlib
import inspect
import re
from dataclasses import replace

import numpy as np
import pytest

from cnnlab.data import catalog, formats, sources


@pytest.mark.parametrize("name", catalog.BUILTIN)
def test_every_builtin_record_is_complete(name):
    tvd = pytest.importorskip("torchvision.datasets")
    info = catalog.DATASETS[name]
    assert info.name == name
    c, h, w = info.shape
    assert c in (1, 3) and h > 0 and w > 0
    # As many class names as the dataset has classes, each once.
    assert len(info.classes) == {"cifar100": 100}.get(name, 10) == len(set(info.classes))
    assert info.train_images > 0 and info.test_images > 0
    assert info.files and all(d is None or re.fullmatch("[0-9a-f]{32}", d)
                              for d in info.files.values())
    # No official checksums were published for CIFAR-10's binary version alone.
    assert name == "cifar10" or None not in info.files.values()
    assert callable(sources.reader_of(info))
    assert len(info.torchvision_args) == 2 and info.downloaded
    cls = getattr(tvd, info.torchvision)
    for arguments in info.torchvision_args:  # the arguments are ones its class takes
        inspect.signature(cls).bind(root="root", download=False, **arguments)


def test_a_record_without_a_reader_is_refused():
    for reader in ("", "read_nothing", "DataError"):
        with pytest.raises(KeyError, match="mnist.* has no reader"):
            sources.reader_of(replace(catalog.MNIST, reader=reader))


@pytest.mark.parametrize("name", catalog.BUILTIN)
def test_the_mirror_reads_through_the_record(tmp_path, monkeypatch, name):
    """Files named as the record names them (any content): the mirror checks a copy of
    the record carrying their own MD5s and hands the folder to the reader it names; the
    same copy with one wrong checksum planted is refused, naming the file."""
    info = catalog.DATASETS[name]
    folder = tmp_path / name
    folder.mkdir()
    for i, file in enumerate(info.files):
        (folder / file).write_bytes(f"file {i}".encode())
    own = {f: hashlib.md5((folder / f).read_bytes()).hexdigest() for f in info.files}
    monkeypatch.setattr(formats, "read_planted", lambda folder: {"read": folder}, raising=False)
    monkeypatch.setitem(catalog.DATASETS, name, replace(info, files=own, reader="read_planted"))
    assert sources.read_mirror(name, tmp_path) == {"read": folder}
    last = list(own)[-1]
    monkeypatch.setitem(catalog.DATASETS, name, replace(info, files={**own, last: "0" * 32},
                                                        reader="read_planted"))
    with pytest.raises(sources.DataError, match=rf"corrupt dataset file .*{name}/"
                                                rf"{re.escape(last)}: md5 is .*expected 0{{32}}"):
        sources.read_mirror(name, tmp_path)


@pytest.mark.parametrize("name", ["svhn", "cifar100"])
def test_the_download_uses_the_record_s_torchvision_class_and_arguments(
        tmp_path, monkeypatch, name):
    """A class planted in torchvision.datasets under the record's name gets the record's
    arguments per split; its images are taken as N x C x H x W whichever layout it has
    (SVHN's is already that, CIFAR's N x H x W x C), its labels whatever it calls them."""
    tvd = pytest.importorskip("torchvision.datasets")
    info, calls = catalog.DATASETS[name], []

    class Planted:
        def __init__(self, root, download, **arguments):
            calls.append((root, download, arguments))
            n = len(calls) + 1
            images = np.arange(n * 3 * 32 * 32, dtype=np.uint8).reshape(n, 3, 32, 32)
            if name == "svhn":
                self.data, self.labels = images, list(range(n))
            else:
                self.data, self.targets = images.transpose(0, 2, 3, 1), list(range(n))

    monkeypatch.setattr(tvd, "Planted", Planted, raising=False)
    monkeypatch.setitem(catalog.DATASETS, name, replace(info, torchvision="Planted"))
    parts = sources.read_torchvision(name, tmp_path)
    assert calls == [(str(tmp_path), True, arguments) for arguments in info.torchvision_args]
    assert parts["train_images"].shape == (2, 3, 32, 32)
    assert parts["test_images"].shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(parts["test_images"].reshape(-1), np.arange(3 * 3072,
                                                                              dtype=np.uint8))
    assert parts["test_labels"].dtype == np.int64 and list(parts["test_labels"]) == [0, 1, 2]
