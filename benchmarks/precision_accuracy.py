"""Does bf16 autocast change what the quick report measures? Trains quick-scale runs of
config.yaml exactly as the workflow would (every seed, the run's own spec, 1 thread per
run, two runs side by side) once in fp32 and once in bf16, and prints each variant's test
accuracy over the seeds in both precisions, the difference of the means and the seed
spread it is to be compared with.

    python benchmarks/precision_accuracy.py [--mirror ../shared/datasets]
        [--cases task1/mnist/cnn,task2_depth/cifar10/residual-depth8] [--workers 2]

On a CPU without bf16 instructions bf16 is emulated and about 10x slower (precision.py);
the accuracies still answer the question, only the wall time is long.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import DEFAULT_MIRROR, case_specs

from cnnlab.data.prepared import load_prepared  # noqa: E402
from cnnlab.training.loop import run_training  # noqa: E402

DEFAULT_CASES = "task1/mnist/cnn,task2_depth/cifar10/residual-depth8"


def train(job) -> tuple[str, str, int, float]:
    case, precision, spec, data_path = job
    spec = {**spec, "training": {**spec["training"], "precision": precision, "device": "cpu"}}
    with tempfile.TemporaryDirectory() as out:
        metrics = run_training(spec, load_prepared(data_path), Path(out), threads=1,
                               progress=io.StringIO())
    return case, precision, spec["seed"], metrics["test_acc"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    mirror = Path(args.mirror) if os.path.isdir(args.mirror) else None
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-precision-"))
    jobs = [(case, p, spec, data) for case, spec, data in case_specs(args.cases, mirror, folder)
            for p in ("fp32", "bf16")]
    acc: dict[tuple[str, str], list[float]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for case, precision, seed, test_acc in pool.map(train, jobs):
            acc.setdefault((case, precision), []).append(test_acc)
            print(f"{case} seed {seed} {precision}: {100 * test_acc:.2f}%", flush=True)
    print(f"\n| run | fp32 test acc | bf16 test acc | bf16 - fp32 | fp32 seed sd | seeds |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in args.cases.split(","):
        f, b = acc[(case, "fp32")], acc[(case, "bf16")]
        sd = statistics.stdev(f) if len(f) > 1 else float("nan")
        print(f"| {case} | {100 * statistics.mean(f):.2f}% | {100 * statistics.mean(b):.2f}% | "
              f"{100 * (statistics.mean(b) - statistics.mean(f)):+.2f} | {100 * sd:.2f} | "
              f"{len(f)} |")


if __name__ == "__main__":
    main()
