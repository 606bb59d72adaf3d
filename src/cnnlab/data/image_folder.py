"""A folder of the user's own images as a dataset, in torchvision's ``ImageFolder`` layout:
one subfolder per class (images in its subfolders too; files beside the class folders
ignored), any format PIL reads (16-bit grey scaled to 8 bits by its depth); either ``train/`` and ``test/`` each holding
the class folders, or the class folders themselves, split once (stratified, by a fixed seed)
with ``test_fraction`` of each class for testing.

Listed and checked at every start of the workflow (``list_folder``, no image decoded, no
PyTorch or NumPy imported): classes, counts, the split, and a digest of what the folder
holds (each file's name, size and content checksum; checksums are kept in a cache by name,
size, modification and change time and inode, as git's index keeps them, so a start
re-reads only what changed). Prepared once
(``read_folder``) into the same arrays as every other dataset: resized deterministically
(bilinear, PIL) to the configured size, uint8, in the listing's order.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from cnnlab.files import read_json_cache, write_json_cache

# What PIL reads: suffixes taken as images (anything else in a class folder is an error
# naming the file and these, so that a stray file is named, not silently skipped).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm", ".pbm"}


class FolderError(ValueError):
    """An image folder that cannot be a dataset; the message names the folder, class or file."""


@dataclass(frozen=True)
class FolderListing:
    root: str
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]  # (path relative to root, label), in order
    test: tuple[tuple[str, int], ...]
    digest: str                         # what the folder holds: names, sizes, checksums


def _files_under(class_dir: Path) -> list[str]:
    """Every file under a class folder, its subfolders' too (torchvision's ``ImageFolder``
    walks a class folder recursively), as paths relative to it, sorted; hidden files and
    folders (``.DS_Store``, ``.ipynb_checkpoints``) left out."""
    files = []
    for folder, subfolders, names in os.walk(class_dir, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        here = Path(folder).relative_to(class_dir)
        files += [(here / name).as_posix() for name in names if not name.startswith(".")]
    return sorted(files)


def _class_files(folder: Path, where: str, at_least: int = 2) -> dict[str, list[str]]:
    """``{class: [file paths relative to its folder, sorted]}`` of one level of class
    folders. Files beside the class folders (a LICENSE.txt, a README) are no class and are
    left out, as ``ImageFolder`` leaves them; a file of another kind inside a class folder
    is an error naming it and the extensions taken as images."""
    if not folder.is_dir():
        raise FolderError(f"{where}: image folder {folder} does not exist or is not a folder")
    classes = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        files = _files_under(Path(entry.path))
        strays = [f for f in files if Path(f).suffix.lower() not in IMAGE_SUFFIXES]
        if strays:
            raise FolderError(f"{where}: {Path(entry.path) / strays[0]} is not an image file "
                              f"({len(strays)} such file(s) in class {entry.name!r}); image "
                              f"files end in {', '.join(sorted(IMAGE_SUFFIXES))} (any case)")
        if not files:
            raise FolderError(f"{where}: class folder {entry.path} is empty")
        classes[entry.name] = files
    if len(classes) < at_least:
        raise FolderError(f"{where}: image folder {folder} has {len(classes)} class "
                          f"folder(s); a classifier needs at least two")
    return classes


def _split(per_class: dict[str, list[str]], fraction: float, seed: int, where: str):
    """Stratified: ``fraction`` of each class (rounded, at least one) to test, drawn by
    ``seed``; the rest to train. Both in class order, then file name order."""
    train, test = [], []
    for label, (name, files) in enumerate(per_class.items()):
        chosen = list(files)
        random.Random(f"{seed}/{name}").shuffle(chosen)
        n_test = max(1, round(fraction * len(files)))
        if n_test >= len(files):
            raise FolderError(f"{where}: class {name!r} has {len(files)} image(s): too few "
                              f"to keep any for training with test_fraction {fraction}")
        held = set(chosen[:n_test])
        train += [(f"{name}/{f}", label) for f in files if f not in held]
        test += [(f"{name}/{f}", label) for f in files if f in held]
    return train, test


def _stat_key(rel: str, st: os.stat_result) -> str:
    """What says a file is unchanged without reading it: git's index compares the same
    fields against a rewrite that keeps size and mtime (``cp -p``, ``rsync -a``): any write
    sets ctime, and a replaced file has a new inode."""
    return f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\t{st.st_ctime_ns}\t{st.st_ino}"


def _read_cache(cache_file: Path | None) -> tuple[dict[str, str], int]:
    """The cached ``{stat key: sha256}`` and when the cache was written (its mtime, ns);
    empty where there is none or it cannot be read (recomputed, never fatal)."""
    if cache_file is None:
        return {}, 0
    try:
        written = cache_file.stat().st_mtime_ns
    except OSError:
        return {}, 0
    cache = read_json_cache(cache_file)
    if not isinstance(cache, dict) or not all(isinstance(v, str) for v in cache.values()):
        return {}, 0
    return cache, written


def _checksums(root: Path, paths: list[str], cache_file: Path | None) -> dict[str, str]:
    """sha256 of each file, read again where its size, mtime, ctime or inode changed since
    the cache was written, or where it was modified no earlier than the cache's own write
    (git's racy-clean rule: within the clock's resolution a later rewrite could keep all
    of those, so only a file strictly older than the cache is trusted)."""
    cache, written = _read_cache(cache_file)
    out, fresh, racy = {}, {}, False
    for rel in paths:
        st = os.stat(root / rel)
        key = _stat_key(rel, st)
        trusted = key in cache and st.st_mtime_ns < written
        digest = cache[key] if trusted else hashlib.sha256((root / rel).read_bytes()).hexdigest()
        out[rel], fresh[key] = digest, digest
        racy |= key in cache and not trusted
    # Rewritten when anything changed, and after a racy entry, so that the cache's write
    # time moves past that file's mtime and it is trusted from the next start on.
    if cache_file is not None and (fresh != cache or racy):
        write_json_cache(cache_file, fresh)
    return out


def list_folder(root, test_fraction: float | None, split_seed: int = 0, where: str = "",
                cache_dir: Path | None = None) -> FolderListing:
    """The dataset a folder holds. ``test_fraction``: used when the folder has no
    ``train/`` + ``test/`` split of its own; ``where``: the config key, for messages."""
    root = Path(root)
    where = where or str(root)
    if (root / "train").is_dir() and (root / "test").is_dir():
        train_files = _class_files(root / "train", where)
        test_files = _class_files(root / "test", where, at_least=1)
        missing = sorted(set(train_files) - set(test_files))
        extra = sorted(set(test_files) - set(train_files))
        if missing or extra:
            raise FolderError(
                f"{where}: {root}/test " + (f"has no class folder for {missing}" if missing
                                            else f"has classes {extra} that train/ has not")
                + ": train/ and test/ must hold the same classes")
        classes = tuple(train_files)
        train = [(f"train/{c}/{f}", i) for i, c in enumerate(classes) for f in train_files[c]]
        test = [(f"test/{c}/{f}", i) for i, c in enumerate(classes) for f in test_files[c]]
    else:
        if test_fraction is None:
            raise FolderError(f"{where}: {root} has no train/ and test/ folders; set "
                              f"test_fraction to split it")
        per_class = _class_files(root, where)
        classes = tuple(per_class)
        train, test = _split(per_class, test_fraction, split_seed, where)
    paths = [p for p, _ in train + test]
    cache_file = (Path(cache_dir) / f"folder-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]}.json"
                  if cache_dir else None)
    sums = _checksums(root, paths, cache_file)
    h = hashlib.sha256(json.dumps([classes, train, test]).encode())
    for p in sorted(paths):
        h.update(f"{p}\t{sums[p]}\n".encode())
    return FolderListing(str(root), classes, tuple(train), tuple(test), h.hexdigest()[:16])


# PIL's modes of more than 8 bits per grey value, with the largest value each can hold
# (a 16-bit PNG opens as "I;16" or, in older Pillow, "I" holding 16-bit values).
WIDE_GREY = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _eight_bit(im):
    """A 16-bit grey image scaled to 8 bits by its depth (PIL's own conversion to "L"
    clips every value above 255 to white); any other image as it is."""
    import numpy as np
    from PIL import Image

    top = WIDE_GREY.get(im.mode)
    if top is None:
        return im
    values = np.asarray(im, dtype=np.float64)
    return Image.fromarray(np.clip(np.rint(values * 255 / top), 0, 255).astype(np.uint8), "L")


def _load(task):
    """One image as uint8 C x H x W (a worker's unit of work)."""
    import numpy as np
    from PIL import Image

    path, size, channels = task
    try:
        with Image.open(path) as im:
            im = _eight_bit(im).convert("L" if channels == 1 else "RGB")
            if im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.uint8)
    except Exception as e:  # noqa: BLE001 - any failure names the file
        raise FolderError(f"unreadable image {path}: {type(e).__name__}: {e}") from None
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def read_folder(listing: FolderListing, size: tuple[int, int], channels: int,
                progress=None, workers: int = 1) -> dict:
    """The listing's images as the arrays of a prepared dataset, with a progress bar on
    ``progress``; ``workers`` processes decode in parallel, in the listing's order."""
    import numpy as np
    from tqdm import tqdm

    root = Path(listing.root)
    parts = {}
    for split in ("train", "test"):
        items = getattr(listing, split)
        tasks = [(root / p, tuple(size), channels) for p, _ in items]
        bar = tqdm(total=len(tasks), desc=f"{split} images", file=progress, mininterval=1.0,
                   unit="img")
        images = np.empty((len(tasks), channels, *size), dtype=np.uint8)
        if workers > 1:
            from multiprocessing import get_context

            with get_context("fork").Pool(workers) as pool:
                for i, image in enumerate(pool.imap(_load, tasks, chunksize=256)):
                    images[i] = image
                    bar.update()
        else:
            for i, task in enumerate(tasks):
                images[i] = _load(task)
                bar.update()
        bar.close()
        parts[f"{split}_images"] = images
        parts[f"{split}_labels"] = np.array([label for _, label in items], dtype=np.int64)
    return parts
