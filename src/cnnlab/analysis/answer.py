"""What every answered question is (``Answer``) and the helpers the question modules share
(``questions`` and ``depth_questions``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from cnnlab.data.catalog import DATASETS
from cnnlab.models.arguments import with_defaults


@dataclass(frozen=True)
class Answer:
    """A question a study exists for, the sentences that answer it from the numbers (or
    say why they cannot), and a one-line headline for the report's overall summary."""
    question: str
    sentences: list[str]
    headline: str


def with_settings(table: pd.DataFrame) -> pd.DataFrame:
    """The per-variant table with parsed ``args`` (column ``a``: every argument the model
    was built with, the builder's defaults included) and ``training`` (``t``)."""
    return table.assign(a=[with_defaults(model, json.loads(args))
                           for model, args in zip(table["model"], table["args"])],
                        t=table["training"].map(json.loads))


def chance(dataset: str, table: pd.DataFrame | None = None) -> float:
    """What a network that ignores its input scores on the test images: the largest
    class's share of them, as the runs' per-class counts give it (``analysis.chance``,
    column ``chance``); where no counts were read, 1 / number of classes, as the runs of
    ``table`` recorded it (any dataset), else from the catalog."""
    if table is not None and "chance" in table and table["chance"].notna().any():
        return float(table["chance"].dropna().max())
    if table is not None and "num_classes_mean" in table and table["num_classes_mean"].notna().any():
        return 1 / float(table["num_classes_mean"].dropna().iloc[0])
    return 1 / len(DATASETS[dataset].classes)


def ratio_text(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1e}"
