"""One GPU per concurrent training job on a multi-GPU workstation.

Snakemake counts a `gpu` resource (``--resources gpu=4``) but does not say *which* GPU a
job may use. Each job therefore claims a free GPU slot by an exclusive file lock and
exposes only that device through ``CUDA_VISIBLE_DEVICES``; as long as no more jobs than
GPUs run at once (which the resource guarantees), every job finds a free slot. Under
SLURM, which sets ``CUDA_VISIBLE_DEVICES`` itself, nothing is claimed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from pathlib import Path


def visible_gpu_count() -> int:
    """GPUs on this machine, from nvidia-smi (not torch: CUDA must not be initialised
    before CUDA_VISIBLE_DEVICES is set)."""
    if not shutil.which("nvidia-smi"):
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines())


@contextlib.contextmanager
def claim_gpu(lock_dir, wanted: int, count: int | None = None):
    """Hold one GPU slot for the duration of the block; yields its index, or None when
    no GPU was asked for or a scheduler already chose the device."""
    if wanted < 1 or "CUDA_VISIBLE_DEVICES" in os.environ:
        yield None
        return
    count = visible_gpu_count() if count is None else count
    if count == 0:
        yield None  # no GPU here: the job trains on the CPU
        return
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        handle = open(lock_dir / f"gpu{index}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
        try:
            yield index
        finally:
            del os.environ["CUDA_VISIBLE_DEVICES"]
            handle.close()  # closing releases the lock, also when the process dies
        return
    raise RuntimeError(f"all {count} GPUs are claimed by other jobs; run Snakemake with "
                       f"--resources gpu={count} so that no more jobs than GPUs run at once")
