"""Training jobs on the GPUs of one workstation: one per GPU, or several sharing each.

Snakemake counts a `gpu` resource (``--resources gpu=4``) but does not say *which* GPU a
job may use. Each job therefore claims a free slot by an exclusive file lock and exposes
only that slot's device through ``CUDA_VISIBLE_DEVICES``; as long as no more jobs run at
once than there are slots (which the resource guarantees), every job finds one. A GPU has
``jobs_per_gpu`` slots (config.yaml; 1 by default): small networks leave a large GPU mostly
idle, and several of them side by side keep it busier. Slots are handed out GPU by GPU in
turn (slot 0 of every GPU before slot 1 of any), so jobs spread over the devices. Under
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
def claim_gpu(lock_dir, wanted: int, count: int | None = None, jobs_per_gpu: int = 1):
    """Hold one GPU slot for the duration of the block; yields its GPU's index, or None
    when no GPU was asked for or a scheduler already chose the device."""
    if wanted < 1 or "CUDA_VISIBLE_DEVICES" in os.environ:
        yield None
        return
    count = visible_gpu_count() if count is None else count
    if count == 0:
        yield None  # no GPU here: the job trains on the CPU
        return
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(jobs_per_gpu):
        for index in range(count):
            name = f"gpu{index}.lock" if slot == 0 else f"gpu{index}.slot{slot}.lock"
            handle = open(lock_dir / name, "w")
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
    slots = count * jobs_per_gpu
    raise RuntimeError(f"all {slots} GPU slots ({count} GPUs x jobs_per_gpu {jobs_per_gpu}) "
                       f"are claimed by other jobs; run Snakemake with --resources "
                       f"gpu={slots} so that no more jobs than slots run at once")
