"""The report's descriptive tables, computed from the runs' specs and files: each variant's
architecture (its layers as the run built them, so budget-solved widths show) and where
its recipe differs from the dataset's, the common training recipe, and per-class test
accuracy. Nothing here imports PyTorch: the report job starts in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cnnlab.analysis.run_tables import read_per_class_csv

# momentum as the run stepped with it (summary.momentum_used: a cycle shows as its range).
RECIPE_KEYS = ("optimizer", "lr", "momentum", "weight_decay", "batch_size", "schedule",
               "augment", "label_smoothing", "grad_clip", "epochs")


def recipe_text(training: dict) -> str:
    """The recipe as a reader writes it (``grad clip none``, not Python's ``None``)."""
    return ", ".join(f"{k.replace('_', ' ')} {'none' if training[k] is None else training[k]}"
                     for k in RECIPE_KEYS if k in training)


def architecture_rows(table: pd.DataFrame) -> list[dict]:
    """Per variant (``over_seeds`` rows of one study's dataset): model, arguments, layers
    (``architecture.describe``, recorded by the run), and the recipe settings that differ
    from the first variant's (the dataset's common recipe)."""
    common = json.loads(table.iloc[0]["training"]) if len(table) else {}
    rows = []
    for _, r in table.iterrows():
        args, training = json.loads(r["args"]), json.loads(r["training"])
        differs = {k: v for k, v in training.items()
                   if k in RECIPE_KEYS and common.get(k) != v}
        rows.append({"label": r["label"], "model": r["model"],
                     "args": ", ".join(f"{k}={v}" for k, v in args.items()) or "defaults",
                     "layers": r["layers"],
                     "recipe": recipe_text(differs) or "common"})
    return rows


def read_per_class(paths: list) -> pd.DataFrame:
    """``per_class.csv`` files of runs (``.../runs/<study>/<dataset>/<variant>/seed<n>/``)
    as one table with study, dataset and variant columns."""
    frames = []
    for p in map(Path, paths):
        study, dataset, variant = p.parts[-5:-2]
        # Class names as text (a folder class "007" or "NA" stays itself); the seed's folder
        # names the run, so that each run's test split can be told apart (analysis.chance).
        frames.append(read_per_class_csv(p).assign(study=study, dataset=dataset,
                                                   variant=variant, run=str(p.parent)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["study", "dataset", "variant", "run", "class", "support", "correct",
                 "accuracy"])


# More classes than this and the table shows only the hardest ones (CIFAR-100's 100
# columns would be unreadable): the lowest mean accuracy over the variants.
MOST_CLASSES_SHOWN = 20


def per_class_rows(per_class: pd.DataFrame, table: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """Mean per-class test accuracy (percent) over seeds, one row per variant of ``table``
    (a study's dataset), in its order; classes as columns (beyond ``MOST_CLASSES_SHOWN``,
    only that many of the hardest), with each variant's hardest class named."""
    if per_class.empty or table.empty:
        return [], []
    first = table.iloc[0]
    here = per_class[(per_class["study"] == first["study"])
                     & (per_class["dataset"] == first["dataset"])]
    means = here.groupby(["variant", "class"], sort=False)["accuracy"].mean().unstack()
    every = list(dict.fromkeys(here["class"].astype(str)))
    means.columns = means.columns.astype(str)
    classes = every
    if len(every) > MOST_CLASSES_SHOWN:
        hardest = means[every].mean().nsmallest(MOST_CLASSES_SHOWN).index
        classes = [c for c in every if c in set(hardest)]
    rows = []
    for _, r in table.iterrows():
        if r["variant"] not in means.index:
            continue
        acc = means.loc[r["variant"], classes]
        whole = means.loc[r["variant"], every]
        rows.append({"label": r["label"],
                     "accs": ["n/a" if pd.isna(a) else f"{100 * a:.1f}" for a in acc],
                     "hardest": str(whole.idxmin()) if whole.notna().any() else "n/a"})
    return classes, rows
