"""Training throughput (images/s): cnnlab's training loop vs the textbook loop, side by side.

The textbook loop is what the PyTorch tutorials teach: a torchvision dataset (PIL image per
sample) with ToTensor + Normalize, a DataLoader, and ``loss.item()`` every step. cnnlab's is
``cnnlab.training.loop.Trainer`` itself: uint8 tensors in memory, one vectorized
index-convert-normalize per batch, channels_last, a fused optimizer, no per-step host
synchronization, and
(its default, ``precision: auto``) bf16 autocast where the CPU has AMX; it is measured in
fp32 too, so each gain can be told apart.
Same model, batch size, optimizer and torch threads; the second of two epochs is timed (the
first pays for allocator and oneDNN warm-up); rounds alternate the two loops, and the
median of the rounds is printed.

    python benchmarks/throughput.py [--mirror ../shared/datasets] [--threads 2] [--rounds 3]
                                    [--record [DIR]]   # its record, for BENCHMARKS.md

CIFAR-10: torchvision's CIFAR10 class reads only the pickled Python version, which cnnlab
never unpickles; ``TorchvisionStyleCIFAR`` below does what its ``__getitem__`` does
(``Image.fromarray`` per sample, then the transform) on the real binary-version images.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets, transforms

from common import DEFAULT_MIRROR, config_runs, prepared, short_trainer
from records import add_record_option, figure, write_record

from cnnlab.plan.config import run_dir  # noqa: E402
from cnnlab.models.registry import build_model  # noqa: E402
from cnnlab.training.device import configure_threads, has_fast_bf16  # noqa: E402

# (dataset, task1 variant) whose model and training settings are measured; the CIFAR-10
# simple CNN is not in Task 1, so it borrows MNIST's CNN arguments.
CASES = [("mnist", "mlp"), ("mnist", "cnn"), ("mnist", "resnet"),
         ("cifar10", "mlp"), ("cifar10", "cnn"), ("cifar10", "resnet")]


class TorchvisionStyleCIFAR(Dataset):
    def __init__(self, images, labels, transform):
        self.images = images.transpose(0, 2, 3, 1)  # N, H, W, C as torchvision keeps it
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def case_spec(runs, dataset, variant):
    if (dataset, variant) == ("cifar10", "cnn"):
        spec = runs[run_dir("task1", "cifar10", "mlp", 0)]
        cnn = runs[run_dir("task1", "mnist", "cnn", 0)]
        return {**spec, "model": cnn["model"], "model_args": cnn["model_args"]}
    return runs[run_dir("task1", dataset, variant, 0)]


def textbook_dataset(name, data, mirror, root):
    mean = (data.train_images / 255.0).mean(axis=(0, 2, 3)).tolist()
    std = (data.train_images / 255.0).std(axis=(0, 2, 3)).tolist()
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    if name == "mnist" and mirror:  # torchvision's own MNIST class on the mirror's files
        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for gz in (mirror / "mnist").glob("*.gz"):
            with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)
        return datasets.MNIST(root, train=True, transform=tf)
    if name == "mnist":
        return TorchvisionStyleCIFAR(data.train_images.repeat(3, 1), data.train_labels,
                                     transforms.Compose([lambda im: im.convert("L"), tf]))
    return TorchvisionStyleCIFAR(data.train_images, data.train_labels, tf)


def textbook_images_per_s(dataset, spec, in_shape, images, workers):
    t = spec["training"]
    model = build_model(spec["model"], in_shape, 10, **spec["model_args"])
    # The optimizer as tutorials write it (PyTorch's default, unfused implementation).
    optimizer = torch.optim.SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"],
                                nesterov=True, weight_decay=t["weight_decay"])
    loader = DataLoader(Subset(dataset, range(images)), batch_size=t["batch_size"],
                        shuffle=True, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0)
    seconds = []
    for _ in range(2):
        model.train()
        start, running = time.perf_counter(), 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item()
        seconds.append(time.perf_counter() - start)
    return len(loader) * t["batch_size"] / seconds[-1]


def cnnlab_images_per_s(data, spec, images, precision="auto"):
    trainer = short_trainer(data, spec, images, epochs=2, precision=precision)
    state = trainer.run()
    batches = trainer.rd.train
    return len(batches) * batches.batch_size / state.history[-1]["seconds"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR,
                    help="offline mirror (synthetic data of the same shapes if missing)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=3840, help="per epoch, CNNs")
    ap.add_argument("--mlp-images", type=int, default=12800, help="per epoch, MLPs")
    add_record_option(ap)
    args = ap.parse_args(argv)
    configure_threads(args.threads)

    runs = config_runs("quick")
    mirror = args.mirror if args.mirror.is_dir() else None
    print(f"data: {'real, from ' + str(mirror) if mirror else 'synthetic'}; "
          f"{args.threads} torch threads; median of {args.rounds} rounds")

    rows = []
    with tempfile.TemporaryDirectory() as root:
        for name in ("mnist", "cifar10"):
            _, data = prepared(name, mirror, Path(root))
            textbook = textbook_dataset(name, data, mirror, f"{root}/{name}")
            for ds, variant in (c for c in CASES if c[0] == name):
                spec = case_spec(runs, ds, variant)
                images = min(len(data.train_labels),
                             args.mlp_images if variant == "mlp" else args.images)
                ours, fp32, book0, book2 = [], [], [], []
                for _ in range(args.rounds):
                    ours.append(cnnlab_images_per_s(data, spec, images))
                    fp32.append(cnnlab_images_per_s(data, spec, images, "fp32"))
                    book0.append(textbook_images_per_s(textbook, spec, data.train_images.shape[1:],
                                                       images, 0))
                    book2.append(textbook_images_per_s(textbook, spec, data.train_images.shape[1:],
                                                       images, 2))
                row = [ds, spec["model"], statistics.median(book0), statistics.median(book2),
                       statistics.median(fp32), statistics.median(ours)]
                rows.append(row)
                print(f"  {ds:8s} {spec['model']:13s} textbook {row[2]:8.0f} img/s (0 workers) "
                      f"{row[3]:8.0f} (2 workers) | cnnlab fp32 {row[4]:8.0f}, default "
                      f"{row[5]:8.0f} | {row[5] / max(row[2], row[3]):.2f}x", flush=True)

    print(f"\ncnnlab's default precision here: {precision_here()}")
    print("| dataset | model | textbook, 0 workers | textbook, 2 workers | cnnlab fp32 | cnnlab default "
          "| fp32 / best textbook | default / best textbook |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for ds, model, b0, b2, fp32, ours in rows:
        best = max(b0, b2)
        print(f"| {ds} | {model} | {b0:,.0f} | {b2:,.0f} | {fp32:,.0f} | {ours:,.0f} "
              f"| {fp32 / best:.2f}x | {ours / best:.2f}x |")
    if args.record:
        write_record("training_loop", [
            item for ds, model, b0, b2, fp32, ours in rows for item in (
                figure("textbook, 0 workers", round(b0), "images/s", f"{ds} {model}"),
                figure("textbook, 2 workers", round(b2), "images/s", f"{ds} {model}"),
                figure("cnnlab fp32", round(fp32), "images/s", f"{ds} {model}"),
                figure("cnnlab default", round(ours), "images/s", f"{ds} {model}"),
                figure("fp32 / best textbook", round(fp32 / max(b0, b2), 2), "x", f"{ds} {model}"),
                figure("default / best textbook", round(ours / max(b0, b2), 2), "x",
                       f"{ds} {model}"))],
            args.record,
            note=f"{args.threads} threads; {args.images:,} images per epoch for CNNs, "
                 f"{args.mlp_images:,} for MLPs; cnnlab's default here: {precision_here()}; "
                 f"{'real' if mirror else 'synthetic'} data; median of {args.rounds} rounds")


def precision_here() -> str:
    return "bf16 autocast" if has_fast_bf16(torch.device("cpu")) else "fp32"


if __name__ == "__main__":
    main()
