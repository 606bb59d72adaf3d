"""Distance to the machine's limit: each model's achieved training FLOP/s (forward +
backward FLOPs counted by ``torch.utils.flop_counter``, times cnnlab's measured images/s)
as a fraction of this machine's float32 matrix-multiply rate, measured in the same run
with the same threads; training in fp32 and in bf16 autocast (cnnlab's default on CPUs
with AMX), the latter also against the bf16 matmul rate. Rounds alternate the matmul and
the training measurements; medians.

    python benchmarks/machine_limit.py [--mirror ../shared/datasets] [--threads 2]
                                       [--record [DIR]]   # its record, for BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import DEFAULT_MIRROR, config_runs, prepared
from records import add_record_option, figure, write_record
from throughput import CASES, case_spec, cnnlab_images_per_s

from cnnlab.models.registry import build_model  # noqa: E402
from cnnlab.training.device import configure_threads  # noqa: E402


def matmul_flops_per_s(n: int = 2048, repeats: int = 5, dtype=torch.float32) -> float:
    """n x n x n products (2 n^3 FLOPs each); the median of ``repeats``."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
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
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=3840)
    ap.add_argument("--cases", default="mnist/resnet,cifar10/resnet,cifar10/mlp",
                    help="dataset/variant,... of Task 1 (cifar10/cnn: MNIST's CNN on CIFAR)")
    add_record_option(ap)
    args = ap.parse_args(argv)
    configure_threads(args.threads)
    runs = config_runs("quick")
    mirror = args.mirror if args.mirror.is_dir() else None
    cases = [tuple(c.split("/")) for c in args.cases.split(",")]
    assert all(c in CASES for c in cases), f"cases must be among {CASES}"

    print(f"{args.threads} torch threads, {torch.get_num_threads()} in use; "
          f"median of {args.rounds} rounds")
    rows = []
    with tempfile.TemporaryDirectory() as root:
        data = {name: prepared(name, mirror, Path(root))[1]
                for name in sorted({ds for ds, _ in cases})}
        for ds, variant in cases:
            spec = case_spec(runs, ds, variant)
            per_image = training_flops_per_image(spec, data[ds].train_images.shape[1:])
            m = {"peak32": [], "peak16": [], "fp32": [], "bf16": []}
            for _ in range(args.rounds):
                m["peak32"].append(matmul_flops_per_s())
                m["peak16"].append(matmul_flops_per_s(dtype=torch.bfloat16))
                for precision in ("fp32", "bf16"):
                    m[precision].append(per_image * cnnlab_images_per_s(
                        data[ds], spec, args.images, precision))
            m = {k: statistics.median(v) for k, v in m.items()}
            rows.append((ds, spec["model"], per_image, m))
            print(f"  {ds:8s} {spec['model']:13s} {per_image / 1e6:7.1f} MFLOP/img: fp32 "
                  f"{m['fp32'] / 1e9:6.1f} GFLOP/s, bf16 {m['bf16'] / 1e9:6.1f}; matmul fp32 "
                  f"{m['peak32'] / 1e9:6.1f}, bf16 {m['peak16'] / 1e9:6.1f}", flush=True)

    print("\n| dataset | model | MFLOP/image (fwd+bwd) | matmul fp32 GFLOP/s | training fp32 GFLOP/s "
          "| fraction | matmul bf16 GFLOP/s | training bf16 GFLOP/s | fraction of fp32 matmul "
          "| fraction of bf16 matmul |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ds, model, per_image, m in rows:
        print(f"| {ds} | {model} | {per_image / 1e6:.1f} | {m['peak32'] / 1e9:.0f} "
              f"| {m['fp32'] / 1e9:.0f} | {m['fp32'] / m['peak32']:.0%} "
              f"| {m['peak16'] / 1e9:.0f} | {m['bf16'] / 1e9:.0f} "
              f"| {m['bf16'] / m['peak32']:.0%} | {m['bf16'] / m['peak16']:.0%} |")
    if args.record:
        write_record("machine_limit", [item for ds, model, per_image, m in rows for item in (
            figure("training FLOPs per image (fwd+bwd)", round(per_image / 1e6, 1), "MFLOP",
                   f"{ds} {model}"),
            figure("matmul fp32", round(m["peak32"] / 1e9), "GFLOP/s", f"{ds} {model}"),
            figure("training fp32", round(m["fp32"] / 1e9), "GFLOP/s", f"{ds} {model}"),
            figure("fp32 training / fp32 matmul", round(100 * m["fp32"] / m["peak32"]), "%",
                   f"{ds} {model}"),
            figure("matmul bf16", round(m["peak16"] / 1e9), "GFLOP/s", f"{ds} {model}"),
            figure("training bf16", round(m["bf16"] / 1e9), "GFLOP/s", f"{ds} {model}"),
            figure("bf16 training / fp32 matmul", round(100 * m["bf16"] / m["peak32"]), "%",
                   f"{ds} {model}"),
            figure("bf16 training / bf16 matmul", round(100 * m["bf16"] / m["peak16"]), "%",
                   f"{ds} {model}"))],
            args.record, note=f"{args.threads} threads; median of {args.rounds} rounds; "
                              f"{'real' if mirror else 'synthetic'} data")


if __name__ == "__main__":
    main()
