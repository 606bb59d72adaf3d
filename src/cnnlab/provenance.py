"""Where a result came from: library versions, device, git commit."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPO = Path(__file__).resolve().parents[2]


def git_commit(repo: Path = REPO) -> tuple[str, bool]:
    """The checkout's commit and whether its tree has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                              text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown", False
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return head.stdout.strip(), dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        import torch  # here, not at the top: the report reads versions without PyTorch

        return torch.cuda.get_device_name(device)
    return cpu_model()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_provenance(device: torch.device) -> dict:
    """Where and with what a run computed; ``threads``: what PyTorch ran with, read from it
    (not what the job asked for)."""
    import torch  # here, not at the top: the report reads versions without PyTorch

    commit, dirty = git_commit()
    return {"torch_version": torch.__version__, "device": str(device),
            "device_name": device_name(device), "threads": torch.get_num_threads(),
            "git_commit": commit, "git_dirty": dirty}


LIBRARIES = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "seaborn", "jinja2",
             "snakemake")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions
