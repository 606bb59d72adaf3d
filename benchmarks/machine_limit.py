"""Distance to the machine's limit: each model's achieved training FLOP/s (forward +
backward FLOPs counted by ``torch.utils.flop_counter``, times cnnlab's measured images/s)
as a fraction of this machine's float32 matrix-multiply rate, measured in the same run
with the same threads. Rounds alternate the matmul and the training measurements; medians.

    python benchmarks/machine_limit.py [--mirror ../shared/datasets] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from throughput import CASES, case_spec, cnnlab_images_per_s  # noqa: E402

from cnnlab.config import expand_runs  # noqa: E402
from cnnlab.datasets import load_prepared, prepare  # noqa: E402
from cnnlab.models import build_model  # noqa: E402
from cnnlab.training import configure_threads  # noqa: E402


def matmul_flops_per_s(n: int = 2048, repeats: int = 5) -> float:
    """float32 n x n x n products (2 n^3 FLOPs each); the median of ``repeats``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times)


def training_flops_per_image(spec: dict, in_shape) -> float:
    """FLOPs of one forward + backward pass, per image (optimizer step not counted: it is
    a few FLOPs per parameter, negligible next to the convolutions)."""
    model = build_model(spec["model"], in_shape, 10, **spec["model_args"])
    x = torch.randn(16, *in_shape)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), torch.zeros(16, dtype=torch.long)).backward()
    return counter.get_total_flops() / 16


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=3840)
    ap.add_argument("--cases", default="mnist/resnet,cifar10/resnet,cifar10/mlp",
                    help="dataset/variant,... of Task 1 (cifar10/cnn: MNIST's CNN on CIFAR)")
    args = ap.parse_args(argv)
    configure_threads(args.threads)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["scale"] = "quick"
    runs = expand_runs(config)
    mirror = args.mirror if args.mirror.is_dir() else None
    cases = [tuple(c.split("/")) for c in args.cases.split(",")]
    assert all(c in CASES for c in cases), f"cases must be among {CASES}"

    print(f"{args.threads} torch threads, {torch.get_num_threads()} in use; "
          f"median of {args.rounds} rounds")
    rows = []
    with tempfile.TemporaryDirectory() as root:
        data = {}
        for name in sorted({ds for ds, _ in cases}):
            prepare(name, Path(root) / f"{name}.npz", "mirror" if mirror else "synthetic",
                    mirror=mirror)
            data[name] = load_prepared(Path(root) / f"{name}.npz")
        for ds, variant in cases:
            spec = case_spec(runs, ds, variant)
            per_image = training_flops_per_image(spec, data[ds].train_images.shape[1:])
            peak, achieved = [], []
            for _ in range(args.rounds):
                peak.append(matmul_flops_per_s())
                achieved.append(per_image * cnnlab_images_per_s(data[ds], spec, args.images))
            p, a = statistics.median(peak), statistics.median(achieved)
            rows.append((ds, spec["model"], per_image, a, p))
            print(f"  {ds:8s} {spec['model']:13s} {per_image / 1e6:7.1f} MFLOP/img  "
                  f"{a / 1e9:6.1f} GFLOP/s of {p / 1e9:6.1f} (matmul) = {a / p:.0%}", flush=True)

    print("\n| dataset | model | MFLOP per image (fwd+bwd) | achieved GFLOP/s | matmul GFLOP/s | fraction |")
    print("|---|---|---:|---:|---:|---:|")
    for ds, model, per_image, a, p in rows:
        print(f"| {ds} | {model} | {per_image / 1e6:.1f} | {a / 1e9:.1f} | {p / 1e9:.1f} | {a / p:.0%} |")


if __name__ == "__main__":
    main()
