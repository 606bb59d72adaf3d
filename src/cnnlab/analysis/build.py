"""A finished build read back from disk: its ``summary.csv`` and each run's folder.

A build is any folder laid out like ``results/``: ``summary.csv`` (one row per run) and
``runs/<study>/<dataset>/<variant>/seed<N>/`` holding the run's ``metrics.json``,
``history.csv`` and ``curve.csv``. A snapshot (``cnnlab snapshot``) keeps exactly that, so a
snapshot and a whole results folder are read alike. A project folder (holding
``results/``) is accepted too. Nothing here imports PyTorch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cnnlab.files import path_problem

# What identifies a variant across builds; a run is a variant and a seed.
VARIANT_KEYS = ["study", "dataset", "variant"]
# The per-run files a comparison (and an export) reads; checkpoints and data are left out.
COMPARED_RUN_FILES = ("metrics.json", "history.csv", "curve.csv")


class BuildError(ValueError):
    """A folder that is not a cnnlab build, with the file that is missing or unreadable."""


def run_folder(row) -> Path:
    """A run's folder relative to the build, from its summary row."""
    return Path("runs", row["study"], row["dataset"], row["variant"], f"seed{int(row['seed'])}")


@dataclass(frozen=True)
class Build:
    root: Path
    summary: pd.DataFrame

    def run_path(self, row) -> Path:
        return self.root / run_folder(row)

    def metrics(self, row) -> dict:
        path = self.run_path(row) / "metrics.json"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise BuildError(f"{path}: cannot read the run's metrics ({e})") from None

    def table(self, row, name: str) -> pd.DataFrame:
        """A run's ``history.csv`` or ``curve.csv`` (empty when the build lacks it)."""
        path = self.run_path(row) / name
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def build_root(path) -> Path:
    """The folder holding ``summary.csv``: ``path`` itself or its ``results/``."""
    path = Path(path)
    if problem := path_problem(path):
        raise BuildError(f"{path} {problem}")
    if not (path / "summary.csv").is_file() and (path / "results" / "summary.csv").is_file():
        return path / "results"
    return path


def read_build(path) -> Build:
    """The build in ``path`` (a results folder, a snapshot or a project folder). Every run
    summary.csv lists must have its ``metrics.json``: a half-copied build is an error
    naming the first missing file, not a silently smaller comparison."""
    root = build_root(path)
    summary_file = root / "summary.csv"
    if not summary_file.is_file():
        raise BuildError(f"{summary_file} does not exist: {path} is not a cnnlab build "
                         f"(give a results folder or a snapshot)")
    try:
        # Names stay text even where one looks like a number (a variant named "16").
        summary = pd.read_csv(summary_file, dtype={k: str for k in [*VARIANT_KEYS, "label"]})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise BuildError(f"{summary_file}: not a summary table ({e})") from None
    missing = [c for c in [*VARIANT_KEYS, "seed", "label", "test_acc"] if c not in summary]
    if missing:
        raise BuildError(f"{summary_file}: not a cnnlab summary (no column {missing[0]!r})")
    build = Build(root, summary)
    for _, row in summary.iterrows():
        if not (metrics := build.run_path(row) / "metrics.json").is_file():
            raise BuildError(f"{metrics} does not exist (summary.csv lists the run)")
    return build
