"""What "beyond chance" means on a test set, from the runs' own per-class counts.

A network that ignores its input answers one class for every image; the best it can score
is the largest class's share of the test images (the majority share). On balanced classes
that is 1 / classes; on imbalanced ones it is more, and a network that always answers the
majority class would pass a test against 1 / classes. So chance is the majority share of
the test split the runs were measured on, read from each run's ``per_class.csv`` (support:
the test images of each class). Where the classes are imbalanced, balanced accuracy (the
mean of the per-class recalls) says what accuracy alone hides.
"""

from __future__ import annotations

import math

import pandas as pd

# The classes of a test split are called imbalanced when its largest class has at least
# this many times the images of its smallest (a fixed random subset of a balanced split
# stays below it).
IMBALANCE = 1.5
KEYS = ["study", "dataset", "variant"]


def test_split_facts(per_class: pd.DataFrame) -> dict:
    """Of one run's ``per_class.csv``: the majority share of its test split (NaN where it
    counted no image: a diverged run), whether its classes are imbalanced, and its
    balanced accuracy (the mean recall over the classes the split holds)."""
    support = per_class["support"].astype(float)
    total = support.sum()
    held = per_class[support > 0]
    if total == 0 or held.empty:
        return {"chance": math.nan, "imbalanced": False, "balanced_acc": math.nan}
    recall = held["correct"].astype(float) / held["support"].astype(float)
    # A class of the dataset missing from the test split is the extreme imbalance.
    smallest = support.min()
    return {"chance": float(support.max() / total),
            "imbalanced": bool(smallest == 0 or support.max() >= IMBALANCE * smallest),
            "balanced_acc": float(recall.mean())}


def variant_chance(per_class: pd.DataFrame) -> pd.DataFrame:
    """Per variant (``report.tables.read_per_class``'s table: one row per class and run):
    ``chance`` (the majority share of its dataset's test split, shared by every variant of
    the study's dataset), ``imbalanced``, and the balanced accuracy of its runs
    (``balanced_acc_mean``, ``balanced_acc_values``; diverged runs left out)."""
    columns = [*KEYS, "chance", "imbalanced", "balanced_acc_mean", "balanced_acc_values"]
    if per_class.empty or not {"run", "support", "correct"} <= set(per_class):
        return pd.DataFrame(columns=columns)
    runs = pd.DataFrame([
        {"study": study, "dataset": dataset, "variant": variant, **test_split_facts(group)}
        for (study, dataset, variant, _), group in per_class.groupby([*KEYS, "run"],
                                                                     sort=False)])
    # Every run of a study's dataset is measured on the same test images: one chance (the
    # highest, should they differ: a verdict of "beyond chance" must clear every one).
    split = runs.dropna(subset=["chance"]).groupby(["study", "dataset"], sort=False).agg(
        chance=("chance", "max"), imbalanced=("imbalanced", "any")).reset_index()
    ok = runs.dropna(subset=["balanced_acc"])
    balanced = ok.groupby(KEYS, sort=False)["balanced_acc"].agg(
        balanced_acc_mean="mean", balanced_acc_values=list).reset_index()
    out = runs[KEYS].drop_duplicates().merge(split, on=["study", "dataset"], how="left") \
        .merge(balanced, on=KEYS, how="left")
    out["balanced_acc_values"] = out["balanced_acc_values"].map(
        lambda v: v if isinstance(v, list) else [])
    return out[columns]


def with_chance(stats: pd.DataFrame, per_class: pd.DataFrame) -> pd.DataFrame:
    """``summary.over_seeds``'s table with ``variant_chance``'s columns; where no run's
    per-class counts were read, chance stays NaN and ``answer.chance`` falls back to
    1 / classes."""
    facts = variant_chance(per_class)
    out = stats.drop(columns=[c for c in facts.columns if c not in KEYS and c in stats])
    out = out.merge(facts, on=KEYS, how="left")
    out["imbalanced"] = out["imbalanced"].fillna(False).astype(bool)
    out["balanced_acc_values"] = out["balanced_acc_values"].map(
        lambda v: v if isinstance(v, list) else [])
    return out
