"""What the benchmark scripts share: the repository's library on the path, the runs of
config.yaml at a scale, and a prepared dataset (real from a mirror, else synthetic)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(REPO / "src"))

from cnnlab.config import expand_runs  # noqa: E402
from cnnlab.datasets import Prepared, load_prepared, prepare  # noqa: E402


def config_runs(scale: str = "quick") -> dict[str, dict]:
    """Every run's spec, as the workflow would train it at ``scale``."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["scale"] = scale
    return expand_runs(config)


def prepared(name: str, mirror: Path | None, folder: Path) -> tuple[Path, Prepared]:
    """Prepare ``name`` into ``folder`` the workflow's way: from the mirror when given,
    else synthetic data of the same shapes. Returns the file and its contents."""
    path = Path(folder) / f"{name}.npz"
    prepare(name, path, "mirror" if mirror else "synthetic", mirror=mirror)
    return path, load_prepared(path)
