"""Where a result came from: library versions, device, git commit, and whether the
installed packages are the ones the project's lock file pins."""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPO = Path(__file__).resolve().parents[2]
# The environment the project is tested with, for the platform CI runs on (Makefile,
# `make lock` regenerates it; docs/tests.md). Other platforms install from pyproject's
# ranges and are told so.
LOCK = REPO / "locks" / "linux-x86_64-py311.txt"
LOCK_PLATFORM = ("linux", "x86_64", (3, 11))


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
    env = lock_status()
    return {"torch_version": torch.__version__, "device": str(device),
            "device_name": device_name(device), "threads": torch.get_num_threads(),
            "git_commit": commit, "git_dirty": dirty,
            "lock_digest": env["lock_digest"], "matches_lock": env["matches_lock"],
            "lock_differs": env["differs"]}


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


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path = LOCK, text: str | None = None) -> dict[str, str]:
    """``{package: version}`` of a lock file's ``name==version`` lines (``text``: the
    file's content, where the caller has read it already)."""
    pins = {}
    for line in (Path(path).read_text() if text is None else text).splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            pins[_normalized(m.group(1))] = m.group(2)
    return pins


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by normalized name, read from the names of
    the ``<name>-<version>.dist-info`` folders on the import path (what pip writes):
    reading each package's metadata instead took half a second, paid at every start."""
    found: dict[str, str] = {}
    for entry in sys.path:
        folder = Path(entry or ".")
        if not folder.is_dir():
            continue
        for info in folder.glob("*.dist-info"):
            name, _, version = info.name[:-len(".dist-info")].partition("-")
            found.setdefault(_normalized(name), version)  # the first on the path wins
    return found


def lock_status(path: Path = LOCK) -> dict:
    """Whether the installed packages are the lock's: ``lock_digest`` (its first 16 hex
    digits of SHA-256; None where this platform has no lock), ``matches_lock`` (None there
    too) and ``differs`` (each package whose installed version is not the lock's)."""
    machine = (sys.platform, platform.machine(), sys.version_info[:2])
    if machine != LOCK_PLATFORM or not Path(path).is_file():
        return {"lock_digest": None, "matches_lock": None, "differs": []}
    content = Path(path).read_bytes()  # read once: digested and parsed
    pins, installed = lock_pins(path, content.decode()), installed_versions()
    differs = [f"{name} {installed.get(name, 'not installed')} (lock {version})"
               for name, version in sorted(pins.items())
               if installed.get(name, "").split("+")[0] != version.split("+")[0]]
    return {"lock_digest": hashlib.sha256(content).hexdigest()[:16],
            "matches_lock": not differs, "differs": differs}


def lock_notice(status: dict) -> str | None:
    """One line for a workflow started where the installed packages are not the lock's
    (not an error: results may still be right, but are not what the project tested)."""
    if status["lock_digest"] is None:
        return (f"cnnlab: no lock file for this platform ({sys.platform}, "
                f"{platform.machine()}, Python {sys.version_info[0]}.{sys.version_info[1]}); "
                f"the packages are whatever pyproject.toml's ranges resolved")
    if status["matches_lock"]:
        return None
    shown = ", ".join(status["differs"][:3]) + (", ..." if len(status["differs"]) > 3 else "")
    return (f"cnnlab: {len(status['differs'])} installed package(s) differ from "
            f"{LOCK.relative_to(REPO)} ({shown}); `make test` installs the locked versions")
