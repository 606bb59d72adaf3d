"""bf16 autocast vs fp32 training speed on this CPU, for the models of the quick report,
and which one ``precision: auto`` picks here.

Each round trains cnnlab's own ``Trainer`` (1 thread, as the workflow's training jobs run;
batch 128, channels_last, fused SGD) for two short epochs in each precision, alternating
the two; the second epoch is timed; the median of the rounds is printed as images/s and as
the bf16/fp32 ratio. oneDNN picks its kernels per CPU: on a machine with AMX, run it again
with ``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16`` (AVX512_BF16 without AMX) or
``ONEDNN_MAX_CPU_ISA=AVX2`` to measure the other kinds of CPU.

    python benchmarks/precision.py [--mirror ../shared/datasets] [--rounds 3] [--images 2560]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile

import torch

from common import DEFAULT_MIRROR, config_runs, prepared, short_trainer

from cnnlab.plan.config import run_dir  # noqa: E402
from cnnlab.training.device import configure_threads, cpu_bf16_units  # noqa: E402

# (study, dataset, variant): the models that take most of the quick report's time.
CASES = [("task1", "cifar10", "resnet"), ("task2_kernel", "cifar10", "k3"),
         ("task2_depth", "cifar10", "plain_bn-depth8"), ("task3", "cifar10", "custom"),
         ("task3", "cifar10", "wide"), ("task1", "mnist", "cnn")]


def images_per_s(data, spec, images: int, precision: str) -> float:
    trainer = short_trainer(data, spec, images, epochs=2, precision=precision)
    state = trainer.run()
    batches = trainer.rd.train  # whole batches only (drop_last)
    return len(batches) * batches.batch_size / state.history[-1]["seconds"]


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=1280)
    ap.add_argument("--cases", help="comma-separated study/dataset/variant (default: all)")
    args = ap.parse_args(argv)
    configure_threads(1)
    mirror = args.mirror if os.path.isdir(args.mirror) else None
    runs = config_runs("quick")
    print(f"CPU: {cpu_name()}; torch CPU capability {torch.backends.cpu.get_cpu_capability()}; "
          f"bf16 units: {cpu_bf16_units() or 'none'}; ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}; data: "
          f"{'real' if mirror else 'synthetic'}; 1 thread; median of {args.rounds} rounds",
          flush=True)
    print("| model | fp32 img/s | bf16 img/s | bf16 / fp32 |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        data = {}
        cases = ([tuple(c.split("/")) for c in args.cases.split(",")] if args.cases
                 else CASES)
        for study, ds, variant in cases:
            if ds not in data:
                data[ds] = prepared(ds, mirror, tmp)[1]
            spec = runs[run_dir(study, ds, variant, 0)]
            speeds = {"fp32": [], "bf16": []}
            for _ in range(args.rounds):
                for precision in speeds:
                    speeds[precision].append(images_per_s(data[ds], spec, args.images,
                                                          precision))
            fp32, bf16 = (statistics.median(speeds[p]) for p in ("fp32", "bf16"))
            print(f"| {study}/{ds}/{variant} | {fp32:,.0f} | {bf16:,.0f} | {bf16 / fp32:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
