"""How should the quick scale spend its budget? Trains quick-scale runs of config.yaml as
the workflow would (the run's own spec, 1 thread per run, runs side by side), each at
several recipes (training images, epochs, batch size, learning rate), and prints test
accuracy, training seconds and accuracy per training second, so that sizes are chosen from
evidence: more distinct images, more epochs, or a smaller batch?

    python benchmarks/quick_sizing.py [--mirror ../shared/datasets] [--workers 2]
        [--cases task1/cifar10/resnet,task1/cifar10/mlp]
        [--recipes "20000x2/64@0.1,10000x2/64@0.1"] [--seeds 0] [--test-size 2000]
        [--precision auto|fp32|bf16]

A recipe is IMAGESxEPOCHS/BATCH@LR; ``spec`` keeps the run's own setting for a part
(``spec`` alone is the run exactly as config.yaml has it at quick scale). The test accuracy
is measured on the run's own test subset unless ``--test-size`` replaces it.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import DEFAULT_MIRROR, case_specs

from cnnlab.data.prepared import load_prepared  # noqa: E402
from cnnlab.training.device import cpu_bf16_units  # noqa: E402
from cnnlab.training.loop import run_training  # noqa: E402

RECIPE = re.compile(r"(?P<images>\d+|spec)x(?P<epochs>\d+|spec)/(?P<batch>\d+|spec)"
                    r"@(?P<lr>[\d.e-]+|spec)")


def with_recipe(spec: dict, recipe: str, test_size: int | None,
                precision: str = "auto") -> dict:
    """``spec`` with a recipe's sizes in place of its own (``spec``: keep that part)."""
    if recipe == "spec":
        parts = {}
    else:
        m = RECIPE.fullmatch(recipe)
        if not m:
            raise SystemExit(f"recipe {recipe!r} is not IMAGESxEPOCHS/BATCH@LR")
        parts = {k: v for k, v in m.groupdict().items() if v != "spec"}
    t = {**spec["training"], "device": "cpu", "precision": precision}
    d = dict(spec["data"])
    if "images" in parts:
        d["train_size"] = int(parts["images"])
    if test_size:
        d["test_size"] = test_size
    if "epochs" in parts:
        t["epochs"] = int(parts["epochs"])
    if "batch" in parts:
        t["batch_size"] = int(parts["batch"])
    if "lr" in parts:
        t["lr"] = float(parts["lr"])
    return {**spec, "training": t, "data": d}


def train(job) -> tuple[str, str, int, float, float, float]:
    case, recipe, spec, data_path = job
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        metrics = run_training(spec, load_prepared(data_path), Path(out), threads=1,
                               progress=io.StringIO())
    return (case, recipe, spec["seed"], metrics["test_acc"], metrics["train_seconds"],
            time.perf_counter() - start)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    ap.add_argument("--cases", default="task1/cifar10/resnet,task1/cifar10/mlp")
    ap.add_argument("--recipes", default="spec,20000x2/64@0.1")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--test-size", type=int, default=None)
    # fp32 with ONEDNN_MAX_CPU_ISA=AVX2 set measures an AVX2-only CPU's path on a faster one.
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    mirror = Path(args.mirror) if os.path.isdir(args.mirror) else None
    seeds = [int(s) for s in args.seeds.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-sizing-"))
    jobs = [(case, recipe, with_recipe(spec, recipe, args.test_size, args.precision), data)
            for case, spec, data in case_specs(args.cases, mirror, folder)
            if spec["seed"] in seeds for recipe in args.recipes.split(",")]
    # The costliest first, so that the workers finish together.
    jobs.sort(key=lambda j: -(j[2]["data"]["train_size"] or 5e4) * j[2]["training"]["epochs"])
    print(f"{len(jobs)} runs on {args.workers} workers, 1 thread each; CPU bf16 units: "
          f"{cpu_bf16_units() or 'none (AVX2: fp32 under precision auto)'}; "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')}", flush=True)
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for case, recipe, seed, acc, secs, wall in pool.map(train, jobs):
            results.setdefault((case, recipe), []).append((acc, secs, wall))
            print(f"  {case} {recipe} seed {seed}: {100 * acc:.2f}% in {secs:.1f} s of "
                  f"training ({wall:.1f} s in all)", flush=True)
    print("\n| case | recipe | test accuracy (mean) | seeds | train s (median) | "
          "run s (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for (case, recipe), rows in results.items():
        print(f"| {case} | {recipe} | {100 * statistics.mean(r[0] for r in rows):.2f}% | "
              f"{len(rows)} | {statistics.median(r[1] for r in rows):.1f} | "
              f"{statistics.median(r[2] for r in rows):.1f} |")


if __name__ == "__main__":
    main()
