"""What an export holds of a build, whatever the tracker: each variant with its seeds'
runs, each run's settings as flat parameters and its final metrics, and a digest that
changes exactly when the run's files change (so an unchanged variant is not rewritten)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cnnlab.analysis.build import COMPARED_RUN_FILES, VARIANT_KEYS, Build, run_folder
from cnnlab.analysis.comparison import IDENTITY_KEYS, flatten
from cnnlab.analysis.statistics import ci_half_width

# Part of every variant's digest: raised when an export's content changes (names, metrics),
# so that the next export rewrites what an earlier version wrote.
EXPORT_FORMAT = "2"
# Columns that are an axis of a table, not a series of it.
AXES = {"step", "epoch"}
# A run's final numbers worth a metric (metrics.json's numeric entries but bookkeeping).
NOT_METRICS = {"diverged", "diverged_epoch", "threads", "git_dirty"}


@dataclass
class Run:
    name: str          # runs/<study>/<dataset>/<variant>/seed<N>: its identity in a tracker
    folder: Path
    seed: int
    diverged: bool     # left out of the variant's mean, as in the report
    params: dict       # the spec, flattened, values as text-safe scalars
    final: dict        # numeric final metrics
    history: pd.DataFrame
    curve: pd.DataFrame


@dataclass
class Variant:
    study: str
    dataset: str
    variant: str
    label: str
    runs: list[Run]
    digest: str

    @property
    def name(self) -> str:
        return f"{self.study}/{self.dataset}/{self.variant}"

    def summary_metrics(self) -> dict:
        """Mean test accuracy over the seeds with its 95% interval and n (the report's)."""
        acc = [r.final["test_acc"] for r in self.runs if "test_acc" in r.final
               and not r.diverged]
        mean = sum(acc) / len(acc) if acc else float("nan")
        half = ci_half_width(acc)
        out = {"test_acc_mean": mean, "test_acc_ci95_half": half,
               "test_acc_ci95_low": mean - half, "test_acc_ci95_high": mean + half,
               "n": float(len(acc))}
        return {k: v for k, v in out.items() if math.isfinite(v)}


def param_value(value):
    """A parameter as trackers take it: numbers, text and booleans; the rest as text."""
    if value is None:
        return "none"
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def read_run(build: Build, row) -> Run:
    metrics = build.metrics(row)
    spec = {k: v for k, v in metrics.get("spec", {}).items() if k not in IDENTITY_KEYS - {"seed"}}
    final = {k: float(v) for k, v in metrics.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in NOT_METRICS
             and math.isfinite(v)}
    return Run(name=str(run_folder(row)), folder=build.run_path(row), seed=int(row["seed"]),
               diverged=bool(metrics.get("diverged")),
               params={k: param_value(v) for k, v in flatten(spec).items()}, final=final,
               history=build.table(row, "history.csv"), curve=build.table(row, "curve.csv"))


def variants(build: Build) -> list[Variant]:
    """Every variant of the build, in summary.csv's order, label from summary.csv."""
    out = []
    for key, rows in build.summary.groupby(VARIANT_KEYS, sort=False):
        runs = [read_run(build, row) for _, row in rows.iterrows()]
        digest = hashlib.sha256(EXPORT_FORMAT.encode())
        for run in runs:
            for name in COMPARED_RUN_FILES:
                if (run.folder / name).is_file():
                    digest.update((run.folder / name).read_bytes())
        digest.update(str(rows["label"].iloc[0]).encode())
        out.append(Variant(*key, label=str(rows["label"].iloc[0]), runs=runs,
                           digest=digest.hexdigest()[:16]))
    return out


def series(table: pd.DataFrame, step: str):
    """(column, step, value) of every finite number of a per-epoch or per-step table."""
    if table.empty or step not in table:
        return
    for column in table.columns:
        if column in AXES or not pd.api.types.is_numeric_dtype(table[column]):
            continue
        for s, v in zip(table[step], table[column]):
            if pd.notna(v) and math.isfinite(v):
                yield column, int(s), float(v)
