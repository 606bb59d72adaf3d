"""No oversubscription: the same two training jobs (separate processes, as Snakemake runs
them) on this machine's cores, scheduled three ways:

  * two 1-thread jobs at once      (rule threads 1 under --cores 2: what cnnlab does)
  * one 2-thread job, then another (rule threads 2 under --cores 2)
  * two jobs at once with PyTorch's defaults (each takes every core: 2 x 2 threads on 2)

Each job reports the torch threads it ran with; a job must never run more than it was
given. Rounds alternate the schedules; medians of the wall time for both jobs.

    python benchmarks/threads.py [--mirror ../shared/datasets] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import DEFAULT_MIRROR, REPO, config_runs, prepared, short_trainer

from cnnlab.plan.config import run_dir  # noqa: E402
from cnnlab.data.prepared import load_prepared  # noqa: E402
from cnnlab.training.device import configure_threads  # noqa: E402


def job(data_path: str, threads: int, images: int) -> None:
    """One training job; ``threads`` 0 leaves PyTorch's defaults (the naive job)."""
    if threads:
        configure_threads(threads)
    spec = config_runs("quick")[run_dir("task1", "cifar10", "resnet", 0)]
    trainer = short_trainer(load_prepared(data_path), spec, images, epochs=1)
    start = time.perf_counter()
    trainer.run()
    print(json.dumps({"torch_threads": torch.get_num_threads(),
                      "seconds": time.perf_counter() - start}))


def launch(data_path, threads, images):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, __file__, "--job", data_path, str(threads),
                             str(images)], stdout=subprocess.PIPE, text=True, env=env)


def schedule(data_path, threads, concurrent, images):
    """Wall seconds for two jobs, and the threads each used."""
    start = time.perf_counter()
    if concurrent:
        procs = [launch(data_path, threads, images) for _ in range(2)]
        outs = [p.communicate()[0] for p in procs]
    else:
        outs = [launch(data_path, threads, images).communicate()[0] for _ in range(2)]
    wall = time.perf_counter() - start
    return wall, [json.loads(o.strip().splitlines()[-1])["torch_threads"] for o in outs]


SCHEDULES = {"2 jobs x 1 thread, concurrent (cnnlab, --cores 2)": (1, True),
             "1 job x 2 threads, one after the other": (2, False),
             "2 jobs, PyTorch defaults, concurrent (naive)": (0, True)}


def main(argv=None):
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--job":
        return job(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=3840)
    args = ap.parse_args(argv)
    mirror = args.mirror if args.mirror.is_dir() else None
    print(f"{os.cpu_count()} CPUs; two training jobs of {args.images} CIFAR-10 images "
          f"(Task 1 residual CNN) per schedule; median of {args.rounds} rounds")
    walls = {name: [] for name in SCHEDULES}
    with tempfile.TemporaryDirectory() as tmp:
        data_path = str(prepared("cifar10", mirror, Path(tmp))[0])
        for _ in range(args.rounds):
            for name, (threads, concurrent) in SCHEDULES.items():
                wall, used = schedule(data_path, threads, concurrent, args.images)
                walls[name].append(wall)
                if threads:
                    assert all(u == threads for u in used), f"{name}: jobs used {used} threads"
                print(f"  {name}: {wall:.1f} s, torch threads per job {used}", flush=True)
    base = statistics.median(walls["1 job x 2 threads, one after the other"])
    print("\n| schedule | wall s (median) | vs one 2-thread job at a time |")
    print("|---|---:|---:|")
    for name, w in walls.items():
        print(f"| {name} | {statistics.median(w):.1f} | {base / statistics.median(w):.2f}x |")


if __name__ == "__main__":
    main()
