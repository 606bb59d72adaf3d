"""What the benchmark scripts share: the repository's library on the path, the runs of
config.yaml at a scale, and a prepared dataset (real from a mirror, else synthetic)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(REPO / "src"))

from cnnlab.plan.config import expand_runs, expand_sweeps  # noqa: E402
from cnnlab.plan.defaults import whole_config  # noqa: E402
from cnnlab.data.prepared import Prepared, load_prepared, prepare  # noqa: E402
from cnnlab.training.loop import Trainer, make_trainer  # noqa: E402


def config_runs(scale: str = "quick") -> dict[str, dict]:
    """Every run's spec, as the workflow would train it at ``scale`` (sweep points included,
    named as their run folders are: ``residual-depth8``)."""
    config = whole_config({"scale": scale})  # cnnlab's defaults and its own studies
    return expand_runs(expand_sweeps(config))


def prepared(name: str, mirror: Path | None, folder: Path) -> tuple[Path, Prepared]:
    """Prepare ``name`` into ``folder`` the workflow's way: from the mirror when given,
    else synthetic data of the same shapes. Returns the file and its contents."""
    path = Path(folder) / f"{name}.npz"
    prepare(name, path, "mirror" if mirror else "synthetic", mirror=mirror)
    return path, load_prepared(path)


def case_specs(cases: str, mirror: Path | None, folder: Path,
               scale: str = "quick") -> list[tuple[str, dict, Path]]:
    """``(case, spec, prepared data file)`` for every seed of each STUDY/DATASET/VARIANT
    of ``cases`` (comma-separated) at ``scale``; each dataset prepared into ``folder``
    once."""
    runs, data_paths, found = config_runs(scale), {}, []
    for case in cases.split(","):
        study, dataset, variant = case.split("/")
        if dataset not in data_paths:
            data_paths[dataset], _ = prepared(dataset, mirror, folder)
        specs = [s for s in runs.values() if (s["study"], s["dataset"], s["variant"])
                 == (study, dataset, variant)]
        if not specs:
            raise SystemExit(f"{case}: no such run at {scale} scale")
        found += [(case, s, data_paths[dataset]) for s in specs]
    return found


def short_trainer(data: Prepared, spec: dict, images: int, epochs: int,
                  precision: str = "auto") -> Trainer:
    """cnnlab's own ``Trainer`` for ``spec`` on the CPU, cut to ``images`` training images
    and ``epochs`` epochs (and a small test subset): the training loop as the workflow
    runs it, sized for a measurement."""
    spec = {**spec, "seed": 0,
            "training": {**spec["training"], "epochs": epochs, "precision": precision,
                         "device": "cpu"},
            "data": {**spec["data"], "train_size": images, "test_size": 200}}
    # The threads the benchmark set stay as they are.
    return make_trainer(spec, data, threads=torch.get_num_threads(), progress=io.StringIO())
