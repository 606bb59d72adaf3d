"""The memory this machine has for training jobs, read without PyTorch (at every workflow
start: importing PyTorch to ask CUDA would cost seconds, and must not initialise CUDA
before a job chooses its GPU): the machine's available memory from the kernel, the GPUs'
from nvidia-smi."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes of memory available to new processes without swapping (Linux's MemAvailable:
    free memory and the page cache it can drop), else the physical memory; None where
    neither can be read."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def smallest_gpu_memory() -> int | None:
    """Bytes of memory of this machine's smallest NVIDIA GPU (a job may get any of them);
    None where there is no GPU or nvidia-smi cannot say."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total",
                              "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    sizes = [int(line) for line in out.stdout.split() if line.strip().isdigit()]
    return min(sizes) * 2**20 if out.returncode == 0 and sizes else None
