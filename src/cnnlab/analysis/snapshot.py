"""Keep what a later comparison needs of a build, and nothing heavy: ``summary.csv`` and
each run's ``metrics.json``, ``history.csv`` and ``curve.csv``, in the build's own layout
(so a snapshot is read like a results folder). Checkpoints and prepared data stay behind."""

from __future__ import annotations

import shutil
from pathlib import Path

from cnnlab.analysis.build import COMPARED_RUN_FILES, BuildError, read_build, run_folder


def snapshot(results, to, replace: bool = False) -> tuple[int, int]:
    """Copy the build in ``results`` to the folder ``to``; returns (files, bytes). An
    existing ``to`` is an error unless ``replace`` (then it is emptied first)."""
    build = read_build(results)
    to = Path(to)
    occupied = any(to.iterdir()) if to.is_dir() else to.exists()
    if occupied:
        if not replace:
            raise BuildError(f"{to} already exists (choose another name, or --replace it)")
        shutil.rmtree(to) if to.is_dir() else to.unlink()
    # Written beside the target and renamed at the end: an interrupted snapshot never
    # looks like a complete one.
    partial = to.with_name(to.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    files = [Path("summary.csv")] + [run_folder(row) / name
                                     for _, row in build.summary.iterrows()
                                     for name in COMPARED_RUN_FILES
                                     if (build.root / run_folder(row) / name).is_file()]
    size = 0
    for file in files:
        (partial / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build.root / file, partial / file)
        size += (partial / file).stat().st_size
    to.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(to)
    return len(files), size
