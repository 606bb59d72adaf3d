"""A folder of the user's own images as a dataset: listed and checked before any job (each
bad input named), split once and stratified, prepared into the arrays every dataset has,
byte for byte the images it holds."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cnnlab.data.image_folder import FolderError, list_folder, read_folder


def write_images(folder, counts: dict[str, int], size=(8, 8), mode="RGB", seed=0):
    """``counts`` images per class of random pixels; returns {relative path: array}."""
    rng = np.random.default_rng(seed)
    written = {}
    for cls, n in counts.items():
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (*size, 3) if mode == "RGB" else size
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(folder / cls / f"{i:03d}.png")
            written[f"{cls}/{i:03d}.png"] = pixels
    return written


def test_a_folder_is_split_once_stratified_and_read_byte_for_byte(tmp_path):
    written = write_images(tmp_path / "pets", {"cat": 10, "dog": 20})
    listing = list_folder(tmp_path / "pets", test_fraction=0.2, split_seed=0)
    assert listing.classes == ("cat", "dog")
    test = [p for p, _ in listing.test]
    assert sum(p.startswith("cat/") for p in test) == 2 and sum(p.startswith("dog/") for p in test) == 4
    assert not set(test) & {p for p, _ in listing.train}
    # The same seed gives the same split; another seed another one.
    assert list_folder(tmp_path / "pets", 0.2, 0) == listing
    assert list_folder(tmp_path / "pets", 0.2, 1).test != listing.test
    parts = read_folder(listing, (8, 8), 3)
    for split in ("train", "test"):
        items = getattr(listing, split)
        expected = np.stack([written[p].transpose(2, 0, 1) for p, _ in items])
        np.testing.assert_array_equal(parts[f"{split}_images"], expected)
        assert list(parts[f"{split}_labels"]) == [label for _, label in items]


def test_the_digest_follows_what_the_folder_holds(tmp_path):
    write_images(tmp_path / "f", {"a": 3, "b": 3})
    cache = tmp_path / "cache"
    first = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest == first  # nothing changed
    image = tmp_path / "f" / "a" / "000.png"
    image.touch()  # a new modification time, the same content: the same digest
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest == first
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(image)  # one pixel changed
    changed = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    assert changed != first
    write_images(tmp_path / "f", {"b": 4})  # one image added to b
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest not in (first, changed)


def test_images_are_resized_to_the_configured_size_and_channels(tmp_path):
    write_images(tmp_path / "f", {"a": 2, "b": 2}, size=(20, 30))
    listing = list_folder(tmp_path / "f", 0.5)
    parts = read_folder(listing, (16, 12), 1)
    assert parts["train_images"].shape == (2, 1, 16, 12) and parts["train_images"].dtype == np.uint8
    first = tmp_path / "f" / listing.train[0][0]
    expected = np.asarray(Image.open(first).convert("L").resize((12, 16), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(parts["train_images"][0, 0], expected)


def test_an_own_train_and_test_split_is_kept(tmp_path):
    write_images(tmp_path / "f" / "train", {"a": 3, "b": 3})
    write_images(tmp_path / "f" / "test", {"a": 1, "b": 2})
    listing = list_folder(tmp_path / "f", test_fraction=None)
    assert [p for p, _ in listing.test] == ["test/a/000.png", "test/b/000.png", "test/b/001.png"]
    assert len(listing.train) == 6


@pytest.mark.parametrize("layout, message", [
    ("missing", r"image folder .*nowhere does not exist"),
    ("single class", r"has 1 class folder\(s\); a classifier needs at least two"),
    ("empty class", r"class folder .*/dog is empty"),
    ("stray file", r"dog/notes\.txt is not an image file"),
    ("test misses a class", r"test has no class folder for \['dog'\]"),
    ("too few to split", r"class 'dog' has 1 image\(s\): too few"),
])
def test_each_bad_folder_is_named_before_any_job(tmp_path, layout, message):
    root = tmp_path / "f"
    if layout == "single class":
        write_images(root, {"cat": 3})
    elif layout == "empty class":
        write_images(root, {"cat": 3})
        (root / "dog").mkdir()
    elif layout == "stray file":
        write_images(root, {"cat": 3, "dog": 3})
        (root / "dog" / "notes.txt").write_text("x")
    elif layout == "test misses a class":
        write_images(root / "train", {"cat": 3, "dog": 3})
        write_images(root / "test", {"cat": 1})
    elif layout == "too few to split":
        write_images(root, {"cat": 3, "dog": 1})
    path = tmp_path / "nowhere" if layout == "missing" else root
    with pytest.raises(FolderError, match=message):
        list_folder(path, test_fraction=0.5, where="datasets.pets")


def test_an_unreadable_image_is_named(tmp_path):
    write_images(tmp_path / "f", {"a": 2, "b": 2})
    (tmp_path / "f" / "b" / "001.png").write_bytes(b"not a png")
    listing = list_folder(tmp_path / "f", 0.5)
    with pytest.raises(FolderError, match=r"unreadable image .*b/001\.png"):
        read_folder(listing, (8, 8), 3)


@pytest.mark.real_data
def test_cifar10_exported_as_pngs_prepares_to_the_native_reader_s_bytes(real_data_dir, tmp_path):
    """2,000 training and 500 test images of the real CIFAR-10 (../shared/datasets), exported
    as PNG class folders: the folder's arrays are the native reader's, byte for byte, with
    the same labels, in the folder's order (class, then file name = index)."""
    from cnnlab.data.sources import read_cifar10_mirror

    native = read_cifar10_mirror(real_data_dir / "cifar10")
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
    chosen = {"train": np.arange(2000), "test": np.arange(500)}
    for split, index in chosen.items():
        for i in index:
            label = native[f"{split}_labels"][i]
            folder = tmp_path / "png" / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(native[f"{split}_images"][i].transpose(1, 2, 0)).save(
                folder / f"{i:05d}.png")
    listing = list_folder(tmp_path / "png", test_fraction=None)
    assert listing.classes == classes
    parts = read_folder(listing, (32, 32), 3, workers=2)
    for split, index in chosen.items():
        labels = native[f"{split}_labels"][index]
        order = index[np.lexsort((index, labels))]  # by class, then by index
        np.testing.assert_array_equal(parts[f"{split}_images"], native[f"{split}_images"][order])
        np.testing.assert_array_equal(parts[f"{split}_labels"], native[f"{split}_labels"][order])


def _cache_file(cache_dir):
    cached, = cache_dir.glob("folder-*.json")
    return cached


def test_content_rewritten_with_the_same_size_and_mtime_is_read_again(tmp_path):
    """``cp -p`` / ``rsync -a`` keep size and mtime: the cache must not keep the old digest."""
    write_images(tmp_path / "f", {"a": 3, "b": 3})
    cache = tmp_path / "cache"
    first = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    image = tmp_path / "f" / "a" / "000.png"
    st = image.stat()
    data = bytearray(image.read_bytes())
    data[-20] ^= 0xFF  # other bytes, the same size (the listing never decodes them)
    image.write_bytes(bytes(data))
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))  # the mtime put back, as cp -p does
    assert image.stat().st_size == st.st_size and image.stat().st_mtime_ns == st.st_mtime_ns
    again = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    assert again != first
    assert again == list_folder(tmp_path / "f", 0.34).digest  # what a fresh read says


def test_a_file_not_older_than_the_cache_is_hashed_again(tmp_path):
    """git's racy-clean rule: a file modified within the clock's resolution of the cache's
    write may have changed after it, unseen by size and times; it is read again."""
    write_images(tmp_path / "f", {"a": 3, "b": 3})
    cache = tmp_path / "cache"
    true = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    cached = _cache_file(cache)
    # Every cached checksum replaced by a wrong one, the keys kept.
    cached.write_text(json.dumps({k: "0" * 64 for k in json.loads(cached.read_text())}))
    mtimes = [p.stat().st_mtime_ns for p in (tmp_path / "f").rglob("*.png")]
    # A cache written well after every file is trusted: the (wrong) checksums are used...
    os.utime(cached, ns=(max(mtimes) + 10**10, max(mtimes) + 10**10))
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest != true
    # ... one written in the same tick as the files is not (the files are left untouched:
    # a new ctime alone would have them read again).
    os.utime(cached, ns=(min(mtimes), min(mtimes)))
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest == true


def test_a_truncated_checksum_cache_is_recomputed(tmp_path):
    """A kill mid-write (or two starts at once) left half a file: the next start recomputes
    and rewrites it, it does not fail."""
    write_images(tmp_path / "f", {"a": 3, "b": 3})
    cache = tmp_path / "cache"
    first = list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest
    cached = _cache_file(cache)
    text = cached.read_text()
    cached.write_text(text[: len(text) // 2])
    assert list_folder(tmp_path / "f", 0.34, cache_dir=cache).digest == first
    assert json.loads(_cache_file(cache).read_text())  # whole again
    assert not list(cache.glob("*partial*"))  # no temporary file left behind


def test_class_names_stay_text_from_the_folder_to_the_report(tmp_path):
    """A folder class `007` stays `007` and `NA` stays `NA`, also where the runs' per-class
    files are read back (pandas' defaults make them 7 and NaN)."""
    from cnnlab.report.tables import per_class_rows, read_per_class
    from cnnlab.training.evaluation import confusion_frame, per_class_accuracy

    write_images(tmp_path / "f", {"007": 3, "NA": 3, "cat": 3})
    listing = list_folder(tmp_path / "f", 0.34)
    classes = list(listing.classes)
    assert classes == ["007", "NA", "cat"]
    run = tmp_path / "runs" / "s" / "f" / "v" / "seed0"
    run.mkdir(parents=True)
    matrix = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    confusion_frame(matrix, classes).to_csv(run / "confusion.csv")
    per_class_accuracy(matrix, classes).to_csv(run / "per_class.csv", index=False)
    per_class = read_per_class([run / "per_class.csv"])
    assert list(per_class["class"]) == classes
    table = pd.DataFrame([{"study": "s", "dataset": "f", "variant": "v", "label": "v"}])
    shown, [row] = per_class_rows(per_class, table)
    assert shown == classes and row["accs"] == ["100.0", "100.0", "0.0"]
    assert row["hardest"] == "cat"
    from cnnlab.analysis.run_tables import read_confusion_csv  # the confusion figure's reader

    confusion = read_confusion_csv(run / "confusion.csv")
    assert list(confusion.index) == classes and list(confusion.columns) == classes
    assert confusion.loc["NA", "NA"] == 1


def test_a_folder_is_read_as_torchvision_s_image_folder_reads_it(tmp_path):
    """Images in a class folder's subfolders belong to the class; files beside the class
    folders (a licence, a readme) are no class."""
    written = write_images(tmp_path / "f", {"cat": 3, "dog": 3})
    written |= {f"cat/{k}": v for k, v in write_images(tmp_path / "f" / "cat", {"more": 2}).items()}
    (tmp_path / "f" / "LICENSE.txt").write_text("CC-BY")
    (tmp_path / "f" / "README").write_text("pets")
    listing = list_folder(tmp_path / "f", 0.4)
    assert listing.classes == ("cat", "dog")
    paths = {p: label for p, label in listing.train + listing.test}
    assert paths["cat/more/000.png"] == 0 and paths["cat/more/001.png"] == 0
    assert sorted(paths) == sorted(written)
    parts = read_folder(listing, (8, 8), 3)
    for split in ("train", "test"):
        expected = np.stack([written[p].transpose(2, 0, 1) for p, _ in getattr(listing, split)])
        np.testing.assert_array_equal(parts[f"{split}_images"], expected)


def test_sixteen_bit_grey_is_scaled_by_its_depth_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100], [40000, 65535]], dtype=np.uint16)
    for cls in ("a", "b"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(values).save(tmp_path / "f" / cls / f"{i}.png")
    assert Image.open(tmp_path / "f" / "a" / "0.png").mode.startswith("I")  # 16 bits kept
    parts = read_folder(list_folder(tmp_path / "f", 0.5), (2, 2), 1)
    expected = np.rint(values.astype(float) * 255 / 65535).astype(np.uint8)  # 0 100 156 255
    np.testing.assert_array_equal(parts["train_images"][0, 0], expected)


def test_a_stray_file_s_message_names_the_image_extensions(tmp_path):
    write_images(tmp_path / "f", {"cat": 3, "dog": 3})
    (tmp_path / "f" / "dog" / "scan.heic").write_bytes(b"x")
    with pytest.raises(FolderError, match=r"dog/scan\.heic is not an image file \(1 such file\(s\) "
                                          r"in class 'dog'\); image files end in .*\.jpeg, "
                                          r"\.jpg, .*\.png"):
        list_folder(tmp_path / "f", 0.5)
