"""Did a change help? Two builds of the same studies, variant by variant: each build's
seeds, the difference of mean test accuracy (current minus baseline) with Welch's test
and interval, whether it is resolved (``statistics.Comparison.resolved``, the report's own
rule), and what differs in the runs' settings. Variants are matched by (study, dataset,
variant); labels come from summary.csv (display only, so a relabelled variant is the same
variant). Plain pandas and scipy: no PyTorch anywhere on this path.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from cnnlab.analysis.build import VARIANT_KEYS, Build
from cnnlab.analysis.statistics import Comparison, welch

# Spec keys that identify a run or only name it: never a change of what was trained.
IDENTITY_KEYS = {"study", "dataset", "variant", "seed", "label", "sweep"}


@dataclass
class VariantComparison:
    study: str
    dataset: str
    variant: str
    label: str
    baseline: list[float]
    current: list[float]
    test: Comparison
    changes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.study, self.dataset, self.variant

    @property
    def baseline_mean(self) -> float:
        return sum(self.baseline) / len(self.baseline) if self.baseline else float("nan")

    @property
    def current_mean(self) -> float:
        return sum(self.current) / len(self.current) if self.current else float("nan")


@dataclass
class BuildComparison:
    variants: list[VariantComparison]
    only_baseline: list[tuple[str, str, str, str]]  # (study, dataset, variant, label)
    only_current: list[tuple[str, str, str, str]]
    build_changes: list[str]  # differences of the whole build (code commit)

    @property
    def changed(self) -> list[VariantComparison]:
        return [v for v in self.variants if v.changes]


def flatten(spec: dict, prefix: str = "") -> dict:
    """A nested spec as dotted keys (``training.lr``); lists stay whole values."""
    flat = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _text(value) -> str:
    return "(none)" if value is None else str(value)


def spec_changes(before: dict, after: dict) -> list[str]:
    """What differs between two runs' specs, in words: ``training.lr 0.1 → 0.05`` per
    setting, and "model code changed" where a user model's file digest differs (its
    digest is meaningless to read); the data's settings are said to be a data change."""
    old, new = (flatten({k: v for k, v in s.items() if k not in IDENTITY_KEYS})
                for s in (before, after))
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, "absent") == new.get(key, "absent"):
            continue
        if key.startswith("model_source."):
            if "model code changed" not in changes:
                changes.append("model code changed")
            continue
        text = f"{key} {_text(old.get(key, '(absent)'))} → {_text(new.get(key, '(absent)'))}"
        changes.append(f"data changed: {text}" if key.startswith("data.") else text)
    return changes


def _usable(summary: pd.DataFrame) -> pd.DataFrame:
    """The runs that count towards a mean: diverged runs are left out, as in the report."""
    if "diverged" not in summary:
        return summary
    return summary[~summary["diverged"].astype(str).str.lower().isin({"true", "1"})]


def _spec(build: Build, runs: pd.DataFrame) -> dict:
    """A variant's settings, from its first run (its seeds differ only in the seed)."""
    return build.metrics(runs.iloc[0]).get("spec", {})


def version_change(before: pd.DataFrame, after: pd.DataFrame, key: str, name: str) -> list[str]:
    """``name old → new`` where the runs record ``key`` (a summary.csv column such as
    ``torch_version``) and the two sets of runs differ in it; nothing otherwise."""
    if key not in before or key not in after:
        return []  # a build from before the runs recorded it
    old, new = (sorted(set(runs[key].dropna().astype(str))) for runs in (before, after))
    return [f"{name} {', '.join(old)} → {', '.join(new)}"] if old and new and old != new else []


def build_changes(baseline: Build, current: Build) -> list[str]:
    """Differences of the whole build the runs record: the code commits the current build's
    runs were trained at that no baseline run was (a build keeps the runs a change did not
    touch, with the commit they were trained at, so only the new commits say anything)."""
    if "git_commit" not in baseline.summary or "git_commit" not in current.summary:
        return []
    old, new = (set(b.summary["git_commit"].dropna().astype(str)) for b in (baseline, current))
    added = sorted(c[:10] for c in new - old)
    if not added:
        return []
    more = f" and {len(added) - 3} more" if len(added) > 3 else ""
    return [f"runs trained at code commit {', '.join(added[:3])}{more}, "
            f"which no baseline run was"]


def compare_builds(baseline: Build, current: Build) -> BuildComparison:
    """Every variant present in both builds, in the current build's order, and the
    variants present in only one."""
    groups = {}
    for side, build in (("baseline", baseline), ("current", current)):
        for key, runs in build.summary.groupby(VARIANT_KEYS, sort=False):
            groups.setdefault(key, {})[side] = runs
    variants, only_baseline, only_current = [], [], []
    for key, sides in groups.items():
        if len(sides) == 1:
            (side, runs), = sides.items()
            target = only_baseline if side == "baseline" else only_current
            target.append((*key, str(runs["label"].iloc[0])))
            continue
        old, new = sides["baseline"], sides["current"]
        changes = spec_changes(_spec(baseline, old), _spec(current, new)) + version_change(
            old, new, "torch_version", "torch")
        before = _usable(old)["test_acc"].astype(float).tolist()
        after = _usable(new)["test_acc"].astype(float).tolist()
        with warnings.catch_warnings():
            # scipy warns of precision loss for nearly identical samples, which is what an
            # unchanged variant has; its answer (difference 0, p = 1) is exact there.
            warnings.simplefilter("ignore", RuntimeWarning)
            test = welch(after, before)
        variants.append(VariantComparison(*key, label=str(new["label"].iloc[0]),
                                          baseline=before, current=after, test=test,
                                          changes=changes))
    order = {k: i for i, k in enumerate(
        current.summary[VARIANT_KEYS].drop_duplicates().itertuples(index=False, name=None))}
    variants.sort(key=lambda v: order[v.key])
    return BuildComparison(variants, only_baseline, only_current,
                           build_changes(baseline, current))

