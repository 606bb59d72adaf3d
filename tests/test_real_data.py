"""Tests on the real datasets in ../shared/datasets; skipped where that folder is absent."""

import io

import numpy as np
import pytest

from cnnlab.data import catalog, prepared, sources
from cnnlab.training.loop import run_training

from conftest import smoke_spec

pytestmark = pytest.mark.real_data


def test_real_mnist_mirror_matches_published_facts(real_data_dir):
    parts = sources.read_mirror("mnist", real_data_dir)  # checks the official MD5s
    assert parts["train_images"].shape == (60000, 1, 28, 28)
    assert parts["test_images"].shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(parts["test_labels"]),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert abs(parts["train_images"].mean() / 255 - 0.1307) < 1e-3


def test_real_cifar10_mirror(real_data_dir):
    parts = sources.read_mirror("cifar10", real_data_dir)  # checks the mirror's SHA256SUMS
    assert parts["train_images"].shape == (50000, 3, 32, 32)
    assert list(parts["train_labels"][:10]) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert list(np.bincount(parts["test_labels"])) == [1000] * 10


def test_the_mirror_holds_each_record_s_files_as_it_names_them(real_data_dir):
    """Every file a record lists is in the real mirror, and each is checked: by its official
    MD5 (``test_real_mnist_mirror...`` reads them), else by the mirror's SHA256SUMS."""
    sums = sources.read_sha256sums(real_data_dir)
    present = [n for n in catalog.BUILTIN if (real_data_dir / n).is_dir()]
    assert {"mnist", "cifar10"} <= set(present)
    for name in present:
        for file, md5 in catalog.DATASETS[name].files.items():
            assert (real_data_dir / name / file).is_file()
            assert md5 or f"{name}/{file}" in sums, f"{name}/{file} would not be checked"


def test_simple_cnn_learns_real_mnist_in_one_epoch(real_data_dir, config, tmp_path):
    path = tmp_path / "mnist.npz"
    prepared.save_prepared(sources.read_mirror("mnist", real_data_dir), "mnist", path)
    spec = smoke_spec(config, "mnist", "cnn", epochs=1)
    spec["data"] = {"synthetic": False, "train_size": 20000, "validation_size": 5000,
                    "test_size": 5000}
    metrics = run_training(spec, prepared.load_prepared(path), tmp_path / "run", threads=2,
                           progress=io.StringIO())
    assert metrics["test_acc"] >= 0.97
