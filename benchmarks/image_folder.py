"""Preparation speed of a folder of the user's own images: 50,000 PNGs of 32x32 (CIFAR-10's
training images from the offline mirror, or random pixels without one) listed (names,
sizes, checksums) and decoded into the prepared arrays, with 1 and 2 worker processes.

    python benchmarks/image_folder.py [--mirror ../shared/datasets] [--images 50000]
                                      [--record [DIR]]

Prints images/s of each step (median of --rounds) and the ratio of 2 workers to 1; --record
writes them as a record (benchmarks/records.py) and renders BENCHMARKS.md again.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.data.image_folder import list_folder, read_folder
from records import add_record_option, figure, write_record


def export(images: np.ndarray, labels: np.ndarray, root: Path) -> None:
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{i:05d}.png")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path)
    ap.add_argument("--images", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    add_record_option(ap)
    args = ap.parse_args(argv)
    if args.mirror:
        from cnnlab.data.sources import read_cifar10_mirror

        data = read_cifar10_mirror(args.mirror / "cifar10")
        images, labels = data["train_images"][:args.images], data["train_labels"][:args.images]
        what = "CIFAR-10 training images"
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (args.images, 3, 32, 32), dtype=np.uint8)
        labels = np.arange(args.images) % 10
        what = "random 32x32 RGB images"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "folder"
        start = time.perf_counter()
        export(images, labels, root)
        print(f"exported {len(images):,} {what} as PNG in {time.perf_counter() - start:.1f} s")
        listing_s, read_s = [], {1: [], 2: []}
        for _ in range(args.rounds):
            start = time.perf_counter()
            listing = list_folder(root, test_fraction=0.2)  # no cache: every checksum read
            listing_s.append(time.perf_counter() - start)
            for workers in (1, 2):
                start = time.perf_counter()
                parts = read_folder(listing, (32, 32), 3, progress=io.StringIO(),
                                    workers=workers)
                read_s[workers].append(time.perf_counter() - start)
        n = len(parts["train_labels"]) + len(parts["test_labels"])
        assert n == len(images)
        lst = statistics.median(listing_s)
        one, two = statistics.median(read_s[1]), statistics.median(read_s[2])
        print(f"listing with checksums: {n / lst:,.0f} images/s ({lst:.2f} s)")
        print(f"decoding, 1 worker: {n / one:,.0f} images/s ({one:.2f} s)")
        print(f"decoding, 2 workers: {n / two:,.0f} images/s ({two:.2f} s); "
              f"{one / two:.2f}x one worker")
        print(f"whole preparation (listing + 2 workers): {n / (lst + two):,.0f} images/s "
              f"(median of {args.rounds})")
    if args.record:
        steps = [("listing with checksums (names, sizes, sha256)", lst),
                 ("decoding, 1 worker", one), ("decoding, 2 workers", two),
                 ("whole preparation (listing + 2 workers)", lst + two)]
        figures = [item for step, seconds in steps for item in (
            figure("speed", round(n / seconds), "images/s", step),
            figure("time", round(seconds, 2), "s", step))]
        figures.append(figure("vs 1 worker", round(one / two, 2), "x", "decoding, 2 workers"))
        write_record("data_preparation", figures, args.record,
                     note=f"{n:,} {what} as PNGs; median of {args.rounds}")


if __name__ == "__main__":
    main()
